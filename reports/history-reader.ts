import type { Driver } from 'neo4j-driver';
import neo4j from 'neo4j-driver';
import {
  NODE_KEY_PROPERTY,
  parseEdgeId,
  READ_HISTORY_SETTINGS,
  WINDOW_EDGE_ROWS,
  WINDOW_EDGES,
  WINDOW_LISTENERS,
  type HistorySettings,
} from '../graph-schema/history';
import { figuresOf, SUMMED_FIGURES, zeroFigures } from './edge-figures';
import type { NodeDescription, NodeRef, TimeWindow, WindowEdge, WindowSnapshot } from './report-model';

/** A Neo4j Integer, number or null → number (null → 0). */
export function num(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return (value as { toNumber(): number }).toNumber();
}

/** A node of any label, by its key: one guarded branch per label (each an index seek). */
function nodeByRef(ref: string, alias: string): string {
  return `CALL {
  WITH ${ref}
${Object.entries(NODE_KEY_PROPERTY)
  .map(
    ([label, key]) =>
      `  WITH ${ref} WHERE ${ref}.label = '${label}' MATCH (n:${label} {${key}: ${ref}.key}) RETURN n AS ${alias}`,
  )
  .join('\n  UNION ALL\n  WITH ' + ref + '\n')}
}`;
}

/** Names, hosts, namespaces and workloads of nodes, for the changes a report lists. */
const DESCRIBE_NODES = `
UNWIND $refs AS ref
${nodeByRef('ref', 'n')}
OPTIONAL MATCH (n)-[:RUNS_ON]->(h:Host)
OPTIONAL MATCH (n)-[:IN_CONTAINER|IN_POD*0..2]->(p:Pod)
OPTIONAL MATCH (p)-[:OWNED_BY]->(w:Workload)
WITH ref, n, head(collect(DISTINCT h)) AS h, head(collect(DISTINCT p)) AS p, head(collect(DISTINCT w)) AS w
RETURN ref.label AS label, ref.key AS key, n.comm AS comm, n.pid AS pid, n.hostname AS hostname,
       n.name AS name, n.namespace AS namespace, coalesce(n.hostId, h.hostId) AS hostId,
       h.hostname AS hostHostname, p.namespace AS podNamespace, p.name AS podName,
       coalesce(w.key, CASE WHEN n:Workload THEN n.key END) AS workload`;

/** Hosts of nodes that carry no host id of their own (containers, pods): for scoping by host. */
const HOSTS_OF = `
UNWIND $refs AS ref
${nodeByRef('ref', 'n')}
MATCH (n)-[:RUNS_ON]->(h:Host)
RETURN ref.label AS label, ref.key AS key, collect(h.hostId) AS hosts`;

const LABEL_OF_LEVEL: Record<string, string> = {
  process: 'Process',
  container: 'Container',
  pod: 'Pod',
  host: 'Host',
  workload: 'Workload',
  service: 'Service',
};

/** Reads the topology history (graph-schema/README.md, "History") for the reports. */
export class HistoryReader {
  constructor(
    private readonly driver: Driver,
    private readonly database = 'neo4j',
  ) {}

  /** The settings the ingest recorded, or undefined when no history was ever recorded. */
  async settings(): Promise<HistorySettings | undefined> {
    const { records } = await this.driver.executeQuery(
      READ_HISTORY_SETTINGS,
      {},
      { database: this.database },
    );
    const r = records[0];
    if (!r) return undefined;
    return {
      bucketMs: num(r.get('bucketMs')),
      retentionMs: num(r.get('retentionMs')),
      since: num(r.get('since')),
    };
  }

  /**
   * The edges and listening ports present in a window at a level. `sumIn` says where the buckets
   * are summed: in this process (the default, faster) or in Cypher (the documented query; the
   * bench compares both).
   */
  async window(
    level: string,
    window: TimeWindow,
    sumIn: 'client' | 'cypher' = 'client',
  ): Promise<WindowSnapshot> {
    const params = { level, from: neo4j.int(window.from), to: neo4j.int(window.to) };
    const [edges, listeners] = await Promise.all([
      this.driver.executeQuery(sumIn === 'client' ? WINDOW_EDGE_ROWS : WINDOW_EDGES, params, {
        database: this.database,
        routing: 'READ',
      }),
      this.driver.executeQuery(WINDOW_LISTENERS, params, { database: this.database, routing: 'READ' }),
    ]);
    const out: WindowSnapshot = { level, window, edges: new Map(), listeners: new Map() };
    if (sumIn === 'client') this.sumRows(edges.records, out);
    else
      for (const r of edges.records) {
        const e: WindowEdge = {
          id: r.get('edge') as string,
          from: { label: r.get('fromLabel') as string, key: r.get('fromKey') as string },
          to: { label: r.get('toLabel') as string, key: r.get('toKey') as string },
          port: num(r.get('port')),
          protocol: r.get('protocol') as string,
          ...zeroFigures(),
          open: Math.max(0, num(r.get('open'))),
        };
        for (const k of SUMMED_FIGURES) e[k] = num(r.get(k));
        out.edges.set(e.id, e);
      }
    for (const r of listeners.records) {
      const hostId = r.get('hostId') as string;
      const netns = num(r.get('netns'));
      const port = num(r.get('port'));
      const id = `${hostId}/${netns}/${port}`;
      const since = num(r.get('since'));
      const cur = out.listeners.get(id);
      const addr = r.get('addr') as string;
      if (cur) {
        if (!cur.addrs.includes(addr)) cur.addrs.push(addr);
        if (since < cur.since) cur.since = since;
        continue;
      }
      out.listeners.set(id, {
        id,
        hostId,
        netns,
        port,
        addrs: [addr],
        processKey: (r.get('processKey') as string | null) ?? null,
        since,
      });
    }
    return out;
  }

  /** Sums bucket rows per edge, keeping the edges present (as WINDOW_EDGES does in Cypher). */
  private sumRows(records: { get(key: string): unknown }[], out: WindowSnapshot): void {
    const acc = new Map<string, WindowEdge & { lastStart: number; maxOpen: number }>();
    for (const r of records) {
      const id = r.get('edge') as string;
      const start = num(r.get('start'));
      const open = num(r.get('open'));
      const maxOpen = Math.max(open, num(r.get('openStart')));
      let e = acc.get(id);
      if (!e) {
        const p = parseEdgeId(id);
        e = {
          id,
          from: { label: p.fromLabel, key: p.fromKey },
          to: { label: p.toLabel, key: p.toKey },
          port: p.port,
          protocol: p.protocol,
          ...zeroFigures(),
          open,
          lastStart: start,
          maxOpen,
        };
        acc.set(id, e);
      }
      for (const k of SUMMED_FIGURES) e[k] += num(r.get(k));
      if (start > e.lastStart) {
        e.lastStart = start;
        e.open = open;
      }
      if (maxOpen > e.maxOpen) e.maxOpen = maxOpen;
    }
    for (const e of acc.values()) {
      if (e.connections + e.failedConnects <= 0 && e.bytesToServer + e.bytesToClient <= 0 && e.maxOpen <= 0)
        continue;
      const { id, from, to, port, protocol } = e;
      out.edges.set(id, { id, from, to, port, protocol, ...figuresOf(e), open: Math.max(0, e.open) });
    }
  }

  /** Describes nodes (names, host, namespace, workload); a node no longer in the graph keeps its key as name. */
  async describe(refs: NodeRef[]): Promise<Map<string, NodeDescription>> {
    const unique = [...new Map(refs.map((r) => [`${r.label}:${r.key}`, r])).values()];
    const out = new Map<string, NodeDescription>();
    for (const r of unique)
      out.set(`${r.label}:${r.key}`, {
        ...r,
        name: fallbackName(r),
        hostId: null,
        namespace: null,
        workload: null,
      });
    if (unique.length === 0) return out;
    const { records } = await this.driver.executeQuery(
      DESCRIBE_NODES,
      { refs: unique },
      { database: this.database, routing: 'READ' },
    );
    for (const r of records) {
      const label = r.get('label') as string;
      const key = r.get('key') as string;
      const hostId = (r.get('hostId') as string | null) ?? (label === 'Host' ? key : null);
      const host = (r.get('hostname') as string | null) ?? (r.get('hostHostname') as string | null);
      const namespace =
        (r.get('namespace') as string | null) ?? (r.get('podNamespace') as string | null) ?? null;
      let name = fallbackName({ label, key });
      if (label === 'Process') {
        const comm = (r.get('comm') as string | null) ?? '?';
        const pid = num(r.get('pid'));
        name = `${pid === 0 ? '(unattributed)' : `${comm}[${pid}]`}@${host ?? (hostId ?? '').slice(0, 8)}`;
      } else if (label === 'Host') name = host ?? key.slice(0, 12);
      else if (label === 'Pod') {
        const podName = r.get('name') as string | null;
        name = podName ? `${namespace}/${podName}` : key;
      } else if (label === 'ExternalEndpoint') {
        const dns = r.get('name') as string | null;
        name = dns ? `${dns} (${key})` : key;
      }
      out.set(`${label}:${key}`, {
        label,
        key,
        name,
        hostId,
        namespace,
        workload: (r.get('workload') as string | null) ?? null,
      });
    }
    return out;
  }

  /**
   * The hosts each node belongs to, for scoping a report to some hosts: a process's and a host's
   * own, a container's and a pod's through `RUNS_ON`; an external endpoint belongs to none.
   */
  async hostsOf(refs: NodeRef[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const lookup: NodeRef[] = [];
    for (const r of refs) {
      const id = `${r.label}:${r.key}`;
      if (out.has(id)) continue;
      if (r.label === 'Host') out.set(id, [r.key]);
      else if (r.label === 'Process') out.set(id, [r.key.slice(0, r.key.indexOf('/'))]);
      else if (r.label === 'ExternalEndpoint') out.set(id, []);
      else {
        out.set(id, []);
        lookup.push(r);
      }
    }
    if (lookup.length > 0) {
      const { records } = await this.driver.executeQuery(
        HOSTS_OF,
        { refs: lookup },
        { database: this.database, routing: 'READ' },
      );
      for (const r of records) out.set(`${r.get('label')}:${r.get('key')}`, r.get('hosts') as string[]);
    }
    return out;
  }

  /** The label of the nodes of a level (`Process` for `process`), for levels without edges yet. */
  static labelOf(level: string): string {
    return LABEL_OF_LEVEL[level] ?? level.charAt(0).toUpperCase() + level.slice(1);
  }
}

function fallbackName(r: NodeRef): string {
  if (r.label === 'Container') return r.key.slice(0, 12);
  if (r.label === 'Host') return r.key.slice(0, 12);
  return r.key;
}

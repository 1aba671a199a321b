import type { ManagedTransaction, QueryResult, Session } from 'neo4j-driver';
import type {
  AddressOwner,
  ConnectionState,
  EdgeDelta,
  ListenerHit,
  ResolutionFacts,
} from '../correlation/connection-model';
import type {
  HeartbeatRow,
  HostRow,
  ListenerRow,
  PlacementRow,
  PodMetadataRow,
  ProcessRow,
} from './graph-rows';
import {
  decodeContribution,
  decodeSlot,
  encodeContribution,
  encodeSlot,
} from '../correlation/connection-state-codec';
import { IngestError } from '../errors';
import { int64Params, toNumber } from './neo4j-params';

/** Progress of one topic-partition for one consumer group, as stored in the graph. */
export interface StoredProgress {
  /** The next offset to consume. */
  offset: number;
  records: number;
  deadLetters: number;
}

/** A Connection node's stored properties, as read. */
interface StoredConnection {
  a: string | null;
  b: string | null;
  applied: string | null;
  /** `hosts` joined with spaces. */
  hosts: string;
  state: string | null;
}

/*
 * Every statement takes its rows inside a map parameter (`$batch.rows`), not as a list parameter
 * (`$rows`): Neo4j caches a plan per parameter type and, for a list, per size bucket (1, 2–10,
 * 11–100, 101–1,000, …), so a list parameter is planned again at the first batch of each new size
 * — measured 40–50 ms per statement, ~200 ms for the edge statement. A map hides the size: one
 * plan serves every batch (each row is an index seek, whatever their number).
 */

/** Runs a statement with its parameters as `$batch` (see above). */
function run(
  tx: Pick<ManagedTransaction, 'run'>,
  query: string,
  params: Record<string, unknown>,
): Promise<QueryResult> {
  return tx.run(query, { batch: params }) as unknown as Promise<QueryResult>;
}

const NODE_KEYS: Record<string, string> = {
  Process: 'key',
  Container: 'containerId',
  Pod: 'uid',
  Host: 'hostId',
  ExternalEndpoint: 'ip',
};

const PROCESSES = `
UNWIND $batch.rows AS p
MERGE (h:Host {hostId: p.hostId})
  ON CREATE SET h.firstSeen = datetime()
MERGE (n:Process {key: p.key})
  ON CREATE SET n.hostId = p.hostId, n.pid = p.pid, n.startTime = p.startTime,
                n.unattributed = (p.pid = 0), n.firstSeen = datetime()
SET n.comm = coalesce(p.comm, n.comm), n.exe = coalesce(p.exe, n.exe), n.cmdline = coalesce(p.cmdline, n.cmdline),
    n.uid = coalesce(p.uid, n.uid), n.ppid = coalesce(p.ppid, n.ppid),
    n.containerId = coalesce(p.containerId, n.containerId), n.podUid = coalesce(p.podUid, n.podUid),
    n.exited = p.exited OR coalesce(n.exited, false)
MERGE (n)-[:RUNS_ON]->(h)
WITH n, h, p
CALL {
  WITH n, h, p
  WITH n, h, p WHERE p.containerId IS NOT NULL
  MERGE (c:Container {containerId: p.containerId}) ON CREATE SET c.firstSeen = datetime()
  SET c.runtime = coalesce(p.containerRuntime, c.runtime)
  MERGE (n)-[:IN_CONTAINER]->(c)
  MERGE (c)-[:RUNS_ON]->(h)
}
CALL {
  WITH n, h, p
  WITH n, h, p WHERE p.podUid IS NOT NULL
  MERGE (pd:Pod {uid: p.podUid}) ON CREATE SET pd.firstSeen = datetime()
  MERGE (pd)-[:RUNS_ON]->(h)
  WITH n, p, pd
  OPTIONAL MATCH (c:Container {containerId: p.containerId})
  FOREACH (x IN CASE WHEN c IS NULL THEN [n] ELSE [c] END | MERGE (x)-[:IN_POD]->(pd))
}`;

const PLACEMENTS = `
UNWIND $batch.rows AS p
MERGE (h:Host {hostId: p.hostId}) ON CREATE SET h.firstSeen = datetime()
WITH h, p
CALL {
  WITH h, p
  WITH h, p WHERE p.containerId IS NOT NULL
  MERGE (c:Container {containerId: p.containerId}) ON CREATE SET c.firstSeen = datetime()
  SET c.runtime = coalesce(p.containerRuntime, c.runtime)
  MERGE (c)-[:RUNS_ON]->(h)
}
CALL {
  WITH h, p
  WITH h, p WHERE p.podUid IS NOT NULL
  MERGE (pd:Pod {uid: p.podUid}) ON CREATE SET pd.firstSeen = datetime()
  MERGE (pd)-[:RUNS_ON]->(h)
  WITH p, pd
  OPTIONAL MATCH (c:Container {containerId: p.containerId})
  FOREACH (x IN CASE WHEN c IS NULL THEN [] ELSE [c] END | MERGE (x)-[:IN_POD]->(pd))
}`;

const EXTERNALS = `
UNWIND $batch.ips AS ip
MERGE (x:ExternalEndpoint {ip: ip}) ON CREATE SET x.firstSeen = datetime()`;

/**
 * A subquery binding `alias` to the node a row names by `<side>Label` / `<side>Key`: one branch
 * per label, each guarded by the label so that only its own unique-index seek runs. One statement
 * serves every (from, to) label pair, so a batch is one plan and one round trip, not up to six.
 */
function nodeOf(side: 'from' | 'to', alias: string): string {
  return `CALL {
  WITH e
${Object.entries(NODE_KEYS)
  .map(
    ([label, key]) =>
      `  WITH e WHERE e.${side}Label = '${label}' MATCH (n:${label} {${key}: e.${side}Key}) RETURN n AS ${alias}`,
  )
  .join('\n  UNION ALL\n  WITH e\n')}
}`;
}

/** Adds a batch's deltas to its CONNECTS_TO edges, whatever the labels of their ends. */
const EDGES = `
UNWIND $batch.rows AS e
${nodeOf('from', 'a')}
${nodeOf('to', 'b')}
MERGE (a)-[r:CONNECTS_TO {port: e.port, protocol: e.protocol, level: e.level}]->(b)
  ON CREATE SET r.connections = 0, r.failedConnects = 0, r.bytesToServer = 0, r.bytesToClient = 0,
                r.retransmits = 0, r.connectLatencyUsSum = 0, r.connectLatencyCount = 0
SET r.srttUs = CASE WHEN e.srttUs IS NULL THEN r.srttUs
                    WHEN r.lastSeen IS NULL OR datetime({epochMillis: e.lastSeen}) >= r.lastSeen THEN e.srttUs
                    ELSE r.srttUs END,
    r.srttUsMax = CASE WHEN e.srttUs IS NULL OR (r.srttUsMax IS NOT NULL AND r.srttUsMax >= e.srttUs) THEN r.srttUsMax
                       ELSE e.srttUs END,
    r.firstSeen = CASE WHEN e.firstSeen IS NULL THEN r.firstSeen
                       WHEN r.firstSeen IS NULL OR datetime({epochMillis: e.firstSeen}) < r.firstSeen
                       THEN datetime({epochMillis: e.firstSeen}) ELSE r.firstSeen END,
    r.lastSeen = CASE WHEN e.lastSeen IS NULL THEN r.lastSeen
                      WHEN r.lastSeen IS NULL OR datetime({epochMillis: e.lastSeen}) > r.lastSeen
                      THEN datetime({epochMillis: e.lastSeen}) ELSE r.lastSeen END,
    r.connections = r.connections + e.connections,
    r.failedConnects = r.failedConnects + e.failedConnects,
    r.bytesToServer = r.bytesToServer + e.bytesToServer,
    r.bytesToClient = r.bytesToClient + e.bytesToClient,
    r.retransmits = r.retransmits + e.retransmits,
    r.connectLatencyUsSum = r.connectLatencyUsSum + e.connectLatencyUsSum,
    r.connectLatencyCount = r.connectLatencyCount + e.connectLatencyCount
SET r.connectLatencyUsAvg = CASE WHEN r.connectLatencyCount > 0
                                 THEN toFloat(r.connectLatencyUsSum) / r.connectLatencyCount ELSE null END
WITH r WHERE r.connections + r.failedConnects <= 0
DELETE r`;

const LOCK_PROGRESS = `
UNWIND $batch.keys AS k
MERGE (p:IngestProgress {key: k.key})
  ON CREATE SET p.group = k.group, p.topic = k.topic, p.partition = k.partition,
                p.offset = 0, p.records = 0, p.deadLetters = 0
SET p.lockedAt = timestamp()
RETURN k.key AS key, p.offset AS offset, p.records AS records, p.deadLetters AS deadLetters`;

const SAVE_PROGRESS = `
UNWIND $batch.saves AS s
MATCH (p:IngestProgress {key: s.key})
SET p.offset = s.next, p.records = p.records + s.records, p.deadLetters = p.deadLetters + s.deadLetters,
    p.updatedAt = datetime()`;

// Setting a property to its own value takes the node's write lock (what makes a concurrent
// transaction wait instead of losing an update) without writing anything; a new node is locked
// by its creation.
const LOCK_CONNECTIONS = `
UNWIND $batch.keys AS k
MERGE (c:Connection {key: k})
SET c.hosts = c.hosts
RETURN k AS key, c.a AS a, c.b AS b, c.applied AS applied, c.hosts AS hosts, c.state AS state`;

const ADDRESS_OWNERS = `
UNWIND $batch.addrs AS a
MATCH (x:NetnsAddress {addr: a})
RETURN a AS addr, x.hostId AS hostId, x.netns AS netns`;

const LISTENERS = `
UNWIND $batch.keys AS k
MATCH (x:Listener {hostId: k.hostId, netns: k.netns, port: k.port})
WHERE x.state = 'listening'
OPTIONAL MATCH (p:Process {key: x.processKey})
OPTIONAL MATCH (p)-[:IN_CONTAINER]->(c:Container)
RETURN k.hostId AS hostId, k.netns AS netns, k.port AS port, x.addr AS addr,
       x.pid AS pid, x.startTime AS startTime, p.comm AS comm, p.containerId AS containerId,
       c.runtime AS runtime, p.podUid AS podUid
ORDER BY x.key`;

const SAVE_CONNECTIONS = `
UNWIND $batch.rows AS c
MATCH (n:Connection {key: c.key})
SET n += c.set, n.updatedAt = datetime()`;

const HOSTS = `
UNWIND $batch.rows AS h
MERGE (n:Host {hostId: h.hostId}) ON CREATE SET n.firstSeen = datetime()
WITH n, h WHERE coalesce(n.stateObservedAt, -1) <= h.observedAt
SET n.hostname = h.hostname, n.kernel = h.kernel, n.collectorVersion = h.collectorVersion,
    n.stateObservedAt = h.observedAt, n.lastSeen = datetime({epochMillis: h.observedAt})
WITH n, h
CALL {
  WITH h
  MATCH (old:NetnsAddress {hostId: h.hostId})
  WHERE NOT old.key IN [a IN h.addresses | a.key]
  DETACH DELETE old
}
CALL {
  WITH n, h
  UNWIND h.addresses AS a
  MERGE (x:NetnsAddress {key: a.key})
  SET x.hostId = h.hostId, x.netns = a.netns, x.addr = a.addr, x.prefixLength = a.prefixLength,
      x.ifname = a.ifname
  MERGE (x)-[:ON_HOST]->(n)
}`;

const LISTENER_UPSERT = `
UNWIND $batch.rows AS l
MERGE (x:Listener {key: l.key})
WITH x, l WHERE coalesce(x.observedAt, -1) <= l.observedAt
SET x.hostId = l.hostId, x.netns = l.netns, x.family = l.family, x.addr = l.addr, x.port = l.port,
    x.pid = l.pid, x.startTime = l.startTime, x.processKey = l.processKey, x.state = l.state,
    x.observedAt = l.observedAt
WITH x, l WHERE l.processKey IS NOT NULL
MATCH (p:Process {key: l.processKey})
MERGE (p)-[:LISTENS]->(x)`;

const HEARTBEATS = `
UNWIND $batch.rows AS b
MERGE (n:Host {hostId: b.hostId}) ON CREATE SET n.firstSeen = datetime()
WITH n, b WHERE n.lastHeartbeat IS NULL OR n.lastHeartbeat <= datetime({epochMillis: b.observedAt})
SET n.lastHeartbeat = datetime({epochMillis: b.observedAt}), n.collectorVersion = b.collectorVersion,
    n.capabilities = b.capabilities, n.missingCapabilities = b.missingCapabilities,
    n.dropsRingBufferFull = b.ringBufferFull, n.dropsMapFull = b.mapFull,
    n.dropsKafkaBufferFull = b.kafkaBufferFull`;

const POD_METADATA = `
UNWIND $batch.rows AS m
MERGE (p:Pod {uid: m.uid}) ON CREATE SET p.firstSeen = datetime()
SET p.namespace = m.namespace, p.name = m.name
WITH p, m WHERE m.workloadKind IS NOT NULL AND m.workloadName IS NOT NULL
MERGE (w:Workload {key: m.namespace + '/' + m.workloadKind + '/' + m.workloadName})
  ON CREATE SET w.namespace = m.namespace, w.kind = m.workloadKind, w.name = m.workloadName,
                w.firstSeen = datetime()
MERGE (p)-[:OWNED_BY]->(w)`;

/*
 * Every statement of the ingest with parameters to plan it by (see `GraphWriter.warmUp`): one
 * placeholder row each, shaped like the real ones. The rows name a key no collector sends (`~`)
 * and the transaction is rolled back.
 */
const W = '~';
const STATEMENTS: [string, Record<string, unknown>][] = [
  [LOCK_PROGRESS, { keys: [{ key: W, group: W, topic: W, partition: 0 }] }],
  [LOCK_CONNECTIONS, { keys: [W] }],
  [ADDRESS_OWNERS, { addrs: [W] }],
  [LISTENERS, { keys: [{ hostId: W, netns: 0, port: 0 }] }],
  [HOSTS, { rows: [{ hostId: W, observedAt: -2, addresses: [] }] }],
  [PROCESSES, { rows: [{ key: W, hostId: W, pid: 0, startTime: 0, exited: false }] }],
  [LISTENER_UPSERT, { rows: [{ key: W, observedAt: -2 }] }],
  [HEARTBEATS, { rows: [{ hostId: W, observedAt: 0 }] }],
  [EXTERNALS, { ips: [W] }],
  [PLACEMENTS, { rows: [{ hostId: W }] }],
  [EDGES, { rows: [{ fromLabel: W, toLabel: W }] }],
  [SAVE_CONNECTIONS, { rows: [{ key: W, set: {} }] }],
  [SAVE_PROGRESS, { saves: [{ key: W, next: 0, records: 0, deadLetters: 0 }] }],
];

/**
 * Every Cypher statement of the ingest, each a parameterised `UNWIND $batch.rows …` run inside the
 * caller's transaction (`session.executeWrite`), so that one batch's upserts and its progress
 * commit together or not at all. Each write method sends its statement before its first `await`
 * (or, during the warm-up, queues it behind the statements sent before it), so a caller may send
 * several and wait for them together (they run in the order called).
 */
export class GraphWriter {
  /** What each state read by lockConnections was stored as (to write back only what changed). */
  private readonly stored = new WeakMap<ConnectionState, StoredConnection>();
  /** Statements {@link GraphWriter.warmUp} has not planned yet, each with when it will have. */
  private readonly planning = new Map<string, Promise<void>>();
  /** The last send held back for planning (the sends after it wait for it, to keep their order). */
  private held: Promise<void> = Promise.resolve();
  private heldCount = 0;

  /**
   * Has Neo4j plan every statement before the first batch needs it: each runs once over a
   * placeholder row, one after the other in one transaction that is rolled back. Planning them
   * takes 0.5–1 s on a cold server, the edge statement ~0.2 s of it; done at start, it overlaps
   * with joining the group and the first fetch. Meanwhile a transaction sends each statement only
   * once it is planned (see {@link GraphWriter.send}): the same statement planned alongside in
   * another transaction was planned twice. If it fails (Neo4j down at start), the wait ends and
   * transactions plan the statements as they use them.
   */
  async warmUp(openSession: () => Session): Promise<void> {
    const done = new Map<string, () => void>();
    for (const [query] of STATEMENTS)
      this.planning.set(query, new Promise<void>((resolve) => done.set(query, resolve)));
    const finish = (query: string): void => {
      this.planning.delete(query);
      done.get(query)?.();
    };
    const session = openSession();
    try {
      const tx = session.beginTransaction();
      try {
        for (const [query, params] of STATEMENTS) {
          await run(tx, query, int64Params(params));
          finish(query);
        }
      } finally {
        await tx.rollback();
      }
    } finally {
      for (const [query] of STATEMENTS) finish(query);
      await session.close();
    }
  }

  /**
   * Sends a statement now, or, while the warm-up has not planned it, as soon as it has and every
   * statement held back before it is sent (a transaction's statements run in the order sent).
   */
  private send(tx: ManagedTransaction, query: string, params: Record<string, unknown>): Promise<QueryResult> {
    const planned = this.planning.get(query);
    if (!planned && this.heldCount === 0) return run(tx, query, params);
    this.heldCount += 1;
    let result: Promise<QueryResult> | undefined;
    const sent = Promise.all([this.held, planned]).then(() => {
      this.heldCount -= 1;
      result = run(tx, query, params);
    });
    this.held = sent.catch(() => undefined);
    return sent.then(() => result as Promise<QueryResult>);
  }

  /** Reads (and write-locks, creating the missing ones) the progress of topic-partitions; keyed by {@link progressId}. */
  async lockProgress(tx: ManagedTransaction, keys: ProgressKey[]): Promise<Map<string, StoredProgress>> {
    const res = await this.send(
      tx,
      LOCK_PROGRESS,
      int64Params({ keys: keys.map((k) => ({ key: progressId(k), ...k })) }),
    );
    const out = new Map<string, StoredProgress>();
    for (const r of res.records)
      out.set(r.get('key') as string, {
        offset: toNumber(r.get('offset')) ?? 0,
        records: toNumber(r.get('records')) ?? 0,
        deadLetters: toNumber(r.get('deadLetters')) ?? 0,
      });
    return out;
  }

  /** Records that batches were applied: each partition's next offset and what it counted. */
  async saveProgress(tx: ManagedTransaction, saves: SavedProgress[]): Promise<void> {
    if (saves.length === 0) return;
    await this.send(
      tx,
      SAVE_PROGRESS,
      int64Params({
        saves: saves.map((x) => ({
          key: progressId(x.key),
          next: x.next,
          records: x.records,
          deadLetters: x.deadLetters,
        })),
      }),
    );
  }

  /** Reads (and write-locks, creating the missing ones) the Connection nodes of a batch, in key order. */
  async lockConnections(tx: ManagedTransaction, keys: string[]): Promise<Map<string, ConnectionState>> {
    const sorted = [...keys].sort();
    const res = await this.send(tx, LOCK_CONNECTIONS, { keys: sorted });
    const out = new Map<string, ConnectionState>();
    for (const r of res.records) {
      const key = r.get('key') as string;
      const state: ConnectionState = { key };
      const stored: StoredConnection = {
        a: r.get('a') as string | null,
        b: r.get('b') as string | null,
        applied: r.get('applied') as string | null,
        hosts: ((r.get('hosts') as string[] | null) ?? []).join(' '),
        state: r.get('state') as string | null,
      };
      try {
        if (stored.a) state.a = decodeSlot(stored.a);
        if (stored.b) state.b = decodeSlot(stored.b);
        if (stored.applied) state.applied = decodeContribution(stored.applied, state);
      } catch (err) {
        // Not a poison record (the record is fine) and not retriable: stop, lose nothing, say how to go on.
        throw new IngestError(
          `Connection ${JSON.stringify(key)} has a stored state this ingest cannot read (${(err as Error).message}); ` +
            'it was written by an incompatible version of the ingest. Nothing of this batch was applied. ' +
            'To start this connection over (its edges may then count it twice), delete the node in Neo4j: ' +
            `MATCH (c:Connection {key: ${JSON.stringify(key)}}) DETACH DELETE c`,
          { cause: err },
        );
      }
      this.stored.set(state, stored);
      out.set(key, state);
    }
    return out;
  }

  /** Which namespaces own these addresses (host records). */
  async addressOwners(tx: ManagedTransaction, addrs: string[]): Promise<Map<string, AddressOwner[]>> {
    const out = new Map<string, AddressOwner[]>();
    if (addrs.length === 0) return out;
    const res = await this.send(tx, ADDRESS_OWNERS, { addrs });
    for (const r of res.records) {
      const addr = r.get('addr') as string;
      const list = out.get(addr) ?? [];
      list.push({ hostId: r.get('hostId') as string, netns: toNumber(r.get('netns')) ?? 0 });
      out.set(addr, list);
    }
    return out;
  }

  /** The listening sockets on these (host, netns, port), with their process's placement. */
  async listeners(
    tx: ManagedTransaction,
    keys: { hostId: string; netns: number; port: number }[],
  ): Promise<ResolutionFacts['listeners']> {
    const out = new Map<string, ListenerHit[]>();
    if (keys.length === 0) return out;
    const res = await this.send(tx, LISTENERS, int64Params({ keys }));
    for (const r of res.records) {
      const id = `${r.get('hostId')}/${toNumber(r.get('netns'))}/${toNumber(r.get('port'))}`;
      const list = out.get(id) ?? [];
      list.push({
        addr: r.get('addr') as string,
        pid: toNumber(r.get('pid')) ?? 0,
        startTime: toNumber(r.get('startTime')) ?? 0,
        comm: (r.get('comm') as string | null) ?? null,
        containerId: (r.get('containerId') as string | null) ?? null,
        containerRuntime: (r.get('runtime') as string | null) ?? null,
        podUid: (r.get('podUid') as string | null) ?? null,
      });
      out.set(id, list);
    }
    return out;
  }

  async upsertProcesses(tx: ManagedTransaction, rows: ProcessRow[]): Promise<void> {
    if (rows.length > 0) await this.send(tx, PROCESSES, int64Params({ rows }));
  }

  async upsertPlacements(tx: ManagedTransaction, rows: PlacementRow[]): Promise<void> {
    if (rows.length > 0) await this.send(tx, PLACEMENTS, int64Params({ rows }));
  }

  async upsertExternals(tx: ManagedTransaction, ips: string[]): Promise<void> {
    if (ips.length > 0) await this.send(tx, EXTERNALS, { ips });
  }

  /** Adds the deltas to the CONNECTS_TO edges (created on first use, deleted when they count nothing). Returns the edge rows written. */
  async applyEdgeDeltas(tx: ManagedTransaction, deltas: EdgeDelta[]): Promise<number> {
    if (deltas.length === 0) return 0;
    // One lock order for every writer: by label pair, then keys (as when each pair had its statement).
    const rows = [...deltas].sort(
      (x, y) =>
        cmp(x.fromLabel, y.fromLabel) ||
        cmp(x.toLabel, y.toLabel) ||
        cmp(x.fromKey, y.fromKey) ||
        cmp(x.toKey, y.toKey),
    );
    await this.send(tx, EDGES, int64Params({ rows }));
    return deltas.length;
  }

  /**
   * Stores the correlation states read by {@link GraphWriter.lockConnections}: only the properties
   * whose stored value differs (a batch often changes one end only). Returns the rows written.
   */
  async saveConnections(tx: ManagedTransaction, states: ConnectionState[]): Promise<number> {
    const rows: { key: string; set: Record<string, unknown> }[] = [];
    for (const s of states) {
      const before = this.stored.get(s);
      const set: Record<string, unknown> = {};
      const a = s.a ? encodeSlot(s.a) : null;
      const b = s.b ? encodeSlot(s.b) : null;
      const applied = s.applied ? encodeContribution(s.applied, s) : null;
      const hosts = [...new Set([s.a?.hostId, s.b?.hostId].filter((h): h is string => !!h))];
      const state = (s.a ?? s.b)?.state ?? null;
      if (a !== (before?.a ?? null)) set.a = a;
      if (b !== (before?.b ?? null)) set.b = b;
      if (applied !== (before?.applied ?? null)) set.applied = applied;
      if (!before || hosts.join(' ') !== before.hosts) set.hosts = hosts;
      if (state !== (before?.state ?? null)) set.state = state;
      if (Object.keys(set).length > 0) rows.push({ key: s.key, set });
    }
    if (rows.length === 0) return 0;
    await this.send(tx, SAVE_CONNECTIONS, { rows });
    return rows.length;
  }

  /** Host records: names, and the addresses of each namespace (replaced as a whole by a newer record). */
  async upsertHosts(tx: ManagedTransaction, rows: HostRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.send(tx, HOSTS, int64Params({ rows }));
  }

  /** Listener records (a closed listener keeps its node with state 'closed'). */
  async upsertListeners(tx: ManagedTransaction, rows: ListenerRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.send(tx, LISTENER_UPSERT, int64Params({ rows }));
  }

  /** Heartbeats: the collector's health on its Host. */
  async upsertHeartbeats(tx: ManagedTransaction, rows: HeartbeatRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.send(tx, HEARTBEATS, int64Params({ rows }));
  }

  /** Pod metadata (namespace, name, owning workload) from an orchestrator source. */
  async upsertPodMetadata(tx: ManagedTransaction, rows: PodMetadataRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.send(tx, POD_METADATA, { rows });
  }
}

/** String order (code units), as every lock order of the ingest uses. */
export function cmp(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Identity of one progress record. */
export interface ProgressKey {
  group: string;
  topic: string;
  partition: number;
}

/** What a transaction stores as the progress of one topic-partition. */
export interface SavedProgress {
  key: ProgressKey;
  /** The next offset to consume. */
  next: number;
  records: number;
  deadLetters: number;
}

/** `group/topic/partition`. */
export function progressId(k: ProgressKey): string {
  return `${k.group}/${k.topic}/${k.partition}`;
}

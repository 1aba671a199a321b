import type { ManagedTransaction, QueryResult, Session } from 'neo4j-driver';
import type {
  AddressOwner,
  ConnectionState,
  EdgeDelta,
  ListenerHit,
  ResolutionFacts,
} from '../correlation/connection-model';
import type { HeartbeatRow, HostRow, ListenerRow, PlacementRow, ProcessRow } from './graph-rows';
import {
  decodeContribution,
  decodeSlot,
  encodeContribution,
  encodeSlot,
} from '../correlation/connection-state-codec';
import { IngestError } from '../errors';
import { int64Params, toNumber } from './neo4j-params';
import { progressId, type ProgressKey, type SavedProgress, type StoredProgress } from './progress';
import {
  ADDRESS_OWNERS,
  EDGES,
  EXTERNALS,
  HEARTBEATS,
  HOSTS,
  LISTENER_UPSERT,
  LISTENERS,
  LOCK_CONNECTIONS,
  LOCK_PROGRESS,
  PLACEMENTS,
  PROCESSES,
  SAVE_CONNECTIONS,
  SAVE_PROGRESS,
  STATEMENTS,
} from './statements';
import { CLUSTER_STATEMENTS } from './cluster-statements';

/** Every statement with its placeholder parameters, for the warm-up. */
const ALL_STATEMENTS = [...STATEMENTS, ...CLUSTER_STATEMENTS];

/** A Connection node's stored properties, as read. */
interface StoredConnection {
  a: string | null;
  b: string | null;
  applied: string | null;
  /** `hosts` joined with spaces. */
  hosts: string;
  state: string | null;
}

/** Runs a statement with its parameters as `$batch` (see statements.ts for why a map). */
function run(
  tx: Pick<ManagedTransaction, 'run'>,
  query: string,
  params: Record<string, unknown>,
): Promise<QueryResult> {
  return tx.run(query, { batch: params }) as unknown as Promise<QueryResult>;
}

/**
 * Sends every Cypher statement of the ingest (statements.ts), each a parameterised
 * `UNWIND $batch.rows …` run inside the caller's transaction (`session.executeWrite`), so that one
 * batch's upserts and its progress commit together or not at all. Each write method sends its statement before its first `await`
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
    for (const [query] of ALL_STATEMENTS)
      this.planning.set(query, new Promise<void>((resolve) => done.set(query, resolve)));
    const finish = (query: string): void => {
      this.planning.delete(query);
      done.get(query)?.();
    };
    const session = openSession();
    try {
      const tx = session.beginTransaction();
      try {
        for (const [query, params] of ALL_STATEMENTS) {
          await run(tx, query, int64Params(params));
          finish(query);
        }
      } finally {
        await tx.rollback();
      }
    } finally {
      for (const [query] of ALL_STATEMENTS) finish(query);
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

  /** Runs a statement of another file of this room (e.g. cluster-statements.ts) in the transaction's order. */
  runStatement(tx: ManagedTransaction, query: string, params: Record<string, unknown>): Promise<QueryResult> {
    return this.send(tx, query, params);
  }
}

/** String order (code units), as every lock order of the ingest uses. */
export function cmp(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

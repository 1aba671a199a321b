import type { ManagedTransaction, Session } from 'neo4j-driver';
import type { FlowRecord } from '../../contract/flow-record';
import {
  containerIdFromAvro,
  ipFromBytes,
  machineIdFromBytes,
  podUidFromAvro,
  type HeartbeatV1,
  type HostV2,
  type ListenerV1,
  type ProcessV2,
} from '../../contract';
import { connectionKey, isLoopback, processKey, type Side } from '../correlation/address';
import type {
  ConnectionState,
  EdgeDelta,
  Endpoint,
  ListenerKey,
  ResolutionFacts,
} from '../correlation/connection-model';
import { ConnectionCorrelator, flowKeyOf } from '../correlation/connection-correlator';
import { ClusterMetadata } from './cluster-metadata';
import type { ClusterMessage, DecodedMessage, PartitionResult, TransactionResult } from './decoded-message';
import type { HeartbeatRow, HostRow, ListenerRow, PlacementRow, ProcessRow } from './graph-rows';
import { cmp, GraphWriter } from './graph-writer';
import { progressId, type ProgressKey, type SavedProgress } from './progress';
import { HistoryWriter } from '../history/history-writer';

/** Keeps, per identity, the record with the greatest order value (records are state, the newest wins). */
function newestBy<T>(items: T[], id: (t: T) => string, order: (t: T) => number): T[] {
  const out = new Map<string, T>();
  for (const t of items) {
    const k = id(t);
    const cur = out.get(k);
    if (!cur || order(t) >= order(cur)) out.set(k, t);
  }
  return [...out.values()];
}

function mergeProcessRow(into: Map<string, ProcessRow>, row: ProcessRow): void {
  const cur = into.get(row.key);
  if (!cur) {
    into.set(row.key, row);
    return;
  }
  into.set(row.key, {
    ...cur,
    comm: row.comm ?? cur.comm,
    containerId: row.containerId ?? cur.containerId,
    containerRuntime: row.containerRuntime ?? cur.containerRuntime,
    podUid: row.podUid ?? cur.podUid,
    exe: row.exe ?? cur.exe,
    cmdline: row.cmdline ?? cur.cmdline,
    cmdlineTruncated: row.cmdline === null ? cur.cmdlineTruncated : row.cmdlineTruncated,
    uid: row.uid ?? cur.uid,
    ppid: row.ppid ?? cur.ppid,
    exited: row.exited || cur.exited,
  });
}

/**
 * Statements sent and not waited for yet. Each is marked handled at once: when one fails, the
 * transaction fails and so do the statements after it, and `done` reports the first failure.
 */
class Pipelined {
  private readonly sent: Promise<unknown>[] = [];

  add(p: Promise<unknown>): void {
    p.catch(() => undefined);
    this.sent.push(p);
  }

  async done(): Promise<void> {
    await Promise.all(this.sent);
  }
}

/** What one topic-partition contributes to a transaction: a run of consecutive offsets. */
export interface BatchPart {
  key: ProgressKey;
  /**
   * Valid records to apply. A flow's record may be left out when a newer record of the same flow
   * (higher `seq`) is here: flow records are cumulative, the newest carries all the others.
   */
  messages: DecodedMessage[];
  /** Offsets of every valid record, left out or not (what the progress counts). */
  validOffsets: number[];
  /** Offsets of records already sent to the dead-letter topic. */
  deadLetterOffsets: number[];
  /** The offset after the last message. */
  nextOffset: number;
}

/**
 * Applies the batches of one or more topic-partitions inside one Neo4j transaction: reads and
 * locks the stored progress of each, skips what it already covers, upserts what is left as one
 * set (the two ends of a connection read from two partitions update its state once), and stores
 * the new progress of each — all in the caller's `executeWrite`, so a crash at any point either
 * commits all of it or none.
 */
export class BatchProcessor {
  private readonly writer = new GraphWriter();
  private readonly correlator = new ConnectionCorrelator();
  private readonly cluster = new ClusterMetadata(this.writer);

  /** @param history - records the topology history in the same transactions (graph-schema/README.md, "History") */
  constructor(readonly history = new HistoryWriter()) {}

  /** Plans every statement ahead (see {@link GraphWriter.warmUp}). */
  warmUp(openSession: () => Session): Promise<void> {
    return this.writer.warmUp(openSession);
  }

  /** @param parts - at most one per topic-partition */
  async apply(tx: ManagedTransaction, parts: BatchPart[]): Promise<TransactionResult> {
    const sorted = [...parts].sort((x, y) => cmp(progressId(x.key), progressId(y.key)));
    const stored = await this.writer.lockProgress(
      tx,
      sorted.map((p) => p.key),
    );
    const result: TransactionResult = {
      partitions: [],
      records: 0,
      deadLetters: 0,
      flows: 0,
      connections: 0,
      edgeUpserts: 0,
      closedAt: [],
      committedAt: 0,
      durationMs: 0,
    };
    const fresh: DecodedMessage[] = [];
    const saves: SavedProgress[] = [];
    for (const part of sorted) {
      const from = stored.get(progressId(part.key))?.offset ?? 0;
      const done: PartitionResult = {
        topic: part.key.topic,
        partition: part.key.partition,
        nextOffset: Math.max(from, part.nextOffset),
        records: 0,
        deadLetters: 0,
      };
      result.partitions.push(done);
      if (from >= part.nextOffset) continue;
      for (const m of part.messages) if (m.offset >= from) fresh.push(m);
      done.records = part.validOffsets.filter((o) => o >= from).length;
      done.deadLetters = part.deadLetterOffsets.filter((o) => o >= from).length;
      result.records += done.records;
      result.deadLetters += done.deadLetters;
      saves.push({
        key: part.key,
        next: part.nextOffset,
        records: done.records,
        deadLetters: done.deadLetters,
      });
    }
    if (saves.length === 0) return result;

    const flows: FlowRecord[] = [];
    const processes: ProcessV2[] = [];
    const listeners: ListenerV1[] = [];
    const hosts: HostV2[] = [];
    const heartbeats: HeartbeatV1[] = [];
    const clusterMessages: ClusterMessage[] = [];
    for (const m of fresh) {
      if (m.kind === 'flow') flows.push(m.record);
      else if (m.kind === 'process') processes.push(m.record);
      else if (m.kind === 'listener') listeners.push(m.record);
      else if (m.kind === 'host') hosts.push(m.record);
      else if (m.kind === 'heartbeat') heartbeats.push(m.record);
      else clusterMessages.push(m);
    }

    // Writes are sent without waiting for each other's results (the server runs a transaction's
    // statements in the order sent), so the driver packs the next while Neo4j runs the previous;
    // only reads are waited for.
    const writes = new Pipelined();
    if (hosts.length) writes.add(this.writer.upsertHosts(tx, this.hostRows(hosts)));
    if (processes.length) writes.add(this.writer.upsertProcesses(tx, this.processRows(processes)));
    if (listeners.length) writes.add(this.listenerRows(tx, listeners));
    if (heartbeats.length) writes.add(this.writer.upsertHeartbeats(tx, this.heartbeatRows(heartbeats)));
    for (const sent of this.cluster.apply(tx, clusterMessages)) writes.add(sent);
    if (flows.length) await this.applyFlows(tx, flows, result, writes);

    writes.add(this.writer.saveProgress(tx, saves));
    await writes.done();
    return result;
  }

  private async applyFlows(
    tx: ManagedTransaction,
    flows: FlowRecord[],
    result: TransactionResult,
    writes: Pipelined,
  ): Promise<void> {
    // Counters are cumulative: the newest record of each flow in the batch carries all the others.
    const newest = newestBy(flows, flowKeyOf, (f) => f.seq).sort(
      (x, y) => x.observedAt - y.observedAt || x.seq - y.seq,
    );
    result.flows = newest.length;
    for (const f of newest) if (f.closedAt !== null && f.state !== 'open') result.closedAt.push(f.closedAt);

    const placed = newest.map((f) => ({ f, ...connectionKey(f) }));
    const states = await this.writer.lockConnections(tx, [...new Set(placed.map((p) => p.key))]);
    const changed = new Map<string, ConnectionState>();
    for (const p of placed) {
      const state = states.get(p.key) as ConnectionState;
      if (this.correlator.apply(state, p.side as Side, p.f)) changed.set(p.key, state);
    }
    if (changed.size === 0) return;
    result.connections = changed.size;

    const facts = await this.facts(tx, [...changed.values()]);
    const deltas = new Map<string, EdgeDelta>();
    const processRows = new Map<string, ProcessRow>();
    const placements: PlacementRow[] = [];
    const externals = new Set<string>();
    for (const state of changed.values()) {
      const next = this.correlator.contribution(state, facts);
      this.correlator.accumulate(deltas, state.applied, next);
      state.applied = next;
      for (const ep of this.correlator.endpoints(state, facts))
        this.collect(ep, processRows, placements, externals);
    }
    writes.add(this.writer.upsertExternals(tx, [...externals].sort()));
    writes.add(
      this.writer.upsertProcesses(
        tx,
        [...processRows.values()].sort((x, y) => (x.key < y.key ? -1 : 1)),
      ),
    );
    writes.add(this.writer.upsertPlacements(tx, placements));
    result.edgeUpserts = deltas.size;
    writes.add(this.writer.applyEdgeDeltas(tx, [...deltas.values()]));
    writes.add(this.history.recordEdges(tx, [...deltas.values()]));
    writes.add(this.writer.saveConnections(tx, [...changed.values()]));
  }

  /** Reads the address owners and the listeners the changed connections may need (see `listenerKeys`). */
  private async facts(tx: ManagedTransaction, states: ConnectionState[]): Promise<ResolutionFacts> {
    const slots = states.flatMap((s) => [s.a, s.b]).filter((x) => x !== undefined);
    const addrs = [...new Set(slots.map((s) => s.remoteAddr).filter((a) => !isLoopback(a)))].sort();
    const owners = await this.writer.addressOwners(tx, addrs);
    const keys = new Map<string, ListenerKey>();
    for (const state of states)
      for (const k of this.correlator.listenerKeys(state, owners))
        keys.set(`${k.hostId}/${k.netns}/${k.port}`, k);
    const listeners = await this.writer.listeners(tx, [...keys.values()]);
    return { owners, listeners, read: new Set(keys.keys()) };
  }

  private collect(
    ep: Endpoint,
    processRows: Map<string, ProcessRow>,
    placements: PlacementRow[],
    externals: Set<string>,
  ): void {
    if (ep.kind === 'external') {
      externals.add(ep.ip);
      return;
    }
    const attributed = ep.pid !== 0;
    mergeProcessRow(processRows, {
      key: ep.key,
      hostId: ep.hostId,
      pid: ep.pid,
      startTime: ep.startTime,
      comm: ep.comm,
      containerId: attributed ? ep.containerId : null,
      containerRuntime: attributed ? ep.containerRuntime : null,
      podUid: attributed ? ep.podUid : null,
      exe: null,
      cmdline: null,
      cmdlineTruncated: null,
      uid: null,
      ppid: null,
      exited: false,
    });
    if (!attributed && (ep.containerId || ep.podUid)) {
      placements.push({
        hostId: ep.hostId,
        containerId: ep.containerId,
        containerRuntime: ep.containerRuntime,
        podUid: ep.podUid,
      });
    }
  }

  private processRows(records: ProcessV2[]): ProcessRow[] {
    const rows = records.map((r) => {
      const hostId = machineIdFromBytes(r.hostId);
      return {
        row: {
          key: processKey(hostId, r.pid, r.startTime),
          hostId,
          pid: r.pid,
          startTime: r.startTime,
          comm: r.comm,
          containerId: containerIdFromAvro(r.containerId),
          containerRuntime: r.containerRuntime,
          podUid: podUidFromAvro(r.podUid),
          exe: r.exe,
          cmdline: r.cmdline,
          cmdlineTruncated: r.cmdlineTruncated,
          uid: r.uid,
          ppid: r.ppid,
          exited: r.exited,
        } satisfies ProcessRow,
        observedAt: r.observedAt,
      };
    });
    return newestBy(
      rows,
      (x) => x.row.key,
      (x) => x.observedAt,
    )
      .map((x) => x.row)
      .sort((x, y) => (x.key < y.key ? -1 : 1));
  }

  /** Sends the listeners' process upsert and the listener upsert (both before returning). */
  private listenerRows(tx: ManagedTransaction, records: ListenerV1[]): Promise<unknown> {
    const rows: ListenerRow[] = records.map((r) => {
      const hostId = machineIdFromBytes(r.hostId);
      const addr = ipFromBytes(r.address);
      const known = r.pid !== null && r.processStartTime !== null;
      return {
        key: `${hostId}/${r.netns}/${addr}/${r.port}`,
        hostId,
        netns: r.netns,
        family: r.family,
        addr,
        port: r.port,
        pid: r.pid,
        startTime: r.processStartTime,
        processKey: known ? processKey(hostId, r.pid as number, r.processStartTime as number) : null,
        state: r.state,
        observedAt: r.observedAt,
      };
    });
    const newest = newestBy(
      rows,
      (r) => r.key,
      (r) => r.observedAt,
    ).sort((x, y) => (x.key < y.key ? -1 : 1));
    const owners = new Map<string, ProcessRow>();
    for (const l of newest) {
      if (!l.processKey) continue;
      mergeProcessRow(owners, {
        key: l.processKey,
        hostId: l.hostId,
        pid: l.pid as number,
        startTime: l.startTime as number,
        comm: null,
        containerId: null,
        containerRuntime: null,
        podUid: null,
        exe: null,
        cmdline: null,
        cmdlineTruncated: null,
        uid: null,
        ppid: null,
        exited: false,
      });
    }
    return Promise.all([
      this.writer.upsertProcesses(tx, [...owners.values()]),
      this.writer.upsertListeners(tx, newest),
      this.history.recordListeners(tx, newest),
    ]);
  }

  private hostRows(records: HostV2[]): HostRow[] {
    const rows: HostRow[] = records.map((r) => {
      const hostId = machineIdFromBytes(r.hostId);
      return {
        hostId,
        hostname: r.hostname,
        kernel: r.kernel,
        collectorVersion: r.collectorVersion,
        observedAt: r.observedAt,
        namespacesTruncated: r.namespacesTruncated,
        addresses: r.namespaces.flatMap((ns) =>
          ns.addresses.map((a) => {
            const addr = ipFromBytes(a.address);
            return {
              key: `${hostId}/${ns.netns}/${addr}`,
              netns: ns.netns,
              addr,
              prefixLength: a.prefixLength,
              ifname: a.ifname,
            };
          }),
        ),
      };
    });
    return newestBy(
      rows,
      (r) => r.hostId,
      (r) => r.observedAt,
    );
  }

  private heartbeatRows(records: HeartbeatV1[]): HeartbeatRow[] {
    const rows: HeartbeatRow[] = records.map((r) => ({
      hostId: machineIdFromBytes(r.hostId),
      collectorVersion: r.collectorVersion,
      observedAt: r.observedAt,
      capabilities: r.capabilities.filter((c) => c.attached).map((c) => c.name),
      missingCapabilities: r.capabilities.filter((c) => !c.attached).map((c) => c.name),
      ringBufferFull: r.drops.ringBufferFull,
      mapFull: r.drops.mapFull,
      kafkaBufferFull: r.drops.kafkaBufferFull,
    }));
    return newestBy(
      rows,
      (r) => r.hostId,
      (r) => r.observedAt,
    );
  }
}

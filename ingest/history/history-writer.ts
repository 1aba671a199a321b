import neo4j, { type Driver, type ManagedTransaction } from 'neo4j-driver';
import { ConfigError } from '../../common/errors';
import type { Logger } from '../../common/log';
import {
  bucketStart,
  DEFAULT_BUCKET_MS,
  DEFAULT_RETENTION_MS,
  edgeId,
  type HistorySettings,
} from '../../graph-schema/history';
import type { EdgeDelta } from '../correlation/connection-model';
import { PRUNE, RECORD_EDGE_DELTAS, RECORD_LISTENERS, SAVE_SETTINGS } from './history-statements';

/** Options of {@link HistoryWriter}. */
export interface HistoryOptions {
  /** Record history at all. @defaultValue `true` */
  enabled?: boolean;
  /** Bucket size, ms: the finest time a past topology is known at. @defaultValue 5 minutes */
  bucketMs?: number;
  /** How long buckets are kept, ms; older ones are deleted as new ones are written. @defaultValue 7 days */
  retentionMs?: number;
  /**
   * Expired buckets (and edge histories and listening periods) deleted per transaction at most,
   * besides twice the transaction's own rows. @defaultValue `1000`
   */
  pruneLimit?: number;
  /** The clock (ms). @defaultValue `Date.now` */
  now?: () => number;
}

/** A listener record as the history needs it (the ingest's `ListenerRow` has these fields). */
export interface ListenerEvent {
  key: string;
  hostId: string;
  netns: number;
  addr: string;
  port: number;
  processKey: string | null;
  state: string;
  observedAt: number;
}

/** What one call wrote (for tests and the bench). */
export interface HistoryWrite {
  rows: number;
}

/** Integers as Neo4j Integers (counters may pass 2^31; Cypher's range() wants integers). */
function int(n: number): ReturnType<typeof neo4j.int> {
  return neo4j.int(n);
}

/**
 * Records the topology history inside the ingest's own transaction (graph-schema/README.md,
 * "History"): each edge delta goes into the time bucket of its records (`lastSeen`), with the
 * edge's open connections carried through the buckets in which it stayed open and idle; listener
 * records become listening periods; buckets older than the retention are deleted a bounded number
 * at a time. Everything runs in the caller's `executeWrite`, so the history has the ingest's
 * exactly-once effect: a replayed or retried batch is skipped as a whole, history included.
 */
export class HistoryWriter {
  readonly bucketMs: number;
  readonly retentionMs: number;
  readonly enabled: boolean;
  private readonly pruneLimit: number;
  private readonly now: () => number;

  constructor(options: HistoryOptions = {}) {
    this.enabled = options.enabled ?? true;
    this.bucketMs = options.bucketMs ?? DEFAULT_BUCKET_MS;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.pruneLimit = options.pruneLimit ?? 1000;
    this.now = options.now ?? Date.now;
    if (!Number.isInteger(this.bucketMs) || this.bucketMs < 1000)
      throw new ConfigError(`history bucket must be a whole number of ms ≥ 1000, got ${this.bucketMs}`);
    if (!(this.retentionMs >= this.bucketMs))
      throw new ConfigError(`history retention (${this.retentionMs} ms) must be at least one bucket`);
  }

  /** The settings as readers see them. */
  settings(since = 0): HistorySettings {
    return { bucketMs: this.bucketMs, retentionMs: this.retentionMs, since };
  }

  /** Records the settings (`HistorySettings`); warns when the bucket size changes under existing history. */
  async saveSettings(driver: Driver, database: string, log?: Logger): Promise<void> {
    if (!this.enabled) return;
    const { records } = await driver.executeQuery(
      SAVE_SETTINGS,
      { batch: { now: int(this.now()), bucketMs: int(this.bucketMs), retentionMs: int(this.retentionMs) } },
      { database },
    );
    const previous = records[0]?.get('previous') as { toNumber(): number } | null;
    if (previous !== null && previous !== undefined && previous.toNumber() !== this.bucketMs)
      log?.warn(
        `history bucket changed from ${previous.toNumber()} ms to ${this.bucketMs} ms: windows are ` +
          'now aligned to the new size; buckets of the old size stay until the retention deletes them',
      );
  }

  /** The oldest bucket start kept. */
  private keepFrom(): number {
    return bucketStart(this.now() - this.retentionMs, this.bucketMs) + this.bucketMs;
  }

  /** Adds the edge deltas of a transaction to the history, and prunes what expired. */
  async recordEdges(tx: ManagedTransaction, deltas: EdgeDelta[]): Promise<HistoryWrite> {
    if (!this.enabled || deltas.length === 0) return { rows: 0 };
    // A delta made only of contributions taken back has no time of its own: it is the batch's.
    let latest = 0;
    for (const d of deltas) if (d.lastSeen !== null && d.lastSeen > latest) latest = d.lastSeen;
    if (latest === 0) latest = this.now();
    const keepFrom = this.keepFrom();
    const rows = deltas
      .map((d) => {
        const id = edgeId(d);
        return {
          edge: id,
          level: d.level,
          fromLabel: d.fromLabel,
          fromKey: d.fromKey,
          toLabel: d.toLabel,
          toKey: d.toKey,
          port: int(d.port),
          protocol: d.protocol,
          start: int(Math.max(keepFrom, bucketStart(d.lastSeen ?? latest, this.bucketMs))),
          connections: int(d.connections),
          failedConnects: int(d.failedConnects),
          bytesToServer: int(d.bytesToServer),
          bytesToClient: int(d.bytesToClient),
          retransmits: int(d.retransmits),
          connectLatencyUsSum: int(d.connectLatencyUsSum),
          connectLatencyCount: int(d.connectLatencyCount),
          lastSeen: d.lastSeen === null ? null : int(d.lastSeen),
          open: int(d.open),
        };
      })
      .sort((x, y) => (x.edge < y.edge ? -1 : x.edge > y.edge ? 1 : 0));
    const batch = { rows, size: int(this.bucketMs), keepFrom: int(keepFrom) };
    await tx.run(RECORD_EDGE_DELTAS, { batch });
    await this.prune(tx, keepFrom, rows.length);
    return { rows: rows.length };
  }

  /** Turns the newest listener records of a transaction (one per listener) into listening periods. */
  async recordListeners(tx: ManagedTransaction, events: ListenerEvent[]): Promise<void> {
    if (!this.enabled || events.length === 0) return;
    const rows = events.map((l) => ({
      key: l.key,
      hostId: l.hostId,
      netns: int(l.netns),
      addr: l.addr,
      port: int(l.port),
      processKey: l.processKey,
      state: l.state,
      observedAt: int(l.observedAt),
    }));
    await tx.run(RECORD_LISTENERS, { batch: { rows } });
  }

  private async prune(tx: ManagedTransaction, keepFrom: number, written: number): Promise<void> {
    await tx.run(PRUNE, {
      batch: { keepFrom: int(keepFrom), limit: int(Math.max(this.pruneLimit, 2 * written)) },
    });
  }
}

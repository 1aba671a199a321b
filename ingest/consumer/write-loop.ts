import type { EventEmitter } from 'node:events';
import { KafkaJSError } from 'kafkajs';
import neo4j, { type Driver, type ManagedTransaction } from 'neo4j-driver';
import type { Logger } from '../../common/log';
import type { BatchPart, BatchProcessor } from '../graph/batch-processor';
import type { DecodedMessage, PartitionResult, TransactionResult } from '../graph/decoded-message';
import { GraphUnavailableError, GraphWriteError, IngestError, IngestStoppedError } from '../errors';
import { classifyNeo4jError } from '../graph/neo4j-errors';
import type { DeadLetters } from './dead-letters';
import type { IngestOptions } from './ingest-options';
import type { IngestStats } from './ingest-stats';
import { mergeParts, type QueuedBatch, type TransactionQueue } from './transaction-queue';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the writer needs of the consumer side (the Kafka consumer and the ingest's life). */
export interface WriterHost {
  /** Whether the ingest runs: once it stops, the writer starts nothing more. */
  running(): boolean;
  /** Stops fetching (Neo4j is unreachable). */
  pauseConsumption(): void;
  resumeConsumption(): void;
  /** Moves Kafka's committed offsets to what a transaction committed (a hint: Neo4j holds the progress). */
  commitOffsets(partitions: PartitionResult[]): void;
  /** Consumes again from the progress stored in Neo4j (what was queued is dropped). */
  restartConsumption(): Promise<void>;
  /** Stops the ingest. */
  stop(): Promise<void>;
}

/** What a {@link WriteLoop} works with. */
export interface WriteLoopParts {
  queue: TransactionQueue;
  processor: BatchProcessor;
  driver: Driver;
  database: string;
  deadLetters: DeadLetters;
  options: IngestOptions;
  log: Logger;
  /** Where `transaction`, `graphUnavailable`, `graphAvailable` and `fatal` are emitted (the ingest). */
  events: Pick<EventEmitter, 'emit'>;
  host: WriterHost;
}

/**
 * The single writer: applies the queued batches in order, each transaction taking every batch
 * queued while the previous one ran (up to the bound); retries while Neo4j is unreachable, with
 * consumption paused; applies a transaction Neo4j refuses again record by record, dead-lettering
 * the record it refuses. Keeps the ingest's counters.
 */
export class WriteLoop {
  private readonly queue: TransactionQueue;
  private readonly processor: BatchProcessor;
  private readonly driver: Driver;
  private readonly database: string;
  private readonly deadLetters: DeadLetters;
  private readonly options: IngestOptions;
  private readonly log: Logger;
  private readonly events: Pick<EventEmitter, 'emit'>;
  private readonly host: WriterHost;
  private writing: Promise<void> | undefined;
  /** The internal error that stopped the ingest. */
  private stoppedBy: Error | undefined;
  private readonly counters: IngestStats = {
    transactions: 0,
    batches: 0,
    records: 0,
    flows: 0,
    edgeUpserts: 0,
    deadLetters: 0,
    graphRetries: 0,
    waitingForGraph: false,
  };

  constructor(parts: WriteLoopParts) {
    this.queue = parts.queue;
    this.processor = parts.processor;
    this.driver = parts.driver;
    this.database = parts.database;
    this.deadLetters = parts.deadLetters;
    this.options = parts.options;
    this.log = parts.log;
    this.events = parts.events;
    this.host = parts.host;
  }

  /** Counters of this process. */
  stats(): IngestStats {
    return { ...this.counters };
  }

  /** The internal error that stopped the ingest, if one did. */
  get failure(): Error | undefined {
    return this.stoppedBy;
  }

  /** Nothing queued and no transaction running (a transaction Neo4j has committed is counted once it returns). */
  get idle(): boolean {
    return !this.writing && this.queue.length === 0;
  }

  /** Starts the writer unless it runs. */
  kick(): void {
    if (this.writing || this.queue.length === 0 || !this.host.running()) return;
    this.writing = this.writeQueued().finally(() => {
      this.writing = undefined;
      this.kick();
    });
  }

  /** Applies one batch on its own, one transaction per record (the naive baseline: `oneRecordPerTransaction`). */
  async applyAlone(queued: QueuedBatch): Promise<void> {
    this.counters.batches += 1;
    for (const r of await this.applyOneByOne([queued], queued.part, false)) this.committed(r);
  }

  /** Applies the queue, one transaction after another, each taking whatever is queued (up to the bound). */
  private async writeQueued(): Promise<void> {
    while (this.host.running() && this.queue.length > 0) {
      await this.queue.decodesJoined();
      if (!this.host.running()) return;
      const taken = this.queue.take();
      try {
        await this.applyTransaction(taken);
      } catch (err) {
        await this.writerFailed(err, taken);
        return;
      }
    }
  }

  /** One transaction for the taken batches; a refused one is applied again record by record. */
  private async applyTransaction(taken: QueuedBatch[]): Promise<void> {
    const parts = mergeParts(taken.map((q) => q.part));
    let results: TransactionResult[];
    try {
      results = [await this.write(taken, (tx) => this.processor.apply(tx, parts))];
    } catch (err) {
      if (!(err instanceof GraphWriteError)) throw err;
      // A record Neo4j refuses: find it by applying record by record, dead-letter it, go on.
      this.log.warn(
        `transaction of ${parts.map((p) => `${p.key.topic}/${p.key.partition}`).join(', ')} refused (${err.message}); retrying record by record`,
      );
      results = [];
      for (const part of parts) results.push(...(await this.applyOneByOne(taken, part, true)));
    }
    this.counters.batches += taken.length;
    for (const r of results) this.committed(r);
  }

  /** Counts a committed transaction, moves Kafka's committed offsets (a hint: Neo4j holds the progress) and tells listeners. */
  private committed(r: TransactionResult): void {
    this.counters.transactions += 1;
    this.counters.records += r.records;
    this.counters.flows += r.flows;
    this.counters.edgeUpserts += r.edgeUpserts;
    this.counters.deadLetters += r.deadLetters;
    this.host.commitOffsets(r.partitions);
    this.events.emit('transaction', r);
  }

  /**
   * The writer could not apply `taken`: nothing queued will be applied. When stopping, that is all.
   * A failure of our own code (not Neo4j's, not Kafka's) stops the ingest loudly ('fatal'); any
   * other restarts consumption from what Neo4j has committed.
   */
  private async writerFailed(err: unknown, taken: QueuedBatch[]): Promise<void> {
    const dropped = taken.length + this.queue.clear();
    if (!this.host.running() || err instanceof IngestStoppedError) return;
    if (!(err instanceof IngestError) && !(err instanceof KafkaJSError)) {
      this.stoppedBy = err instanceof Error ? err : new Error(String(err));
      this.log.error(
        `ingest stopped by an internal error: ${this.stoppedBy.stack ?? this.stoppedBy.message}`,
      );
      this.events.emit('fatal', this.stoppedBy);
      await this.host.stop();
      return;
    }
    this.log.warn(
      `${dropped} batches not applied (${(err as Error).message}); consuming again from the progress stored in Neo4j`,
    );
    await sleep(this.options.initialBackoffMs ?? 250);
    if (!this.host.running()) return;
    await this.host.restartConsumption();
  }

  /** One transaction per record (the naive path; also how a refused batch finds its poison record). */
  private async applyOneByOne(
    taken: QueuedBatch[],
    part: BatchPart,
    deadLetterRefused: boolean,
  ): Promise<TransactionResult[]> {
    const results: TransactionResult[] = [];
    const byOffset = new Map(part.messages.map((m) => [m.offset, m]));
    const valid = new Set(part.validOffsets);
    const rejected = new Set(part.deadLetterOffsets);
    const offsets = [...valid, ...rejected].sort((x, y) => x - y);
    const one = (m: DecodedMessage | undefined, offset: number, deadLetter: boolean): BatchPart => ({
      key: part.key,
      messages: m ? [m] : [],
      validOffsets: valid.has(offset) && !deadLetter ? [offset] : [],
      deadLetterOffsets: deadLetter ? [offset] : [],
      nextOffset: offset + 1,
    });
    for (const offset of offsets) {
      // A flow record left out for a newer one of its flow is applied as nothing (and counted).
      const m = byOffset.get(offset);
      try {
        results.push(
          await this.write(taken, (tx) => this.processor.apply(tx, [one(m, offset, rejected.has(offset))])),
        );
      } catch (err) {
        if (!(err instanceof GraphWriteError) || !deadLetterRefused || !m) throw err;
        const raw = taken
          .filter(
            (q) =>
              q.payload.batch.topic === part.key.topic && q.payload.batch.partition === part.key.partition,
          )
          .flatMap((q) => q.payload.batch.messages)
          .find((x) => Number(x.offset) === offset);
        if (raw)
          await this.deadLetters.send(part.key.topic, part.key.partition, raw, err, () =>
            this.heartbeat(taken),
          );
        results.push(
          await this.write(taken, (tx) => this.processor.apply(tx, [one(undefined, offset, true)])),
        );
      }
    }
    const last = offsets.at(-1);
    if (last === undefined || last + 1 < part.nextOffset)
      results.push(
        await this.write(taken, (tx) =>
          this.processor.apply(tx, [
            {
              key: part.key,
              messages: [],
              validOffsets: [],
              deadLetterOffsets: [],
              nextOffset: part.nextOffset,
            },
          ]),
        ),
      );
    return results;
  }

  private async heartbeat(taken: QueuedBatch[]): Promise<void> {
    await taken
      .at(-1)
      ?.payload.heartbeat()
      .catch(() => undefined);
  }

  /** Runs a write transaction; while Neo4j is unreachable, pauses consumption and retries with back-off. */
  private async write(
    taken: QueuedBatch[],
    work: (tx: ManagedTransaction) => Promise<TransactionResult>,
  ): Promise<TransactionResult> {
    let backoff = this.options.initialBackoffMs ?? 250;
    let paused = false;
    try {
      for (;;) {
        const session = this.driver.session({
          database: this.database,
          defaultAccessMode: neo4j.session.WRITE,
        });
        try {
          const started = performance.now();
          const result = await session.executeWrite(work);
          result.committedAt = Date.now();
          result.durationMs = performance.now() - started;
          return result;
        } catch (err) {
          const e = classifyNeo4jError(err);
          if (!(e instanceof GraphUnavailableError)) throw e;
          this.counters.graphRetries += 1;
          if (!paused) {
            paused = true;
            this.counters.waitingForGraph = true;
            this.host.pauseConsumption();
            this.log.warn(`Neo4j unavailable, consumption paused: ${e.message}`);
            this.events.emit('graphUnavailable', e);
          }
          if (!this.host.running())
            throw new IngestStoppedError('stopped while waiting for Neo4j', { cause: e });
          await sleep(backoff);
          backoff = Math.min(this.options.maxBackoffMs ?? 5_000, backoff * 2);
          await this.heartbeat(taken);
        } finally {
          await session.close().catch(() => undefined);
        }
      }
    } finally {
      if (paused) {
        this.counters.waitingForGraph = false;
        this.host.resumeConsumption();
        this.log.info('Neo4j reachable again, consumption resumed');
        this.events.emit('graphAvailable');
      }
    }
  }
}

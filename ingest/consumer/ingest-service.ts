import { kafkajsPatches } from '../../patches/kafkajs'; // before kafkajs: see the module
import { EventEmitter } from 'node:events';
import {
  Kafka,
  KafkaJSError,
  logLevel,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import neo4j, { type Driver, type ManagedTransaction } from 'neo4j-driver';
import { createLogger, type Logger } from '../../common/log';
import {
  Codec,
  DEAD_LETTER_TOPIC,
  toDeadLetter,
  topicConfigEntries,
  TOPICS,
  type CollectorKind,
} from '../../contract';
import { createGraphDriver } from '../../graph-schema/graph-driver';
import { SchemaMigrator } from '../../graph-schema/schema-migrator';
import { connectionUrls } from '../../stack/stack-config';
import type { FlowRecord } from '../../contract/flow-record';
import { BatchProcessor, type BatchPart } from '../graph/batch-processor';
import { flowKeyOf } from '../correlation/connection-correlator';
import type { DecodedMessage, TransactionResult } from '../graph/decoded-message';
import { GraphUnavailableError, GraphWriteError, IngestError, IngestStoppedError } from '../errors';
import { progressId } from '../graph/graph-writer';
import type { IngestOptions } from './ingest-options';
import type { IngestStats } from './ingest-stats';
import { MessageDecoder } from './message-decoder';
import { classifyNeo4jError } from '../graph/neo4j-errors';
import { toNumber } from '../graph/neo4j-params';

/** Messages decoded between two yields to the event loop. */
const DECODE_SLICE = 1_000;
/** How long the writer waits for batches being decoded to join its next transaction. */
const DECODE_WAIT_MS = 500;
const ALL_KINDS: CollectorKind[] = ['host', 'listener', 'process', 'flow', 'heartbeat'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A decoded Kafka batch waiting for the transaction that applies it. */
interface QueuedBatch {
  payload: EachBatchPayload;
  part: BatchPart;
  /** Messages of the batch, valid or not. */
  size: number;
}

/** Something that happens again and again: `next` resolves the next time `notify` is called. */
class Signal {
  private resolve: () => void = () => undefined;
  next: Promise<void> = this.renew();

  notify(): void {
    this.resolve();
    this.next = this.renew();
  }

  private renew(): Promise<void> {
    return new Promise<void>((r) => (this.resolve = r));
  }
}

/** One part per topic-partition: consecutive batches of a partition are one run of offsets. */
function mergeParts(parts: BatchPart[]): BatchPart[] {
  const out = new Map<string, BatchPart>();
  for (const p of parts) {
    const id = progressId(p.key);
    const cur = out.get(id);
    if (!cur) {
      out.set(id, {
        ...p,
        messages: [...p.messages],
        validOffsets: [...p.validOffsets],
        deadLetterOffsets: [...p.deadLetterOffsets],
      });
      continue;
    }
    for (const m of p.messages) cur.messages.push(m);
    for (const o of p.validOffsets) cur.validOffsets.push(o);
    for (const o of p.deadLetterOffsets) cur.deadLetterOffsets.push(o);
    cur.nextOffset = p.nextOffset;
  }
  return [...out.values()];
}

/**
 * The ingest: a Kafka consumer group that validates collector records, correlates the two ends of
 * each connection and upserts the topology into Neo4j, exactly once in effect: a transaction's
 * writes and the progress they cover (`IngestProgress`, per group/topic/partition) commit in one
 * Neo4j transaction, and the consumer resumes from that progress (Kafka's committed offsets are a
 * hint).
 *
 * One writer applies the decoded batches in order, each transaction taking every batch queued
 * while the previous one ran, whatever its partition: decoding overlaps with Neo4j's work, and a
 * connection whose two ends arrive on two partitions has its state written once.
 *
 * Events: `transaction` (TransactionResult) after each commit, `deadLetter` (record) for each
 * rejected message, `graphUnavailable` (Error) when it starts waiting for Neo4j, `graphAvailable`
 * when writes go through again, `fatal` (Error) when an internal error stopped it.
 */
export class IngestService extends EventEmitter {
  readonly groupId: string;
  readonly topics: ReadonlyMap<string, CollectorKind>;
  readonly deadLetterTopic: string;
  private readonly options: IngestOptions;
  private readonly log: Logger;
  private readonly kafka: Kafka;
  private readonly driver: Driver;
  private readonly database: string;
  private readonly codec = new Codec();
  private readonly decoder = new MessageDecoder(this.codec);
  private readonly processor = new BatchProcessor();
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  private admin: Admin | undefined;
  private running = false;
  private readonly maxTransactionRecords: number;
  private readonly queue: QueuedBatch[] = [];
  private queuedRecords = 0;
  /** Notified whenever the writer takes batches from the queue (and when it stops). */
  private readonly drained = new Signal();
  /** Batches being decoded, and a signal whenever one is done. */
  private decoding = 0;
  private readonly decoded = new Signal();
  private writing: Promise<void> | undefined;
  /** The internal error that stopped the ingest. */
  private failure: Error | undefined;
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

  constructor(options: IngestOptions = {}) {
    super();
    this.options = options;
    this.log = options.logger ?? createLogger('ingest');
    this.groupId = options.groupId ?? 'nettopo-ingest';
    const prefix = options.topicPrefix ?? '';
    this.topics = new Map((options.kinds ?? ALL_KINDS).map((k) => [`${prefix}${TOPICS[k].topic}`, k]));
    this.deadLetterTopic = `${prefix}${DEAD_LETTER_TOPIC.topic}`;
    this.kafka = new Kafka({
      clientId: `nettopo-ingest-${process.pid}`,
      brokers: options.brokers ?? [connectionUrls().kafkaBroker],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
    this.driver = createGraphDriver(options.neo4j);
    this.database = options.neo4j?.database ?? 'neo4j';
    this.maxTransactionRecords = options.maxTransactionRecords ?? 50_000;
  }

  /** Counters of this process. */
  stats(): IngestStats {
    return { ...this.counters };
  }

  /** Migrates the graph schema (unless told not to), creates missing topics, joins the group and starts consuming. */
  async start(): Promise<void> {
    if (!kafkajsPatches.fastRecordDecoder)
      this.log.debug(
        `kafkajs decoded a fetch before its patches (${JSON.stringify(kafkajsPatches)}): consuming costs more CPU`,
      );
    if (this.options.migrate ?? true) {
      const r = await new SchemaMigrator(this.driver, { database: this.database }).migrate();
      if (r.applied.length) this.log.info(`graph schema migrated ${r.from} → ${r.to}`);
    }
    // Planning runs on the server while the group is joined and the first batches are fetched and
    // decoded; a transaction meanwhile sends each statement once it is planned (GraphWriter.send).
    void this.warmUp();
    this.admin = this.kafka.admin();
    await this.admin.connect();
    if (this.options.createTopics ?? true) await this.ensureTopics();
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    const perPartition = this.options.maxBytesPerPartition ?? 4 * 1024 * 1024;
    this.consumer = this.kafka.consumer({
      groupId: this.groupId,
      maxBytesPerPartition: perPartition,
      maxBytes: perPartition * 4,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      retry: { retries: 1_000_000, initialRetryTime: 300, maxRetryTime: 5_000 },
    });
    const consumer = this.consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      void this.seekToStoredProgress(e.payload.memberAssignment).catch((err: Error) =>
        this.log.warn(`could not seek to the stored progress (batches skip what is applied): ${err.message}`),
      );
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.topics.keys()], fromBeginning: true });
    this.running = true;
    await this.runConsumer();
    this.log.info(`consuming ${[...this.topics.keys()].join(', ')} as group ${this.groupId}`);
  }

  private async warmUp(): Promise<void> {
    try {
      await this.processor.warmUp(() =>
        this.driver.session({ database: this.database, defaultAccessMode: neo4j.session.WRITE }),
      );
    } catch (err) {
      this.log.debug(`statements not planned ahead: ${(err as Error).message}`);
    }
  }

  private async runConsumer(): Promise<void> {
    await this.consumer?.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  /** Leaves the group and closes every connection. Batches not committed yet are abandoned (their transaction never commits). */
  async stop(): Promise<void> {
    this.running = false;
    this.drained.notify();
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    await this.driver.close().catch(() => undefined);
  }

  /** Messages not yet applied: the topics' end offsets minus the progress stored in Neo4j for this group. */
  async lag(): Promise<number> {
    const admin = this.admin ?? this.kafka.admin();
    if (!this.admin) await admin.connect();
    try {
      const { records } = await this.driver.executeQuery(
        'MATCH (p:IngestProgress {group: $group}) RETURN p.key AS key, p.offset AS offset',
        { group: this.groupId },
        { database: this.database },
      );
      const stored = new Map(records.map((r) => [r.get('key') as string, toNumber(r.get('offset')) ?? 0]));
      let lag = 0;
      for (const topic of this.topics.keys()) {
        for (const p of await admin.fetchTopicOffsets(topic)) {
          const end = Number(p.high);
          const done = stored.get(progressId({ group: this.groupId, topic, partition: p.partition })) ?? 0;
          lag += Math.max(0, end - done);
        }
      }
      return lag;
    } finally {
      if (!this.admin) await admin.disconnect();
    }
  }

  /** Resolves when every message produced so far is applied; rejects after `timeoutMs`. */
  async waitUntilCaughtUp(timeoutMs = 60_000, pollMs = 200): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.failure) throw this.failure;
      const lag = await this.lag().catch(() => Number.NaN);
      // Also wait for the writer: a transaction Neo4j has committed is counted once it returns.
      if (lag === 0 && !this.writing && this.queue.length === 0) return;
      if (Date.now() > deadline)
        throw new IngestStoppedError(`ingest still ${lag} messages behind after ${timeoutMs} ms`);
      await sleep(pollMs);
    }
  }

  private async ensureTopics(): Promise<void> {
    const admin = this.admin as Admin;
    const existing = new Set(await admin.listTopics());
    const wanted = [
      ...[...this.topics].map(([topic, kind]) => ({ topic, spec: TOPICS[kind] })),
      { topic: this.deadLetterTopic, spec: DEAD_LETTER_TOPIC },
    ].filter((t) => !existing.has(t.topic));
    if (wanted.length === 0) return;
    await admin
      .createTopics({
        waitForLeaders: true,
        topics: wanted.map((t) => ({
          topic: t.topic,
          numPartitions: this.options.topicPartitions ?? 3,
          configEntries: topicConfigEntries(t.spec),
        })),
      })
      .catch((err: Error) => {
        // Another process may have created them meanwhile.
        if (!/already exists/i.test(err.message)) throw err;
      });
  }

  private async seekToStoredProgress(assignment: Record<string, number[]>): Promise<void> {
    const keys = Object.entries(assignment).flatMap(([topic, partitions]) =>
      partitions.map((partition) => progressId({ group: this.groupId, topic, partition })),
    );
    if (keys.length === 0) return;
    const { records } = await this.driver.executeQuery(
      'MATCH (p:IngestProgress) WHERE p.key IN $keys RETURN p.topic AS topic, p.partition AS partition, p.offset AS offset',
      { keys },
      { database: this.database },
    );
    for (const r of records) {
      const offset = toNumber(r.get('offset')) ?? 0;
      if (offset > 0) {
        this.consumer?.seek({
          topic: r.get('topic') as string,
          partition: toNumber(r.get('partition')) ?? 0,
          offset: String(offset),
        });
      }
    }
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    let part: BatchPart;
    this.decoding += 1;
    try {
      part = await this.decodeBatch(payload, this.options.oneRecordPerTransaction);
    } finally {
      this.decoding -= 1;
      this.decoded.notify();
    }
    if (this.options.oneRecordPerTransaction) {
      const queued: QueuedBatch = { payload, part, size: batch.messages.length };
      this.counters.batches += 1;
      for (const r of await this.applyOneByOne([queued], part, false)) this.committed(r);
      payload.resolveOffset(batch.lastOffset());
      return;
    }
    // The batch waits for the writer, which takes everything queued into its next transaction;
    // meanwhile kafkajs fetches (and this decodes) what comes next. Kafka's committed offset only
    // moves once Neo4j has committed (see `committed`).
    this.queue.push({ payload, part, size: batch.messages.length });
    this.queuedRecords += batch.messages.length;
    payload.resolveOffset(batch.lastOffset());
    this.kick();
    while (this.running && this.queuedRecords > this.maxTransactionRecords) {
      await Promise.race([this.drained.next, sleep(3_000)]);
      await payload.heartbeat().catch(() => undefined);
    }
  }

  /**
   * Validates a batch: rejected records go to the dead-letter topic now, the valid ones into a
   * part. Unless `everyRecord`, a flow's record is kept only until a newer one of the same flow
   * comes (see {@link BatchPart.messages}): fewer records held until the transaction, less to sort.
   */
  private async decodeBatch(payload: EachBatchPayload, everyRecord = false): Promise<BatchPart> {
    const { batch } = payload;
    const kind = this.topics.get(batch.topic) as CollectorKind;
    const part: BatchPart = {
      key: { group: this.groupId, topic: batch.topic, partition: batch.partition },
      messages: [],
      validOffsets: [],
      deadLetterOffsets: [],
      nextOffset: Number(batch.lastOffset()) + 1,
    };
    const newest = new Map<string, number>();
    let sinceYield = 0;
    for (const m of batch.messages) {
      // Decoding runs while the writer waits for Neo4j: yield now and then, so that the writer
      // goes on as soon as Neo4j answers instead of after the whole batch is decoded.
      if (++sinceYield === DECODE_SLICE) {
        sinceYield = 0;
        await new Promise<void>((r) => setImmediate(r));
      }
      const outcome = this.decoder.decode(kind, m);
      if (!outcome.ok) {
        await this.deadLetter(batch.topic, batch.partition, m, outcome.error, () => payload.heartbeat());
        part.deadLetterOffsets.push(Number(m.offset));
        continue;
      }
      const message = outcome.message;
      part.validOffsets.push(message.offset);
      if (message.kind !== 'flow' || everyRecord) {
        part.messages.push(message);
        continue;
      }
      const flow = flowKeyOf(message.record);
      const at = newest.get(flow);
      if (at === undefined) {
        newest.set(flow, part.messages.length);
        part.messages.push(message);
      } else if ((part.messages[at].record as FlowRecord).seq <= message.record.seq) {
        part.messages[at] = message;
      }
    }
    return part;
  }

  /** Starts the writer unless it runs. */
  private kick(): void {
    if (this.writing || this.queue.length === 0 || !this.running) return;
    this.writing = this.writeQueued().finally(() => {
      this.writing = undefined;
      this.kick();
    });
  }

  /** Applies the queue, one transaction after another, each taking whatever is queued (up to the bound). */
  private async writeQueued(): Promise<void> {
    while (this.running && this.queue.length > 0) {
      // kafkajs hands over a fetch's batches one after another: let the ones being decoded join
      // this transaction (a connection's two ends are often on two partitions of one fetch), for
      // a moment at most (a decode may be waiting to send a dead letter to an unreachable Kafka).
      const until = Date.now() + DECODE_WAIT_MS;
      for (;;) {
        await new Promise<void>((r) => setImmediate(r));
        if (this.decoding === 0 || this.queuedRecords >= this.maxTransactionRecords) break;
        if (Date.now() >= until) break;
        await Promise.race([this.decoded.next, sleep(DECODE_WAIT_MS)]);
      }
      if (!this.running) return;
      const taken: QueuedBatch[] = [];
      let records = 0;
      while (
        this.queue.length > 0 &&
        (taken.length === 0 || records + this.queue[0].size <= this.maxTransactionRecords)
      ) {
        const q = this.queue.shift() as QueuedBatch;
        taken.push(q);
        records += q.size;
      }
      this.queuedRecords -= records;
      this.drained.notify();
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
    void this.consumer
      ?.commitOffsets(
        r.partitions.map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.nextOffset) })),
      )
      .catch(() => undefined);
    this.emit('transaction', r);
  }

  /**
   * The writer could not apply `taken`: nothing queued will be applied. When stopping, that is all.
   * A failure of our own code (not Neo4j's, not Kafka's) stops the ingest loudly ('fatal'); any
   * other restarts consumption from what Neo4j has committed.
   */
  private async writerFailed(err: unknown, taken: QueuedBatch[]): Promise<void> {
    const dropped = taken.length + this.queue.length;
    this.queue.length = 0;
    this.queuedRecords = 0;
    this.drained.notify();
    if (!this.running || err instanceof IngestStoppedError) return;
    if (!(err instanceof IngestError) && !(err instanceof KafkaJSError)) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.log.error(`ingest stopped by an internal error: ${this.failure.stack ?? this.failure.message}`);
      this.emit('fatal', this.failure);
      await this.stop();
      return;
    }
    this.log.warn(
      `${dropped} batches not applied (${(err as Error).message}); consuming again from the progress stored in Neo4j`,
    );
    await sleep(this.options.initialBackoffMs ?? 250);
    if (!this.running) return;
    await this.consumer?.stop();
    if (this.running) await this.runConsumer();
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
          await this.deadLetter(part.key.topic, part.key.partition, raw, err, () => this.heartbeat(taken));
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
    const all = [...this.topics.keys()].map((topic) => ({ topic }));
    try {
      for (;;) {
        const session = this.driver.session({
          database: this.database,
          defaultAccessMode: neo4j.session.WRITE,
        });
        try {
          const result = await session.executeWrite(work);
          result.committedAt = Date.now();
          return result;
        } catch (err) {
          const e = classifyNeo4jError(err);
          if (!(e instanceof GraphUnavailableError)) throw e;
          this.counters.graphRetries += 1;
          if (!paused) {
            paused = true;
            this.counters.waitingForGraph = true;
            this.consumer?.pause(all);
            this.log.warn(`Neo4j unavailable, consumption paused: ${e.message}`);
            this.emit('graphUnavailable', e);
          }
          if (!this.running) throw new IngestStoppedError('stopped while waiting for Neo4j', { cause: e });
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
        this.consumer?.resume(all);
        this.log.info('Neo4j reachable again, consumption resumed');
        this.emit('graphAvailable');
      }
    }
  }

  private async deadLetter(
    topic: string,
    partition: number,
    m: KafkaMessage,
    error: unknown,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const record = toDeadLetter({ topic, partition, message: m }, error);
    const { message } = this.codec.message('deadletter', record);
    for (let attempt = 0; ; attempt += 1) {
      try {
        await (this.producer as Producer).send({
          topic: this.deadLetterTopic,
          messages: [message],
          acks: -1,
        });
        break;
      } catch (err) {
        if (!this.running || attempt > 50) throw err;
        await sleep(Math.min(5_000, 200 * 2 ** Math.min(attempt, 5)));
        await heartbeat().catch(() => undefined);
      }
    }
    this.log.warn(`dead-lettered ${topic}/${partition}@${m.offset}: ${record.reason} (${record.detail})`);
    this.emit('deadLetter', record);
  }
}

import { EventEmitter } from 'node:events';
import { Kafka, logLevel, type Admin, type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import neo4j, { type Driver, type ManagedTransaction } from 'neo4j-driver';
import { createLogger, type Logger } from '../common/log';
import {
  Codec,
  DEAD_LETTER_TOPIC,
  toDeadLetter,
  topicConfigEntries,
  TOPICS,
  type CollectorKind,
} from '../contract';
import { createGraphDriver } from '../graph-schema/graph-driver';
import { SchemaMigrator } from '../graph-schema/schema-migrator';
import { connectionUrls } from '../stack/stack-config';
import { BatchProcessor } from './batch-processor';
import type { BatchResult, DecodedMessage } from './decoded-message';
import { GraphWriteError, IngestStoppedError } from './errors';
import { progressId } from './graph-writer';
import type { IngestOptions } from './ingest-options';
import type { IngestStats } from './ingest-stats';
import { MessageDecoder } from './message-decoder';
import { classifyNeo4jError } from './neo4j-errors';
import { toNumber } from './neo4j-params';

const ALL_KINDS: CollectorKind[] = ['host', 'listener', 'process', 'flow', 'heartbeat'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The ingest: a Kafka consumer group that validates collector records, correlates the two ends of
 * each connection and upserts the topology into Neo4j, exactly once in effect: each batch's
 * writes and its progress (`IngestProgress`, per group/topic/partition) commit in one Neo4j
 * transaction, and the consumer resumes from that progress (Kafka's committed offsets are a hint).
 *
 * Events: `batch` (BatchResult) after each commit, `deadLetter` (record) for each rejected
 * message, `graphUnavailable` (Error) when it starts waiting for Neo4j, `graphAvailable` when
 * writes go through again.
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
  private readonly counters: IngestStats = {
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
  }

  /** Counters of this process. */
  stats(): IngestStats {
    return { ...this.counters };
  }

  /** Migrates the graph schema (unless told not to), creates missing topics, joins the group and starts consuming. */
  async start(): Promise<void> {
    if (this.options.migrate ?? true) {
      const r = await new SchemaMigrator(this.driver, { database: this.database }).migrate();
      if (r.applied.length) this.log.info(`graph schema migrated ${r.from} → ${r.to}`);
    }
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
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.log.info(`consuming ${[...this.topics.keys()].join(', ')} as group ${this.groupId}`);
  }

  /** Leaves the group and closes every connection. A batch in flight is abandoned (its transaction never commits). */
  async stop(): Promise<void> {
    this.running = false;
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
      const lag = await this.lag().catch(() => Number.NaN);
      if (lag === 0) return;
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
    const kind = this.topics.get(batch.topic) as CollectorKind;
    const key = { group: this.groupId, topic: batch.topic, partition: batch.partition };
    const valid: DecodedMessage[] = [];
    const rejected: number[] = [];
    for (const m of batch.messages) {
      const outcome = this.decoder.decode(kind, m);
      if (outcome.ok) {
        valid.push(outcome.message);
      } else {
        await this.deadLetter(payload, m, outcome.error);
        rejected.push(Number(m.offset));
      }
    }
    const next = Number(batch.lastOffset()) + 1;
    let results: BatchResult[];
    try {
      results = this.options.oneRecordPerTransaction
        ? await this.applyOneByOne(payload, key, valid, rejected, next)
        : [await this.write(payload, (tx) => this.processor.apply(tx, key, valid, rejected, next))];
    } catch (err) {
      if (!(err instanceof GraphWriteError)) throw err;
      // A record Neo4j refuses: find it by applying the batch record by record, dead-letter it, go on.
      this.log.warn(
        `batch ${batch.topic}/${batch.partition} refused (${err.message}); retrying record by record`,
      );
      results = await this.applyOneByOne(payload, key, valid, rejected, next, true);
    }
    payload.resolveOffset(batch.lastOffset());
    await this.consumer
      ?.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(next) }])
      .catch(() => undefined); // only a hint: Neo4j holds the progress
    for (const r of results) {
      this.counters.batches += 1;
      this.counters.records += r.records;
      this.counters.flows += r.flows;
      this.counters.edgeUpserts += r.edgeUpserts;
      this.counters.deadLetters += r.deadLetters;
      this.emit('batch', r);
    }
  }

  /** One transaction per record (the naive path; also how a refused batch finds its poison record). */
  private async applyOneByOne(
    payload: EachBatchPayload,
    key: { group: string; topic: string; partition: number },
    valid: DecodedMessage[],
    rejected: number[],
    next: number,
    deadLetterRefused = false,
  ): Promise<BatchResult[]> {
    const results: BatchResult[] = [];
    const byOffset = new Map(valid.map((m) => [m.offset, m]));
    const rejectedSet = new Set(rejected);
    const first = Number(payload.batch.firstOffset());
    for (let offset = first; offset < next; offset += 1) {
      const m = byOffset.get(offset);
      const dl = rejectedSet.has(offset) ? [offset] : [];
      try {
        results.push(
          await this.write(payload, (tx) => this.processor.apply(tx, key, m ? [m] : [], dl, offset + 1)),
        );
      } catch (err) {
        if (!(err instanceof GraphWriteError) || !deadLetterRefused || !m) throw err;
        const raw = payload.batch.messages.find((x) => Number(x.offset) === offset);
        if (raw) await this.deadLetter(payload, raw, err);
        results.push(
          await this.write(payload, (tx) => this.processor.apply(tx, key, [], [offset], offset + 1)),
        );
      }
    }
    return results;
  }

  /** Runs a write transaction; while Neo4j is unreachable, pauses the partition and retries with back-off. */
  private async write(
    payload: EachBatchPayload,
    work: (tx: ManagedTransaction) => Promise<BatchResult>,
  ): Promise<BatchResult> {
    const { batch } = payload;
    let backoff = this.options.initialBackoffMs ?? 250;
    let paused = false;
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
          if (!e.retriable) throw e;
          this.counters.graphRetries += 1;
          if (!paused) {
            paused = true;
            this.counters.waitingForGraph = true;
            this.consumer?.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
            this.log.warn(`Neo4j unavailable, ${batch.topic}/${batch.partition} paused: ${e.message}`);
            this.emit('graphUnavailable', e);
          }
          if (!this.running || !payload.isRunning() || payload.isStale())
            throw new IngestStoppedError('stopped while waiting for Neo4j', { cause: e });
          await sleep(backoff);
          backoff = Math.min(this.options.maxBackoffMs ?? 5_000, backoff * 2);
          await payload.heartbeat();
        } finally {
          await session.close().catch(() => undefined);
        }
      }
    } finally {
      if (paused) {
        this.counters.waitingForGraph = false;
        this.consumer?.resume([{ topic: batch.topic, partitions: [batch.partition] }]);
        this.log.info(`Neo4j reachable again, ${batch.topic}/${batch.partition} resumed`);
        this.emit('graphAvailable');
      }
    }
  }

  private async deadLetter(
    payload: EachBatchPayload,
    m: EachBatchPayload['batch']['messages'][number],
    error: unknown,
  ): Promise<void> {
    const record = toDeadLetter(
      { topic: payload.batch.topic, partition: payload.batch.partition, message: m },
      error,
    );
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
        await payload.heartbeat();
      }
    }
    this.log.warn(
      `dead-lettered ${payload.batch.topic}/${payload.batch.partition}@${m.offset}: ${record.reason} (${record.detail})`,
    );
    this.emit('deadLetter', record);
  }
}

import { kafkajsPatches } from '../../patches/kafkajs'; // before kafkajs: see the module
import { EventEmitter } from 'node:events';
import { Kafka, logLevel, type Admin, type Consumer, type EachBatchPayload } from 'kafkajs';
import neo4j, { type Driver } from 'neo4j-driver';
import { createLogger, type Logger } from '../../common/log';
import { Codec, DEAD_LETTER_TOPIC, topicConfigEntries, topicOf, type IngestKind } from '../../contract';
import { createGraphDriver } from '../../graph-schema/graph-driver';
import { SchemaMigrator } from '../../graph-schema/schema-migrator';
import { connectionUrls } from '../../stack/stack-config';
import { kafkaClientConfig, kafkaSettings } from '../../kafka/kafka-config';
import type { FlowRecord } from '../../contract/flow-record';
import { BatchProcessor, type BatchPart } from '../graph/batch-processor';
import { HistoryWriter } from '../history/history-writer';
import { flowKeyOf } from '../correlation/connection-correlator';
import { IngestStoppedError } from '../errors';
import { progressId } from '../graph/progress';
import { DeadLetters } from './dead-letters';
import type { IngestOptions } from './ingest-options';
import type { IngestStats } from './ingest-stats';
import { MessageDecoder } from './message-decoder';
import { toNumber } from '../graph/neo4j-params';
import { TransactionQueue } from './transaction-queue';
import { WriteLoop } from './write-loop';

/** Messages decoded between two yields to the event loop. */
const DECODE_SLICE = 1_000;
const ALL_KINDS: IngestKind[] = [
  'host',
  'listener',
  'process',
  'flow',
  'heartbeat',
  'pod',
  'service',
  'endpointslice',
];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
  readonly topics: ReadonlyMap<string, IngestKind>;
  readonly deadLetterTopic: string;
  private readonly options: IngestOptions;
  private readonly log: Logger;
  private readonly kafka: Kafka;
  private readonly driver: Driver;
  private readonly database: string;
  private readonly codec = new Codec();
  private readonly decoder = new MessageDecoder(this.codec);
  private readonly processor: BatchProcessor;
  private readonly deadLetters: DeadLetters;
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private running = false;
  private readonly queue: TransactionQueue;
  private readonly writer: WriteLoop;

  constructor(options: IngestOptions = {}) {
    super();
    this.options = options;
    this.log = options.logger ?? createLogger('ingest');
    this.processor = new BatchProcessor(new HistoryWriter(options.history));
    this.groupId = options.groupId ?? 'nettopo-ingest';
    const prefix = options.topicPrefix ?? '';
    this.topics = new Map((options.kinds ?? ALL_KINDS).map((k) => [`${prefix}${topicOf(k).topic}`, k]));
    this.deadLetterTopic = `${prefix}${DEAD_LETTER_TOPIC.topic}`;
    this.kafka = new Kafka({
      ...kafkaClientConfig(
        options.kafka ??
          kafkaSettings({ brokers: (options.brokers ?? [connectionUrls().kafkaBroker]).join(',') }, {}),
      ),
      clientId: `nettopo-ingest-${process.pid}`,
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
    this.driver = createGraphDriver(options.neo4j);
    this.database = options.neo4j?.database ?? 'neo4j';
    this.queue = new TransactionQueue(options.maxTransactionRecords ?? 50_000);
    this.deadLetters = new DeadLetters(this.deadLetterTopic, this.codec, this.log, this, () => this.running);
    this.writer = new WriteLoop({
      queue: this.queue,
      processor: this.processor,
      driver: this.driver,
      database: this.database,
      deadLetters: this.deadLetters,
      options,
      log: this.log,
      events: this,
      host: {
        running: () => this.running,
        pauseConsumption: () => this.consumer?.pause(this.allTopics()),
        resumeConsumption: () => this.consumer?.resume(this.allTopics()),
        commitOffsets: (partitions) =>
          void this.consumer
            ?.commitOffsets(
              partitions.map((p) => ({
                topic: p.topic,
                partition: p.partition,
                offset: String(p.nextOffset),
              })),
            )
            .catch(() => undefined),
        restartConsumption: async () => {
          await this.consumer?.stop();
          if (this.running) await this.runConsumer();
        },
        stop: () => this.stop(),
      },
    });
  }

  /** Counters of this process. */
  stats(): IngestStats {
    return this.writer.stats();
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
    await this.processor.history
      .saveSettings(this.driver, this.database, this.log)
      .catch((err: Error) => this.log.warn(`history settings not recorded yet: ${err.message}`));
    // Planning runs on the server while the group is joined and the first batches are fetched and
    // decoded; a transaction meanwhile sends each statement once it is planned (GraphWriter.send).
    void this.warmUp();
    this.admin = this.kafka.admin();
    await this.admin.connect();
    if (this.options.createTopics ?? true) await this.ensureTopics();
    await this.deadLetters.connect(this.kafka);
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
    this.queue.wake();
    await this.consumer?.disconnect().catch(() => undefined);
    await this.deadLetters.disconnect();
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
      if (this.writer.failure) throw this.writer.failure;
      const lag = await this.lag().catch(() => Number.NaN);
      // Also wait for the writer: a transaction Neo4j has committed is counted once it returns.
      if (lag === 0 && this.writer.idle) return;
      if (Date.now() > deadline)
        throw new IngestStoppedError(`ingest still ${lag} messages behind after ${timeoutMs} ms`);
      await sleep(pollMs);
    }
  }

  /** Every topic consumed, as kafkajs's pause and resume take them. */
  private allTopics(): { topic: string }[] {
    return [...this.topics.keys()].map((topic) => ({ topic }));
  }

  private async ensureTopics(): Promise<void> {
    const admin = this.admin as Admin;
    const existing = new Set(await admin.listTopics());
    const wanted = [
      ...[...this.topics].map(([topic, kind]) => ({ topic, spec: topicOf(kind) })),
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
    this.queue.decodeStarted();
    try {
      part = await this.decodeBatch(payload, this.options.oneRecordPerTransaction);
    } finally {
      this.queue.decodeDone();
    }
    if (this.options.oneRecordPerTransaction) {
      await this.writer.applyAlone({ payload, part, size: batch.messages.length });
      payload.resolveOffset(batch.lastOffset());
      return;
    }
    // The batch waits for the writer, which takes everything queued into its next transaction;
    // meanwhile kafkajs fetches (and this decodes) what comes next. Kafka's committed offset only
    // moves once Neo4j has committed (see `WriteLoop.committed`).
    this.queue.push({ payload, part, size: batch.messages.length });
    payload.resolveOffset(batch.lastOffset());
    this.writer.kick();
    while (this.running && this.queue.full) {
      await this.queue.drainedOrAfter(3_000);
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
    const kind = this.topics.get(batch.topic) as IngestKind;
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
        await this.deadLetters.send(batch.topic, batch.partition, m, outcome.error, () =>
          payload.heartbeat(),
        );
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
}

import '../patches/kafkajs'; // before kafkajs: see the module
import {
  type Admin,
  CompressionTypes,
  type ICustomPartitioner,
  Kafka,
  Partitioners,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
import { createLogger } from '../common/log';
import { type CollectorKind, TOPICS, topicConfigEntries } from '../contract';
import { kafkaClientConfig, type KafkaSettings } from './kafka-config';

/** What a {@link KafkaProducer} needs: plain data, so that it can be handed to a worker thread. */
export interface KafkaProducerConfig {
  settings: KafkaSettings;
  prefix: string;
  createTopics: boolean;
  partitions: number;
  replicationFactor: number;
  retentionMs: number;
  compression: 'gzip' | 'none';
}

/** A failed produce call, as plain data (it may cross a thread boundary). */
export interface SendFailure {
  message: string;
  /** kafkajs' own verdict on its error (false: e.g. out-of-order sequence, unknown producer id). */
  retriable: boolean;
  /** The broker refused the batch as too large: nothing of it was written. */
  tooLarge: boolean;
  /** The send was not attempted: an earlier send of the same epoch had failed. */
  skipped: boolean;
}

/** Outcome of one produce call. */
export type SendResult = { ok: true } | ({ ok: false } & SendFailure);

/** One record to produce: key and header values as Buffers (shared between records). */
export interface OutgoingRecord {
  topic: string;
  key: Buffer;
  value: Buffer;
  headers: Record<string, Buffer>;
}

/** kafkajs' `sendBatch` argument for some records, in their order. */
export function topicMessagesOf(records: readonly OutgoingRecord[]): TopicMessages[] {
  const byTopic = new Map<string, TopicMessages>();
  for (const r of records) {
    let tm = byTopic.get(r.topic);
    if (!tm) byTopic.set(r.topic, (tm = { topic: r.topic, messages: [] }));
    tm.messages.push({ key: r.key, value: r.value, headers: r.headers });
  }
  return [...byTopic.values()];
}

const log = createLogger('kafka');

/** Whether an error (or one it wraps) is the broker refusing a batch as too large. */
export function tooLarge(err: unknown): boolean {
  for (
    let e = err as { type?: string; message?: string; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
    if (
      typeof e.message === 'string' &&
      /larger than the (max message size|configured segment size)/.test(e.message)
    )
      return true;
  }
  return false;
}

/**
 * kafkajs' DefaultPartitioner (murmur2 of the key modulo the partition count, as the Java client),
 * remembering each key Buffer's partition: one Buffer is shared per key, so a batch of one host's
 * records hashes its key once instead of once per record.
 */
export const memoizedDefaultPartitioner: ICustomPartitioner = () => {
  const partitioner = Partitioners.DefaultPartitioner();
  const known = new WeakMap<Buffer, { partitions: number; partition: number }>();
  return (args) => {
    const { message, partitionMetadata } = args;
    const key = message.key;
    if ((message.partition !== undefined && message.partition !== null) || !Buffer.isBuffer(key))
      return partitioner(args);
    const hit = known.get(key);
    if (hit?.partitions === partitionMetadata.length) return hit.partition;
    const partition = partitioner(args);
    known.set(key, { partitions: partitionMetadata.length, partition });
    return partition;
  };
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The kafkajs half of the collector's sink: creates the contract topics, holds one idempotent
 * producer (acks from all replicas, retries with back-off inside kafkajs) and sends batches
 * **strictly one after another, in the order they were given**, so that one key's records keep
 * their order. Once a send fails, later sends of the same epoch are not attempted (they would
 * take the failed batch's sequence numbers); the caller puts everything back and continues with
 * the next epoch. Runs in the collector's thread or in a worker thread
 * ({@link KafkaProducerThread}).
 */
export class KafkaProducer {
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private readonly compression: CompressionTypes;
  private chain: Promise<unknown> = Promise.resolve();
  private failedEpoch = -1;

  constructor(private readonly config: KafkaProducerConfig) {
    this.kafka = new Kafka(kafkaClientConfig(config.settings));
    this.compression = config.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  }

  /** Creates missing topics (when configured) and connects a new idempotent producer. */
  connect(): Promise<void> {
    return this.serial(async () => {
      if (this.producer) return;
      try {
        if (this.config.createTopics) await this.ensureTopics();
        this.producer = this.kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          createPartitioner: memoizedDefaultPartitioner,
          retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 },
        });
        await this.producer.connect();
      } catch (err) {
        await this.drop();
        throw err;
      }
    });
  }

  /** Sends one batch after those given before; never throws. */
  send(topicMessages: TopicMessages[], epoch: number): Promise<SendResult> {
    return this.serial(async (): Promise<SendResult> => {
      if (epoch <= this.failedEpoch)
        return {
          ok: false,
          message: 'not sent: an earlier batch failed',
          retriable: true,
          tooLarge: false,
          skipped: true,
        };
      try {
        if (!this.producer) throw new Error('not connected');
        await this.producer.sendBatch({ topicMessages, acks: -1, compression: this.compression });
        return { ok: true };
      } catch (err) {
        this.failedEpoch = epoch;
        const retriable = (err as { retriable?: boolean }).retriable !== false;
        return {
          ok: false,
          message: (err as Error).message,
          retriable,
          tooLarge: tooLarge(err),
          skipped: false,
        };
      }
    });
  }

  /** Disconnects the producer; the next `connect` makes a new one (a new producer id). */
  reset(): Promise<void> {
    return this.serial(() => this.drop());
  }

  private async drop(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    await Promise.race([p?.disconnect().catch(() => undefined), sleep(2000)]);
  }

  private serial<R>(task: () => Promise<R>): Promise<R> {
    const next = this.chain.then(task, task);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async ensureTopics(): Promise<void> {
    const admin: Admin = this.kafka.admin();
    await admin.connect();
    try {
      const { prefix } = this.config;
      const existing = new Set(await admin.listTopics());
      const missing = (Object.keys(TOPICS) as CollectorKind[])
        .map((kind) => TOPICS[kind])
        .filter((spec) => !existing.has(prefix + spec.topic));
      if (missing.length === 0) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: prefix + spec.topic,
          numPartitions: this.config.partitions,
          replicationFactor: this.config.replicationFactor,
          configEntries: [
            ...topicConfigEntries(spec),
            ...(spec.compacted ? [] : [{ name: 'retention.ms', value: String(this.config.retentionMs) }]),
          ],
        })),
      });
      log.info(`created topics ${missing.map((s) => prefix + s.topic).join(', ')}`);
    } finally {
      await admin.disconnect();
    }
  }
}

import { linearGroupingApplied } from './kafkajs-linear-grouping'; // before kafkajs: see the module
import {
  type Admin,
  CompressionTypes,
  Kafka,
  Partitioners,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
import { createLogger } from '../common/log';
import { Codec, type CollectorKind, type ContractRecords, TOPICS, topicConfigEntries } from '../contract';
import { BoundedBuffer } from './bounded-buffer';
import { KafkaUnavailableError } from './errors';
import { describeKafkaSettings, kafkaClientConfig, type KafkaSettings } from './kafka-config';
import type { RecordSink } from './record-sink';

/** Options of {@link KafkaSink}. */
export interface KafkaSinkOptions {
  /** Brokers, SASL, TLS: see {@link kafkaSettings}. */
  settings: KafkaSettings;
  /**
   * Prepended to every contract topic name (tests use a unique prefix; `''` in production).
   * @defaultValue `''`
   */
  topicPrefix?: string;
  /**
   * Create missing topics at the first connection.
   * @defaultValue `true`
   */
  createTopics?: boolean;
  /**
   * Partitions of topics this sink creates.
   * @defaultValue `3`
   */
  partitions?: number;
  /**
   * Replication factor of topics this sink creates; -1 takes the broker's default.
   * @defaultValue `-1`
   */
  replicationFactor?: number;
  /**
   * `retention.ms` of the time-retained topics it creates (flows, heartbeats); compacted topics
   * keep the newest record of each key regardless.
   * @defaultValue 7 days
   */
  retentionMs?: number;
  /**
   * Memory cap of records waiting for Kafka, bytes (encoded size plus a per-record overhead).
   * Past it, the oldest waiting records are dropped and counted.
   * @defaultValue 64 MiB
   */
  bufferBytes?: number;
  /**
   * Most records in one produce request.
   * @defaultValue `5000`
   */
  batchSize?: number;
  /**
   * Most bytes (values and keys, before compression) in one produce request. A partition's batch
   * must stay under the broker's `max.message.bytes` (1 MiB by default) after compression; a
   * batch the broker refuses as too large is split in halves and sent again.
   * @defaultValue 900 KiB uncompressed, 3 MiB with gzip
   */
  maxRequestBytes?: number;
  /**
   * How long a first record waits for others before a request is sent, ms.
   * @defaultValue `20`
   */
  lingerMs?: number;
  /**
   * Batch compression. kafkajs has only gzip built in (snappy, lz4, zstd need codec packages).
   * @defaultValue `'gzip'`
   */
  compression?: 'gzip' | 'none';
  /** @defaultValue `new Codec()` */
  codec?: Codec;
}

/** Counters of a {@link KafkaSink}. */
export interface KafkaSinkStats {
  /** Records handed to `send`. */
  submitted: number;
  /** Records the broker acknowledged. */
  produced: number;
  /** Records dropped because the buffer was full. */
  dropped: number;
  /**
   * Of those, records whose delivery had been attempted and reported failed: the broker may have
   * written them anyway (an acknowledgement lost), so they are dropped but possibly on Kafka.
   */
  droppedInDoubt: number;
  /** Records dropped because they could not be encoded (a bug, logged). */
  invalid: number;
  /** Records waiting or in flight. */
  buffered: number;
  bufferedBytes: number;
  /** Produce requests that failed (each retried). */
  sendFailures: number;
}

interface Pending {
  topic: string;
  /** The key as bytes: one shared Buffer per distinct key (kafkajs would encode a string per message). */
  key: Buffer;
  value: Buffer;
  /** Shared per schema, values as Buffers (kafkajs would encode the strings per message). */
  headers: Record<string, Buffer>;
  size: number;
  /** A send of it was attempted and reported failed. */
  attempted?: boolean;
}

/** Charged per record besides its bytes: the message object and its header strings. */
const RECORD_OVERHEAD = 160;

const log = createLogger('kafka');

/** Distinct keys/header sets kept as Buffers (hosts' ids, schema names); past it the cache restarts. */
const MAX_CACHED = 10000;

/** Whether an error (or one it wraps) is the broker refusing a batch as too large. */
function tooLarge(err: unknown): boolean {
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
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The collector's Kafka producer. `send` encodes a record (Avro, `nettopo-schema` header, the
 * topic's key) into a bounded in-memory buffer and returns at once; one loop drains the buffer in
 * batches through kafkajs' idempotent producer (acks from all replicas, batch compression, retries
 * with back-off inside kafkajs, then again here with the batch kept in the buffer). While Kafka is
 * unreachable the buffer fills up to its cap, then drops its oldest records, counting them
 * (`dropped`, logged at most every 10 s, and reported by the heartbeat).
 */
export class KafkaSink implements RecordSink {
  private readonly kafka: Kafka;
  private readonly codec: Codec;
  private readonly buffer: BoundedBuffer<Pending>;
  private readonly prefix: string;
  private readonly options: Required<
    Pick<
      KafkaSinkOptions,
      | 'createTopics'
      | 'partitions'
      | 'replicationFactor'
      | 'retentionMs'
      | 'batchSize'
      | 'lingerMs'
      | 'maxRequestBytes'
    >
  >;
  private readonly compression: CompressionTypes;
  private producer: Producer | undefined;
  private connected = false;
  private running = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private counters = { submitted: 0, produced: 0, invalid: 0, sendFailures: 0 };
  private droppedInDoubt = 0;
  private lastDropLog = 0;
  /** Current request size limit: halved when the broker refuses a batch as too large. */
  private requestBytes = 0;
  private droppedAtLastLog = 0;
  private readonly keyBytes = new Map<string, Buffer>();
  private readonly headerBytes = new Map<string, Record<string, Buffer>>();

  constructor(options: KafkaSinkOptions) {
    this.kafka = new Kafka(kafkaClientConfig(options.settings));
    this.codec = options.codec ?? new Codec();
    this.prefix = options.topicPrefix ?? '';
    this.options = {
      createTopics: options.createTopics ?? true,
      partitions: options.partitions ?? 3,
      replicationFactor: options.replicationFactor ?? -1,
      retentionMs: options.retentionMs ?? 7 * 24 * 3600 * 1000,
      batchSize: options.batchSize ?? 5000,
      lingerMs: options.lingerMs ?? 20,
      maxRequestBytes:
        options.maxRequestBytes ?? ((options.compression ?? 'gzip') === 'gzip' ? 3 * 1048576 : 900 * 1024),
    };
    this.requestBytes = this.options.maxRequestBytes;
    if (!linearGroupingApplied)
      log.debug('kafkajs was loaded before kafkajs-linear-grouping: large batches cost O(n²) to group');
    this.compression =
      (options.compression ?? 'gzip') === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    this.buffer = new BoundedBuffer<Pending>({
      maxBytes: options.bufferBytes ?? 64 * 1024 * 1024,
      sizeOf: (p) => p.size,
      onDrop: (p) => {
        if (p.attempted) this.droppedInDoubt++;
      },
    });
    log.info(
      `${describeKafkaSettings(options.settings)}; buffer cap ${(this.buffer.maxBytes / 1048576).toFixed(1)} MiB` +
        `${this.prefix ? `; topic prefix ${this.prefix}` : ''}`,
    );
  }

  /** The topic a kind goes to, with the prefix. */
  topicOf(kind: CollectorKind): string {
    return `${this.prefix}${TOPICS[kind].topic}`;
  }

  get dropped(): number {
    return this.buffer.dropped;
  }

  stats(): KafkaSinkStats {
    return {
      ...this.counters,
      dropped: this.buffer.dropped,
      droppedInDoubt: this.droppedInDoubt,
      buffered: this.buffer.length + this.buffer.inFlightCount,
      bufferedBytes: this.buffer.bytes,
    };
  }

  /** Starts the delivery loop. Does not wait for Kafka: records are buffered until it answers. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  send<K extends CollectorKind>(kind: K, record: ContractRecords[K]): void {
    this.counters.submitted++;
    let encoded;
    try {
      encoded = this.codec.message(kind, record);
    } catch (err) {
      this.counters.invalid++;
      log.error(`${kind} record not sent: ${(err as Error).message}`);
      return;
    }
    const { key, value, headers } = encoded.message;
    const pending: Pending = {
      topic: this.prefix + encoded.topic,
      key: this.bytesOfKey(key),
      value,
      headers: this.bytesOfHeaders(headers),
      size: value.length + key.length + RECORD_OVERHEAD,
    };
    if (this.buffer.push(pending) > 0) this.reportDrops();
    this.wake?.();
  }

  private bytesOfKey(key: string): Buffer {
    let bytes = this.keyBytes.get(key);
    if (!bytes) {
      if (this.keyBytes.size >= MAX_CACHED) this.keyBytes.clear();
      this.keyBytes.set(key, (bytes = Buffer.from(key)));
    }
    return bytes;
  }

  private bytesOfHeaders(headers: Record<string, string>): Record<string, Buffer> {
    let id = '';
    for (const name in headers) id += `${name}\0${headers[name]}\0`;
    let bytes = this.headerBytes.get(id);
    if (!bytes) {
      if (this.headerBytes.size >= MAX_CACHED) this.headerBytes.clear();
      bytes = {};
      for (const name in headers) bytes[name] = Buffer.from(headers[name] as string);
      this.headerBytes.set(id, bytes);
    }
    return bytes;
  }

  /**
   * Waits until every buffered record is delivered or `timeoutMs` passes; then disconnects.
   * Returns how many records were left undelivered.
   */
  async stop(timeoutMs = 10000): Promise<number> {
    this.stopping = true;
    this.wake?.();
    const deadline = sleep(timeoutMs).then(() => 'timeout' as const);
    const outcome = await Promise.race([this.loop?.then(() => 'done' as const) ?? 'done', deadline]);
    this.running = false;
    const left = this.buffer.length + this.buffer.inFlightCount;
    if (outcome === 'timeout') log.warn(`stopping with ${left} records undelivered (Kafka did not answer)`);
    await Promise.race([this.producer?.disconnect().catch(() => undefined), sleep(2000)]);
    this.reportDrops(true);
    return left;
  }

  private async run(): Promise<void> {
    let backoff = 0;
    while (this.running) {
      if (this.buffer.length === 0) {
        if (this.stopping) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 1000).unref();
        });
        this.wake = undefined;
        continue;
      }
      try {
        if (!this.connected) await this.connect();
        if (this.buffer.length < this.options.batchSize && !this.stopping && this.options.lingerMs > 0)
          await sleep(this.options.lingerMs);
        const batch = this.buffer.take(this.options.batchSize, this.requestBytes);
        const sentAt = Date.now();
        try {
          await this.deliver(batch);
        } catch (err) {
          for (const p of batch) p.attempted = true;
          this.buffer.requeue();
          throw err;
        }
        this.buffer.ack();
        this.counters.produced += batch.length;
        const waited = Date.now() - sentAt;
        if (backoff > 0 || waited > 5000)
          log.info(
            `delivering again (after ${(waited / 1000).toFixed(1)} s in kafkajs' retries); ${this.buffer.length} records waiting`,
          );
        backoff = 0;
      } catch (err) {
        this.counters.sendFailures++;
        if (tooLarge(err) && this.requestBytes > 16 * 1024) {
          this.requestBytes = Math.floor(this.requestBytes / 2);
          log.warn(`broker refused a batch as too large; requests now at most ${this.requestBytes} bytes`);
          continue;
        }
        backoff = Math.min(backoff === 0 ? 250 : backoff * 2, 5000);
        const e =
          err instanceof KafkaUnavailableError ? err : new KafkaUnavailableError(String(err), { cause: err });
        log.warn(
          `${e.message}; ${this.buffer.length} records buffered (${(this.buffer.bytes / 1048576).toFixed(1)} MiB), retrying in ${backoff} ms`,
        );
        if (this.connected && !(err as { retriable?: boolean }).retriable) await this.reset();
        await sleep(backoff);
      }
    }
  }

  private async deliver(batch: Pending[]): Promise<void> {
    const byTopic = new Map<string, TopicMessages>();
    for (const p of batch) {
      let tm = byTopic.get(p.topic);
      if (!tm) byTopic.set(p.topic, (tm = { topic: p.topic, messages: [] }));
      tm.messages.push({ key: p.key, value: p.value, headers: p.headers });
    }
    try {
      await (this.producer as Producer).sendBatch({
        topicMessages: [...byTopic.values()],
        acks: -1,
        compression: this.compression,
      });
    } catch (err) {
      throw new KafkaUnavailableError(`produce failed: ${(err as Error).message}`, { cause: err });
    }
  }

  private async connect(): Promise<void> {
    try {
      if (this.options.createTopics) await this.ensureTopics();
      this.producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 },
      });
      await this.producer.connect();
      this.connected = true;
      log.info('connected');
    } catch (err) {
      await this.reset();
      throw new KafkaUnavailableError(`cannot connect: ${(err as Error).message}`, { cause: err });
    }
  }

  private async reset(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    this.connected = false;
    await Promise.race([p?.disconnect().catch(() => undefined), sleep(2000)]);
  }

  private async ensureTopics(): Promise<void> {
    const admin: Admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = (Object.keys(TOPICS) as CollectorKind[])
        .map((kind) => TOPICS[kind])
        .filter((spec) => !existing.has(this.prefix + spec.topic));
      if (missing.length === 0) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: this.prefix + spec.topic,
          numPartitions: this.options.partitions,
          replicationFactor: this.options.replicationFactor,
          configEntries: [
            ...topicConfigEntries(spec),
            ...(spec.compacted ? [] : [{ name: 'retention.ms', value: String(this.options.retentionMs) }]),
          ],
        })),
      });
      log.info(`created topics ${missing.map((s) => this.prefix + s.topic).join(', ')}`);
    } finally {
      await admin.disconnect();
    }
  }

  private reportDrops(final = false): void {
    const now = Date.now();
    const dropped = this.buffer.dropped;
    if (dropped === this.droppedAtLastLog) return;
    if (!final && now - this.lastDropLog < 10000) return;
    log.warn(
      `Kafka buffer full (cap ${(this.buffer.maxBytes / 1048576).toFixed(1)} MiB): ${dropped} records dropped since start (${dropped - this.droppedAtLastLog} since last report)`,
    );
    this.lastDropLog = now;
    this.droppedAtLastLog = dropped;
  }
}

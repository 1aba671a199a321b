import { createLogger } from '../common/log';
import { within } from '../common/within';
import { Codec, type CollectorKind, type ContractRecords, TOPICS } from '../contract';
import { BoundedBuffer } from './bounded-buffer';
import { KafkaUnavailableError } from './errors';
import { describeKafkaSettings, type KafkaSettings } from './kafka-config';
import {
  KafkaProducer,
  type KafkaProducerConfig,
  type OutgoingRecord,
  type SendResult,
  topicMessagesOf,
} from './kafka-producer';
import { KafkaProducerThread } from './kafka-producer-thread';
import { kafkajsPatches } from '../patches/kafkajs';
import type { RecordSink } from '../contract/record-sink';

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
   * Largest record sent, bytes (value, key and headers). A larger one is refused before it is
   * buffered: counted (`refused`), logged once per topic, dropped. Keep it under the broker's
   * `message.max.bytes` (1,048,588 by default) and the topics' `max.message.bytes`.
   * @defaultValue `1000000`
   */
  maxRecordBytes?: number;
  /**
   * How long a first record waits for others before a request is sent, ms.
   * @defaultValue `20`
   */
  lingerMs?: number;
  /**
   * Batch compression. kafkajs has only gzip built in (snappy, lz4, zstd need codec packages).
   * Gzip runs on libuv's thread pool: it measured as fast as `'none'` in
   * bench/transport-throughput.ts, with a third of the bytes on the wire.
   * @defaultValue `'gzip'`
   */
  compression?: 'gzip' | 'none';
  /** @defaultValue `new Codec()` */
  codec?: Codec;
  /**
   * Run kafkajs (record encoding, checksums, socket I/O) in a worker thread, so that it uses
   * another core than the collector's thread, which encodes Avro and keeps the buffer.
   * @defaultValue `true`
   */
  producerThread?: boolean;
  /**
   * Most produce requests handed to the producer at once. They are still sent one after
   * another (one key's records stay in order), but the next is ready when the previous is
   * acknowledged, whatever the collector's thread is busy with.
   * @defaultValue `3`
   */
  maxBatchesInFlight?: number;
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
  /**
   * Records never sent because they are too large: over `maxRecordBytes`, or refused by the
   * broker on their own (its `max.message.bytes`). Each kind's first is logged.
   */
  refused: number;
  /** Records waiting or in flight. */
  buffered: number;
  bufferedBytes: number;
  /** Produce requests that failed (each retried). */
  sendFailures: number;
}

/** What a sink did not deliver: the counters that make a collector's exit status non-zero. */
export interface UndeliveredRecords {
  /** Dropped for room (buffer full). */
  dropped: number;
  refused: number;
  invalid: number;
  /** Still buffered when the sink stopped. */
  leftAtExit: number;
  /** All of them. */
  total: number;
}

/**
 * A record waiting: key and header values as Buffers shared between records (one per distinct
 * key, one set per schema), so that neither thread encodes the same strings per record.
 */
interface Pending extends OutgoingRecord {
  size: number;
  /** A send of it was attempted and reported failed. */
  attempted?: boolean;
}

/** Charged per record besides its bytes: the message object and its header strings. */
const RECORD_OVERHEAD = 160;

const log = createLogger('kafka');

/** Distinct keys kept as Buffers (hosts' ids); past it the cache restarts. */
const MAX_CACHED = 10000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A cap on a wait, which does not keep the process alive by itself. */
const cap = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/** The producer as the sink uses it, in this thread or in a worker thread. */
interface ProducerChannel {
  connect(): Promise<void>;
  send(records: readonly Pending[], epoch: number): Promise<SendResult>;
  reset(): Promise<void>;
  /** Disconnects; `now`: without waiting for what kafkajs is doing (delivery has given up). */
  close(now?: boolean): Promise<void>;
}

function inThread(config: KafkaProducerConfig): ProducerChannel {
  const producer = new KafkaProducer(config);
  return {
    connect: () => producer.connect(),
    send: (records, epoch) => producer.send(topicMessagesOf(records), epoch),
    reset: () => producer.reset(),
    close: (now) => Promise.race([producer.reset(), cap(now ? 1000 : 5000)]),
  };
}

interface InFlight {
  batch: Pending[];
  result: Promise<SendResult>;
  sentAt: number;
}

/**
 * The collector's Kafka producer. `send` encodes a record (Avro, `nettopo-schema` header, the
 * topic's key) into a bounded in-memory buffer and returns at once; one loop drains the buffer in
 * batches through kafkajs' idempotent producer (acks from all replicas, batch compression, retries
 * with back-off inside kafkajs, then again here with the batch kept in the buffer). kafkajs runs
 * in a worker thread by default ({@link KafkaProducerThread}); up to `maxBatchesInFlight` batches
 * are handed to it, which sends them one after another. While Kafka is unreachable the buffer
 * fills up to its cap, then drops its oldest records, counting them (`dropped`, logged at most
 * every 10 s, and reported by the heartbeat).
 *
 * Idempotence and retries: kafkajs numbers each partition's records (producer id + sequence) so
 * that the broker discards a batch it already wrote. When a send fails here, the broker may still
 * have written it (the acknowledgement lost); the next send then repeats exactly that batch (same
 * records, same sequence numbers: a duplicate the broker recognises), or, when the batch cannot be
 * repeated (records of it dropped for room, a new batch limit) or kafkajs reports a
 * non-retriable error (an out-of-order sequence, an unknown producer id), the sink starts a new
 * producer (new producer id, sequences from 0) first — sending different records with the old
 * numbering would be refused as out of order, forever.
 */
export class KafkaSink implements RecordSink {
  private readonly codec: Codec;
  private readonly buffer: BoundedBuffer<Pending>;
  private readonly prefix: string;
  private readonly options: Required<
    Pick<
      KafkaSinkOptions,
      'batchSize' | 'lingerMs' | 'maxRequestBytes' | 'maxBatchesInFlight' | 'maxRecordBytes'
    >
  >;
  private readonly producer: ProducerChannel;
  private connected = false;
  private running = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private wakeFromPause: (() => void) | undefined;
  private counters = { submitted: 0, produced: 0, invalid: 0, refused: 0, sendFailures: 0 };
  /** Topics whose first refused record was logged; later ones are counted and reported with the drops. */
  private readonly refusalLogged = new Set<string>();
  private refusedAtLastLog = 0;
  /** Records of one request at most: `batchSize`, less while a refused request is being split. */
  private recordLimit = 0;
  /**
   * Set while the records of a request the broker refused as too large are sent in ever smaller
   * requests: how many of them are still to go, and the request size before the refusal.
   */
  private isolation: { remaining: number; requestBytes: number } | undefined;
  private left = 0;
  private droppedInDoubt = 0;
  private lastDropLog = 0;
  /** Current request size limit: halved when the broker refuses a batch as too large. */
  private requestBytes = 0;
  private droppedAtLastLog = 0;
  private readonly keyBytes = new Map<string, Buffer>();
  private readonly headerBytes = new WeakMap<object, Record<string, Buffer>>();
  /** Bytes of each header set (names and values), as they go on the wire. */
  private readonly headerSizes = new WeakMap<Record<string, Buffer>, number>();
  private inFlight: InFlight[] = [];
  /** Sends of an epoch stop at its first failure; the next epoch starts with the records put back. */
  private epoch = 0;
  /** The failed batch the broker may have written, to be repeated exactly or not with this producer. */
  private uncertain: { first: Pending; length: number } | undefined;

  constructor(options: KafkaSinkOptions) {
    this.codec = options.codec ?? new Codec();
    this.prefix = options.topicPrefix ?? '';
    const compression = options.compression ?? 'gzip';
    this.options = {
      batchSize: options.batchSize ?? 5000,
      lingerMs: options.lingerMs ?? 20,
      maxRequestBytes: options.maxRequestBytes ?? (compression === 'gzip' ? 3 * 1048576 : 900 * 1024),
      maxBatchesInFlight: Math.max(1, options.maxBatchesInFlight ?? 3),
      maxRecordBytes: options.maxRecordBytes ?? 1_000_000,
    };
    this.requestBytes = this.options.maxRequestBytes;
    this.recordLimit = this.options.batchSize;
    const config: KafkaProducerConfig = {
      settings: options.settings,
      prefix: this.prefix,
      createTopics: options.createTopics ?? true,
      partitions: options.partitions ?? 3,
      replicationFactor: options.replicationFactor ?? -1,
      retentionMs: options.retentionMs ?? 7 * 24 * 3600 * 1000,
      compression,
    };
    this.producer = (options.producerThread ?? true) ? new KafkaProducerThread(config) : inThread(config);
    if (!kafkajsPatches.linearGrouping || !kafkajsPatches.fastRecord)
      log.debug(
        `kafkajs was loaded before its patches (${JSON.stringify(kafkajsPatches)}): producing costs more CPU`,
      );
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
    const headerBytes = this.bytesOfHeaders(headers);
    const pending: Pending = {
      topic: this.prefix + encoded.topic,
      key: this.bytesOfKey(key),
      value,
      headers: headerBytes,
      size: value.length + key.length + RECORD_OVERHEAD,
    };
    const bytes = value.length + pending.key.length + (this.headerSizes.get(headerBytes) ?? 0);
    if (bytes > this.options.maxRecordBytes) {
      this.refuse(pending, `${bytes} bytes, over the ${this.options.maxRecordBytes}-byte record limit`);
      this.reportDrops();
      return;
    }
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

  /** The Codec shares one headers object per schema: its Buffers are made once. */
  private bytesOfHeaders(headers: Readonly<Record<string, string>>): Record<string, Buffer> {
    let bytes = this.headerBytes.get(headers);
    if (!bytes) {
      bytes = {};
      let size = 0;
      for (const name in headers) {
        bytes[name] = Buffer.from(headers[name] as string);
        size += Buffer.byteLength(name) + bytes[name].length;
      }
      this.headerBytes.set(headers, bytes);
      this.headerSizes.set(bytes, size);
    }
    return bytes;
  }

  /** What was not delivered (after {@link stop}, including what was still buffered). */
  undelivered(): UndeliveredRecords {
    const { invalid, refused } = this.counters;
    const dropped = this.buffer.dropped;
    const leftAtExit = this.running ? 0 : this.left;
    return { dropped, refused, invalid, leftAtExit, total: dropped + refused + invalid + leftAtExit };
  }

  /**
   * Waits until every buffered record is delivered or `timeoutMs` passes; then disconnects.
   * Returns how many records were left undelivered.
   */
  async stop(timeoutMs = 10000): Promise<number> {
    // Until stop returns, this timer keeps the process alive (the waits below are capped by unref'd timers or
    // cleared ones); afterwards nothing of the sink does, so a stopped collector exits at once.
    const alive = setInterval(() => undefined, 60_000);
    try {
      this.stopping = true;
      this.wake?.();
      const outcome = await within(
        this.loop?.then(() => 'done' as const) ?? Promise.resolve('done' as const),
        timeoutMs,
        'timeout' as const,
      );
      this.running = false;
      const left = this.buffer.length + this.buffer.inFlightCount;
      this.left = left;
      if (outcome === 'timeout') log.warn(`stopping with ${left} records undelivered (Kafka did not answer)`);
      this.wakeFromPause?.();
      await Promise.race([this.producer.close(outcome === 'timeout').catch(() => undefined), cap(5000)]);
      this.reportDrops(true);
      return left;
    } finally {
      clearInterval(alive);
    }
  }

  /** Waits `ms` (a back-off), or less when the sink stops. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeFromPause = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => (this.wakeFromPause = undefined));
  }

  /** Resolves at the next `send` (or after `ms`). */
  private nextRecord(ms: number): Promise<undefined> {
    return new Promise<undefined>((resolve) => {
      this.wake = () => resolve(undefined);
      setTimeout(() => resolve(undefined), ms).unref();
    });
  }

  private async run(): Promise<void> {
    let backoff = 0;
    while (this.running) {
      if (this.buffer.length === 0 && this.inFlight.length === 0) {
        if (this.stopping) return;
        await this.nextRecord(1000);
        this.wake = undefined;
        continue;
      }
      try {
        if (!this.connected) await this.connect();
        await this.post();
        if (this.inFlight.length === 0) continue;
        const oldest = this.inFlight[0] as InFlight;
        // Wait for the oldest send; or, with room for another batch, for records to fill one.
        const outcome =
          this.inFlight.length < this.options.maxBatchesInFlight && !this.stopping
            ? await Promise.race([oldest.result, this.nextRecord(1000)])
            : await oldest.result;
        this.wake = undefined;
        if (outcome === undefined) continue;
        if (!outcome.ok) throw await this.failed(outcome);
        this.inFlight.shift();
        this.buffer.ack();
        this.counters.produced += oldest.batch.length;
        this.isolated(oldest.batch.length);
        const waited = Date.now() - oldest.sentAt;
        if (backoff > 0 || waited > 5000)
          log.info(
            `delivering again (after ${(waited / 1000).toFixed(1)} s in kafkajs' retries); ${this.buffer.length} records waiting`,
          );
        backoff = 0;
      } catch (err) {
        if (!this.running) return; // stopped meanwhile: what is left is counted by stop()
        this.counters.sendFailures++;
        const refusal = err as { tooLarge?: boolean; records?: number };
        if (refusal.tooLarge && refusal.records !== undefined && refusal.records > 0) {
          this.tooLarge(refusal.records, (err as Error).message);
          continue;
        }
        backoff = Math.min(backoff === 0 ? 250 : backoff * 2, 5000);
        const e =
          err instanceof KafkaUnavailableError ? err : new KafkaUnavailableError(String(err), { cause: err });
        log.warn(
          `${e.message}; ${this.buffer.length} records buffered (${(this.buffer.bytes / 1048576).toFixed(1)} MiB), retrying in ${backoff} ms`,
        );
        if (this.connected && (err as { kafkajsRetriable?: boolean }).kafkajsRetriable === false)
          await this.reset();
        await this.pause(backoff);
      }
    }
  }

  /** Hands batches to the producer while there is room: full ones, or what there is when idle. */
  private async post(): Promise<void> {
    const { batchSize, lingerMs, maxBatchesInFlight } = this.options;
    while (this.inFlight.length < maxBatchesInFlight && this.buffer.length > 0) {
      if (this.inFlight.length > 0 && this.buffer.length < batchSize && !this.stopping) return;
      if (this.inFlight.length === 0 && this.buffer.length < batchSize && !this.stopping && lingerMs > 0)
        await sleep(lingerMs);
      // After a failure, the same batch again, if its records are all still here.
      const limit = Math.min(batchSize, this.recordLimit);
      const batch = this.buffer.take(
        this.uncertain && this.uncertain.length > 0 ? Math.min(limit, this.uncertain.length) : limit,
        this.requestBytes,
      );
      if (this.uncertain) {
        const same = batch[0] === this.uncertain.first && batch.length === this.uncertain.length;
        this.uncertain = undefined;
        if (!same) {
          log.info('the batch of a failed send cannot be repeated as it was: starting a new producer');
          try {
            await this.reset();
            await this.connect();
          } catch (err) {
            this.buffer.requeue();
            throw err;
          }
        }
      }
      this.inFlight.push({ batch, result: this.producer.send(batch, this.epoch), sentAt: Date.now() });
    }
  }

  /**
   * The oldest send failed: the later ones of its epoch were skipped (or failed too). Puts every
   * batch in flight back, in order, and returns the error to handle.
   */
  private async failed(first: SendResult & { ok: false }): Promise<Error> {
    const outcomes = await Promise.all(this.inFlight.map((f) => f.result));
    const records = this.inFlight[0]?.batch.length ?? 0;
    let attempted = 0;
    this.inFlight.forEach((f, i) => {
      const o = outcomes[i] as SendResult;
      if (o.ok || o.skipped) return; // ok cannot follow a failure of the same epoch
      attempted++;
      // One record refused: nothing written. Several: the request's other partitions may have
      // been written (kafkajs reports the first partition's error for the whole request).
      if (o.tooLarge && f.batch.length === 1) return;
      for (const p of f.batch) p.attempted = true;
      if (attempted === 1) this.uncertain = { first: f.batch[0] as Pending, length: f.batch.length };
      else this.uncertain = { first: f.batch[0] as Pending, length: -1 }; // two in doubt: never the same
    });
    this.inFlight = [];
    this.buffer.requeue();
    this.epoch++;
    const err = new KafkaUnavailableError(`produce failed: ${first.message}`);
    return Object.assign(err, { tooLarge: first.tooLarge, records, kafkajsRetriable: first.retriable });
  }

  /**
   * The broker refused a request of `records` records as too large. One record: it is refused
   * (counted, logged, dropped) and the stream goes on. More: they go again in requests of half
   * as many records (and half the bytes), until each has been delivered or refused on its own.
   */
  private tooLarge(records: number, message: string): void {
    if (records === 1) {
      const record = this.buffer.removeFirst();
      if (record) this.refuse(record, `refused by the broker (${message})`);
      if (this.isolation) {
        // The record was too large, not the requests: back to their size before.
        this.requestBytes = this.isolation.requestBytes;
        this.isolation = undefined;
        this.recordLimit = this.options.batchSize;
      }
      return;
    }
    this.isolation ??= { remaining: records, requestBytes: this.requestBytes };
    this.recordLimit = Math.ceil(records / 2);
    this.requestBytes = Math.max(16 * 1024, Math.floor(this.requestBytes / 2));
    log.warn(
      `broker refused a request of ${records} records as too large; sending them ${this.recordLimit} at a time (at most ${this.requestBytes} bytes)`,
    );
  }

  /** `records` were delivered: the end of an isolation once all of the refused request's went. */
  private isolated(records: number): void {
    if (!this.isolation) return;
    this.isolation.remaining -= records;
    if (this.isolation.remaining > 0) return;
    // Every record went through in smaller requests: the request size was too large; keep it.
    this.isolation = undefined;
    this.recordLimit = this.options.batchSize;
  }

  /** A record that is never sent: counted, and the first of its topic logged. */
  private refuse(record: Pending, why: string): void {
    this.counters.refused++;
    if (this.refusalLogged.has(record.topic)) return;
    this.refusalLogged.add(record.topic);
    log.warn(
      `a ${record.topic} record (key ${record.key.toString()}, ${record.value.length} bytes) is not sent: ${why}; further ones of this topic are counted (refused)`,
    );
  }

  private async connect(): Promise<void> {
    try {
      await this.producer.connect();
      this.connected = true;
      log.info('connected');
    } catch (err) {
      await this.reset();
      throw new KafkaUnavailableError(`cannot connect: ${(err as Error).message}`, { cause: err });
    }
  }

  private async reset(): Promise<void> {
    this.connected = false;
    this.uncertain = undefined;
    await Promise.race([this.producer.reset().catch(() => undefined), cap(3000)]);
  }

  private reportDrops(final = false): void {
    const now = Date.now();
    const dropped = this.buffer.dropped;
    const { refused } = this.counters;
    if (dropped === this.droppedAtLastLog && refused === this.refusedAtLastLog) return;
    if (!final && now - this.lastDropLog < 10000) return;
    if (dropped !== this.droppedAtLastLog)
      log.warn(
        `Kafka buffer full (cap ${(this.buffer.maxBytes / 1048576).toFixed(1)} MiB): ${dropped} records dropped since start (${dropped - this.droppedAtLastLog} since last report)`,
      );
    if (refused !== this.refusedAtLastLog)
      log.warn(
        `${refused} records refused as too large since start (${refused - this.refusedAtLastLog} since last report)`,
      );
    this.lastDropLog = now;
    this.droppedAtLastLog = dropped;
    this.refusedAtLastLog = refused;
  }
}

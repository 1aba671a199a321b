import '../patches/kafkajs'; // before kafkajs: see the module
import {
  CompressionTypes,
  Kafka,
  Partitioners,
  type Message,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
import type { Logger } from '../common/log';
import {
  CLUSTER_TOPICS,
  Codec,
  topicConfigEntries,
  type ClusterKind,
  type ContractRecords,
} from '../contract';
import { EventConsumer } from '../events/event-consumer';
import { kafkaClientConfig, type KafkaSettings } from '../kafka/kafka-config';

/** A cluster record, whatever its kind. */
export type ClusterRecord = ContractRecords[ClusterKind];

/** Options of a {@link ClusterPublisher}. */
export interface ClusterPublisherOptions {
  settings: KafkaSettings;
  /** Prepended to the topic names. @defaultValue `''` */
  topicPrefix?: string;
  /** Partitions of the topics it creates. @defaultValue 3 */
  partitions?: number;
  log: Logger;
}

/** One key's next message(s): its newest record, and a tombstone after it when the object is gone. */
interface Pending {
  kind: ClusterKind;
  key: string;
  record: ClusterRecord;
  tombstone: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Publishes the cluster's state to its compacted topics, keyed by identity. What waits to be sent
 * is kept per key, newest state only (a key updated twice before a send goes out once), so that
 * while Kafka is unreachable it holds at most one record per object of the cluster and nothing is
 * lost: it retries until the broker acknowledged. A gone object's last record is followed by a
 * tombstone for its key, so the compacted topic forgets it in time.
 */
export class ClusterPublisher {
  private readonly kafka: Kafka;
  private readonly codec = new Codec();
  private readonly prefix: string;
  private producer: Producer | undefined;
  private readonly pending = new Map<string, Pending>();
  private sending: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private failingSince: number | undefined;
  readonly stats = { records: 0, tombstones: 0, sends: 0, failedSends: 0 };

  constructor(private readonly options: ClusterPublisherOptions) {
    this.kafka = new Kafka(kafkaClientConfig(options.settings));
    this.prefix = options.topicPrefix ?? '';
  }

  /** The topic of a kind, with the prefix. */
  topic(kind: ClusterKind): string {
    return `${this.prefix}${CLUSTER_TOPICS[kind].topic}`;
  }

  /** Runs `task` until it succeeds, waiting longer after each failure (Kafka down, a leader being elected). */
  private async retrying<T>(what: string, task: () => Promise<T>): Promise<T> {
    let logged = false;
    for (let backoff = 250; ; backoff = Math.min(backoff * 2, 5_000)) {
      try {
        return await task();
      } catch (err) {
        if (this.stopped) throw err;
        if (!logged) this.options.log.warn(`${what}: ${(err as Error).message}; retrying`);
        logged = true;
        await sleep(backoff);
      }
    }
  }

  /** Creates the missing topics (compacted) and connects the producer; retries until Kafka answers. */
  async connect(): Promise<void> {
    await this.retrying('Kafka not reachable yet', async () => {
      await this.ensureTopics();
      // Not idempotent: a send repeated after a failure may write a state twice, which changes
      // nothing (the newest state of a key wins); one request in flight keeps each key's order.
      const producer = this.kafka.producer({
        idempotent: false,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000 },
      });
      await producer.connect();
      this.producer = producer;
    });
    this.kick();
  }

  /**
   * What the topics hold for one cluster: per kind, the newest record of each key that has no
   * tombstone after it (records with `deletedAt` included: gone, not yet forgotten). Read from the
   * beginning up to the end offsets of the moment.
   */
  async loadPublished(cluster: string): Promise<Map<ClusterKind, Map<string, ClusterRecord>>> {
    const out = new Map<ClusterKind, Map<string, ClusterRecord>>(
      (Object.keys(CLUSTER_TOPICS) as ClusterKind[]).map((k) => [k, new Map()]),
    );
    const kindOf = new Map((Object.keys(CLUSTER_TOPICS) as ClusterKind[]).map((k) => [this.topic(k), k]));
    const remaining = new Map<string, number>();
    await this.retrying('reading the end offsets of the cluster topics', async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        for (const topic of kindOf.keys())
          for (const p of await admin.fetchTopicOffsets(topic))
            if (Number(p.high) > Number(p.low)) remaining.set(`${topic}/${p.partition}`, Number(p.high) - 1);
      } finally {
        await admin.disconnect();
      }
    });
    if (remaining.size === 0) return out;
    const mine = `${cluster}/`;
    let caughtUp: () => void = () => undefined;
    const done = new Promise<void>((r) => (caughtUp = r));
    const reached = (topic: string, partition: number, offset: string): void => {
      const id = `${topic}/${partition}`;
      const last = remaining.get(id);
      if (last !== undefined && Number(offset) >= last) remaining.delete(id);
      if (remaining.size === 0) caughtUp();
    };
    const consumer = new EventConsumer({
      settings: this.options.settings,
      topics: [...kindOf.keys()],
      fromBeginning: true,
    });
    await consumer.run({
      onRecord: ({ topic, partition, offset, key, decoded }) => {
        if (key?.startsWith(mine))
          out.get(kindOf.get(topic) as ClusterKind)?.set(key, decoded.record as ClusterRecord);
        reached(topic, partition, offset);
      },
      onTombstone: ({ topic, partition, offset, key }) => {
        if (key?.startsWith(mine)) out.get(kindOf.get(topic) as ClusterKind)?.delete(key);
        reached(topic, partition, offset);
      },
      onFailure: ({ topic, partition, offset, error }) => {
        this.options.log.warn(`${topic}/${partition}@${offset}: not readable, left out (${error.reason})`);
        reached(topic, partition, offset);
      },
    });
    try {
      await done;
    } finally {
      await consumer.stop();
    }
    return out;
  }

  /** Queues a record (replacing what waits for its key); `tombstone` sends a tombstone after it. */
  publish(kind: ClusterKind, key: string, record: ClusterRecord, tombstone = false): void {
    this.pending.set(`${kind}\u0000${key}`, { kind, key, record, tombstone });
    this.kick();
  }

  /** Resolves when everything queued so far was acknowledged by Kafka. */
  flushed(): Promise<void> {
    if (this.pending.size === 0 && !this.sending) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Records waiting to be sent. */
  get backlog(): number {
    return this.pending.size;
  }

  /** Sends what waits (up to `timeoutMs`), then disconnects. */
  async stop(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flushed(), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.stopped = true;
    if (this.pending.size) this.options.log.warn(`stopped with ${this.pending.size} records not sent`);
    await this.producer?.disconnect().catch(() => undefined);
  }

  private kick(): void {
    if (!this.sending && this.producer) this.sending = this.drain().finally(() => (this.sending = undefined));
  }

  private async drain(): Promise<void> {
    let backoff = 250;
    while (this.pending.size && !this.stopped) {
      const batch = [...this.pending.values()];
      try {
        await (this.producer as Producer).sendBatch({
          topicMessages: this.messages(batch),
          acks: -1,
          compression: CompressionTypes.GZIP,
        });
        this.stats.sends += 1;
        for (const p of batch) {
          const id = `${p.kind}\u0000${p.key}`;
          // A newer state queued meanwhile stays for the next send.
          if (this.pending.get(id) === p) this.pending.delete(id);
          this.stats.records += 1;
          if (p.tombstone) this.stats.tombstones += 1;
        }
        if (this.failingSince !== undefined) {
          this.options.log.info(
            `Kafka reachable again after ${((Date.now() - this.failingSince) / 1000).toFixed(1)} s; ${batch.length} records sent`,
          );
          this.failingSince = undefined;
        }
        backoff = 250;
      } catch (err) {
        this.stats.failedSends += 1;
        if (this.failingSince === undefined) {
          this.failingSince = Date.now();
          this.options.log.warn(
            `sending to Kafka failed (${(err as Error).message}); ${this.pending.size} records wait, retrying`,
          );
        }
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
    if (this.pending.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private messages(batch: Pending[]): TopicMessages[] {
    const byTopic = new Map<string, Message[]>();
    for (const p of batch) {
      const topic = this.topic(p.kind);
      let list = byTopic.get(topic);
      if (!list) byTopic.set(topic, (list = []));
      const { value, headers } = this.codec.encode(p.kind, p.record as never);
      list.push({ key: p.key, value, headers: { ...headers } });
      if (p.tombstone) list.push({ key: p.key, value: null });
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  private async ensureTopics(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = (Object.keys(CLUSTER_TOPICS) as ClusterKind[]).filter(
        (k) => !existing.has(this.topic(k)),
      );
      if (missing.length === 0) return;
      await admin
        .createTopics({
          waitForLeaders: true,
          topics: missing.map((k) => ({
            topic: this.topic(k),
            numPartitions: this.options.partitions ?? 3,
            configEntries: topicConfigEntries(CLUSTER_TOPICS[k]),
          })),
        })
        .catch((err: Error) => {
          if (!/already exists/i.test(err.message)) throw err;
        });
    } finally {
      await admin.disconnect();
    }
  }
}

import { randomUUID } from 'node:crypto';
import { type Consumer, Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { createLogger } from '../common/log';
import { ALL_TOPICS, Codec, ContractError, type DecodedRecord, type RecordKind } from '../contract';
import { kafkaClientConfig, type KafkaSettings } from '../kafka/kafka-config';

/** Where a message came from. */
export interface MessageOrigin {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** Broker timestamp, ms since the epoch (as text, kafkajs' form). */
  timestamp: string;
  message: KafkaMessage;
  /** Tells the group this consumer is alive (call it during a long handler, e.g. while retrying). */
  heartbeat: () => Promise<void>;
}

/** A message that decoded. */
export interface ConsumedRecord extends MessageOrigin {
  decoded: DecodedRecord;
}

/** A message that did not: the contract's error says why (`reason`). */
export interface ConsumedFailure extends MessageOrigin {
  error: ContractError;
}

/** Options of {@link EventConsumer}. */
export interface EventConsumerOptions {
  settings: KafkaSettings;
  topics: string[];
  /**
   * Consumer group. A tail uses a fresh one and deletes it at stop; a service (ingest, alerting)
   * names its own so that it resumes where it left off.
   * @defaultValue `nettopo-tail-<uuid>` (deleted at stop)
   */
  groupId?: string;
  /**
   * Start at the oldest retained message rather than at the newest, when the group has no offsets.
   * @defaultValue `false`
   */
  fromBeginning?: boolean;
  /** @defaultValue `new Codec()` */
  codec?: Codec;
  /**
   * Commit each message's offset as soon as its handler has returned (instead of kafkajs'
   * periodic auto-commit), so that a restart resumes right after the last message handled: none
   * is lost, and at most the one in hand when the process died is handled again.
   * @defaultValue `false`
   */
  commitEachMessage?: boolean;
}

/** Handlers of {@link EventConsumer.run}; each may be async (the next message waits). */
export interface EventHandlers {
  onRecord(record: ConsumedRecord): void | Promise<void>;
  /** A message that does not decode; it is skipped once this returns (never retried). */
  onFailure(failure: ConsumedFailure): void | Promise<void>;
  /**
   * A tombstone (null value): on a compacted topic, the end of the key's identity. Without this
   * handler a tombstone goes to `onFailure` (reason `no-value`).
   */
  onTombstone?(origin: MessageOrigin): void | Promise<void>;
  /** The consumer stopped for good (kafkajs gave up and will not restart it). */
  onCrash?(error: Error): void;
}

const log = createLogger('events');

/** The record kind of a topic name, from the contract's table (a prefix is allowed). */
export function kindOfTopic(topic: string): RecordKind | undefined {
  return ALL_TOPICS.find((spec) => topic === spec.topic || topic.endsWith(`.${spec.topic}`))?.kind;
}

/**
 * The template of every downstream consumer of nettopo topics: a kafkajs consumer whose messages
 * are decoded with the contract's {@link Codec} (any known schema version of the topic's kind,
 * read into the newest shape). A message that does not decode — no header, a schema this build
 * does not know, garbage bytes, a tombstone unless `onTombstone` takes it — is handed to `onFailure` with a named, non-retriable
 * {@link ContractError} and consumption goes on; it never stops the consumer.
 */
export class EventConsumer {
  private readonly kafka: Kafka;
  private readonly codec: Codec;
  private readonly groupId: string;
  private readonly ownGroup: boolean;
  private consumer: Consumer | undefined;

  constructor(private readonly options: EventConsumerOptions) {
    this.kafka = new Kafka(kafkaClientConfig(options.settings));
    this.codec = options.codec ?? new Codec();
    this.ownGroup = options.groupId === undefined;
    this.groupId = options.groupId ?? `nettopo-tail-${randomUUID()}`;
  }

  /** Subscribes and starts handing messages to `handlers`; resolves once consuming has started. */
  async run(handlers: EventHandlers): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) handlers.onCrash?.(e.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({
      topics: this.options.topics,
      fromBeginning: this.options.fromBeginning ?? false,
    });
    const commitEach = this.options.commitEachMessage ?? false;
    const commit = (topic: string, partition: number, offset: string): Promise<void> =>
      commitEach
        ? consumer.commitOffsets([{ topic, partition, offset: (BigInt(offset) + 1n).toString() }])
        : Promise.resolve();
    await consumer.run({
      autoCommit: !commitEach,
      eachMessage: async ({ topic, partition, message, heartbeat }) => {
        const origin: MessageOrigin = {
          topic,
          partition,
          offset: message.offset,
          key: message.key === null ? null : message.key.toString('utf8'),
          timestamp: message.timestamp,
          message,
          heartbeat,
        };
        if (message.value === null && handlers.onTombstone) {
          await handlers.onTombstone(origin);
          return;
        }
        let decoded: DecodedRecord;
        try {
          const kind = kindOfTopic(topic);
          decoded =
            kind === undefined
              ? this.codec.decode(message.value, message.headers)
              : (this.codec.decode(message.value, message.headers, kind) as DecodedRecord);
        } catch (err) {
          if (!(err instanceof ContractError)) throw err;
          await handlers.onFailure({ ...origin, error: err });
          await commit(topic, partition, message.offset);
          return;
        }
        await handlers.onRecord({ ...origin, decoded });
        await commit(topic, partition, message.offset);
      },
    });
  }

  /**
   * The topics of {@link EventConsumerOptions.topics} the brokers do not have. One quick try (no
   * retries): an unreachable broker is reported at once.
   * @throws what kafkajs threw when the brokers could not be reached
   */
  async missingTopics(): Promise<string[]> {
    const quick = new Kafka({
      ...kafkaClientConfig(this.options.settings),
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const admin = quick.admin();
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      return this.options.topics.filter((t) => !existing.has(t));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Stops consuming; a tail's own consumer group is deleted. */
  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
    if (!this.ownGroup) return;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([this.groupId]);
    } catch (err) {
      log.debug(`group ${this.groupId} not deleted: ${(err as Error).message}`);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}

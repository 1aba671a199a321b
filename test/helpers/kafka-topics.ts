import { randomBytes, randomUUID } from 'node:crypto';
import { type Admin, Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { kafkaClientConfig, kafkaSettings } from '../../kafka/kafka-config';
import { topicOf, type IngestKind } from '../../contract';
import { connectionUrls } from '../../stack/stack-config';

/** A message read back, with its topic. */
export interface ReadMessage {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

/**
 * Kafka access for one test: the local stack's broker (from NETTOPO_KAFKA_PORT via
 * connectionUrls(), never a fixed port), a unique topic prefix, and cleanup that deletes every
 * topic with that prefix.
 */
export class TestTopics {
  readonly broker = connectionUrls().kafkaBroker;
  readonly prefix = `test-${randomBytes(4).toString('hex')}.`;
  readonly kafka: Kafka;
  private admin: Admin | undefined;

  constructor() {
    this.kafka = new Kafka({
      ...kafkaClientConfig(kafkaSettings({ brokers: this.broker, clientId: 'nettopo-test' })),
      logLevel: logLevel.NOTHING,
    });
  }

  /** `nettopo collect`'s arguments to produce to this test's topics. */
  collectArgs(): string[] {
    return ['--kafka', this.broker, '--topic-prefix', this.prefix];
  }

  /** The prefixed topic of a kind. */
  topic(kind: IngestKind): string {
    return `${this.prefix}${topicOf(kind).topic}`;
  }

  /** Creates topics (already prefixed names). */
  async create(topics: string[], partitions = 1): Promise<void> {
    const admin = await this.connectAdmin();
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((topic) => ({ topic, numPartitions: partitions })),
    });
  }

  /** Reads the topics from the beginning until `done(messages)` holds or `timeoutMs` passes. */
  async read(
    topics: string[],
    done: (messages: ReadMessage[]) => boolean,
    timeoutMs = 30000,
  ): Promise<ReadMessage[]> {
    const groupId = `nettopo-test-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId });
    const messages: ReadMessage[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ topic, partition, message }) =>
          void messages.push({ topic, partition, message }),
      });
      const deadline = Date.now() + timeoutMs;
      while (!done(messages) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    } finally {
      await consumer.disconnect();
      await (await this.connectAdmin()).deleteGroups([groupId]).catch(() => undefined);
    }
    return messages;
  }

  /** Deletes every topic of this test's prefix, and the consumer groups given (an ingest's). */
  async cleanup(groups: string[] = []): Promise<void> {
    try {
      const admin = await this.connectAdmin();
      if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(this.prefix));
      if (mine.length) await admin.deleteTopics({ topics: mine });
    } finally {
      await this.admin?.disconnect();
      this.admin = undefined;
    }
  }

  private async connectAdmin(): Promise<Admin> {
    if (!this.admin) {
      this.admin = this.kafka.admin();
      await this.admin.connect();
    }
    return this.admin;
  }
}

import { Kafka, logLevel } from 'kafkajs';
import {
  Codec,
  TOPOLOGY_CHANGE_TOPIC,
  topicConfigEntries,
  type TopologyChangeKindV1,
  type TopologyChangeV1,
} from '../contract';
import { kafkaClientConfig, type KafkaSettings } from '../kafka/kafka-config';
import type { NodeDescription, TopologyReport } from './report-model';

function node(n: NodeDescription | null): TopologyChangeV1['from'] {
  if (!n) return null;
  return {
    label: n.label,
    key: n.key,
    name: n.name,
    hostId: n.hostId,
    namespace: n.namespace,
    workload: n.workload,
  };
}

/** The change records of a report, as the contract's `topology-change.v1`. */
export function changeRecords(r: TopologyReport): TopologyChangeV1[] {
  return r.changes.map((c) => ({
    changeId: c.id,
    reportId: r.id,
    schedule: r.schedule,
    kind: c.kind.replace(/-/g, '_') as TopologyChangeKindV1,
    level: r.level,
    entity: c.entity,
    from: node(c.from),
    to: node(c.to),
    port: c.port,
    before: c.before,
    after: c.after,
    metrics: c.metrics.map((m) => ({ metric: m.metric, before: m.before, after: m.after })),
    windowBefore: { from: r.before.from, to: r.before.to },
    windowAfter: { from: r.after.from, to: r.after.to },
    partial: r.health.partial,
    createdAt: r.createdAt,
  }));
}

/** Options of {@link ChangePublisher}. */
export interface ChangePublisherOptions {
  settings: KafkaSettings;
  /** Prepended to the topic name. @defaultValue `''` */
  topicPrefix?: string;
  /** Partitions when the topic is created. @defaultValue `3` */
  partitions?: number;
}

/**
 * Publishes a report's changes on `nettopo.topology-changes.v1`, keyed by the changed entity, in
 * one Kafka transaction: a consumer (reading committed records, kafkajs' default) sees all of a
 * report's changes or none, also when the worker dies half-way and the job is retried.
 */
export class ChangePublisher {
  readonly topic: string;
  private readonly kafka: Kafka;
  private readonly codec = new Codec();
  private topicReady = false;

  constructor(private readonly options: ChangePublisherOptions) {
    this.topic = `${options.topicPrefix ?? ''}${TOPOLOGY_CHANGE_TOPIC.topic}`;
    this.kafka = new Kafka({ ...kafkaClientConfig(options.settings), logLevel: logLevel.NOTHING });
  }

  /** Sends every change of the report in one transaction; `transactionalId` should name the report's owner. */
  async publish(report: TopologyReport, transactionalId: string): Promise<number> {
    const records = changeRecords(report);
    if (records.length === 0) return 0;
    await this.ensureTopic();
    const producer = this.kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const tx = await producer.transaction();
      try {
        for (let i = 0; i < records.length; i += 1000) {
          const messages = records.slice(i, i + 1000).map((r) => {
            const { message } = this.codec.message('topology-change', r);
            return message;
          });
          await tx.send({ topic: this.topic, messages, acks: -1 });
        }
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        throw err;
      }
    } finally {
      await producer.disconnect();
    }
    return records.length;
  }

  private async ensureTopic(): Promise<void> {
    if (this.topicReady) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(this.topic))
        await admin.createTopics({
          waitForLeaders: true,
          topics: [
            {
              topic: this.topic,
              numPartitions: this.options.partitions ?? 3,
              configEntries: topicConfigEntries(TOPOLOGY_CHANGE_TOPIC),
            },
          ],
        });
      this.topicReady = true;
    } finally {
      await admin.disconnect();
    }
  }
}

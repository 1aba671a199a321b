import { EventEmitter } from 'node:events';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createLogger, type Logger } from '../../common/log';
import {
  Codec,
  DEAD_LETTER_TOPIC,
  TOPOLOGY_CHANGE_TOPIC,
  toDeadLetter,
  type TopologyChangeV1,
} from '../../contract';
import { EventConsumer, type ConsumedRecord } from '../../events';
import { kafkaClientConfig, type KafkaSettings } from '../../kafka/kafka-config';
import { matches, type AlertsConfig } from './alert-rules';

/** One rule matched by one change: what is printed and POSTed. */
export interface Alert {
  /** `<rule>:<changeId>`: also the `Idempotency-Key` header, so a receiver can drop a repeat. */
  id: string;
  rule: string;
  text: string;
  change: TopologyChangeV1;
}

/** Options of {@link AlertService}. */
export interface AlertServiceOptions {
  config: AlertsConfig;
  settings: KafkaSettings;
  /** Its own consumer group: where it resumes after a restart. @defaultValue `'nettopo-alerts'` */
  groupId?: string;
  /** Prefix of the change and dead-letter topics. @defaultValue `''` */
  topicPrefix?: string;
  /** Start at the oldest retained change when the group has no offsets yet. @defaultValue `false` */
  fromBeginning?: boolean;
  /** Where printed alerts go. @defaultValue stdout */
  out?: (line: string) => void;
  log?: Logger;
}

function describe(c: TopologyChangeV1): string {
  const end = (n: TopologyChangeV1['from']): string => (n ? n.name : '?');
  const kind = c.kind.replace(/_/g, ' ');
  if (c.to) return `${kind}: ${end(c.from)} → ${end(c.to)}:${c.port} (${c.level})`;
  if (c.kind === 'listener_appeared') return `${kind}: ${end(c.from)} listens on :${c.port}`;
  return `${kind}: ${end(c.from)} (${c.level})`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `nettopo alerts`: reads the change topic with its own consumer group, checks every change
 * against the rules, prints each match and POSTs it to the webhook. A failed POST (connection
 * refused, timeout, a status other than 2xx) is retried with exponential back-off; after the
 * configured attempts the change goes to the dead-letter topic with the reason, and consumption
 * goes on. The offset of a change is committed only once all its alerts are delivered or
 * dead-lettered, so a restart loses none and repeats none delivered (a crash between a delivery
 * and its commit repeats that one alert, with the same `Idempotency-Key`).
 * Events: `alert` (Alert, delivered), `deadLetter` (Alert, Error).
 */
export class AlertService extends EventEmitter {
  private readonly consumer: EventConsumer;
  private readonly kafka: Kafka;
  private readonly codec = new Codec();
  private readonly log: Logger;
  private readonly deadLetterTopic: string;
  private producer: Producer | undefined;
  private stopping = false;

  constructor(private readonly options: AlertServiceOptions) {
    super();
    this.log = options.log ?? createLogger('alerts');
    const prefix = options.topicPrefix ?? '';
    this.deadLetterTopic = `${prefix}${DEAD_LETTER_TOPIC.topic}`;
    this.kafka = new Kafka({ ...kafkaClientConfig(options.settings), logLevel: logLevel.NOTHING });
    this.consumer = new EventConsumer({
      settings: options.settings,
      topics: [`${prefix}${TOPOLOGY_CHANGE_TOPIC.topic}`],
      groupId: options.groupId ?? 'nettopo-alerts',
      fromBeginning: options.fromBeginning ?? false,
      commitEachMessage: true,
    });
  }

  async start(): Promise<void> {
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    await this.consumer.run({
      onRecord: (r) => this.handle(r),
      onFailure: async (f) => {
        this.log.warn(
          `${f.topic}/${f.partition}@${f.offset}: not a topology change (${f.error.reason}); dead-lettered`,
        );
        await this.deadLetter({ topic: f.topic, partition: f.partition, message: f.message }, f.error);
      },
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer.stop();
    await this.producer?.disconnect();
  }

  private async handle(r: ConsumedRecord): Promise<void> {
    if (r.decoded.kind !== 'topology-change') return;
    const change = r.decoded.record as TopologyChangeV1;
    for (const rule of this.options.config.rules) {
      if (!matches(rule, change)) continue;
      const alert: Alert = {
        id: `${rule.name}:${change.changeId}`,
        rule: rule.name,
        text: `[${rule.name}] ${describe(change)}`,
        change,
      };
      if (this.options.config.delivery.print)
        (this.options.out ?? ((l: string) => void process.stdout.write(l)))(
          `${JSON.stringify({ alert: alert.id, rule: alert.rule, text: alert.text, reportId: change.reportId, entity: change.entity })}\n`,
        );
      try {
        await this.post(alert, r.heartbeat);
        this.emit('alert', alert);
      } catch (err) {
        if (this.stopping) throw err;
        this.log.error(
          `alert ${alert.id} not delivered: ${(err as Error).message}; sent to ${this.deadLetterTopic}`,
        );
        await this.deadLetter({ topic: r.topic, partition: r.partition, message: r.message }, err, alert);
        this.emit('deadLetter', alert, err);
      }
    }
  }

  /** POSTs an alert, retrying with exponential back-off; throws after the last attempt. */
  private async post(alert: Alert, heartbeat: () => Promise<void>): Promise<void> {
    const d = this.options.config.delivery;
    if (!d.webhookUrl) return;
    let backoff = d.backoffMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(d.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': alert.id, ...d.headers },
          body: JSON.stringify({ id: alert.id, rule: alert.rule, text: alert.text, change: alert.change }),
          signal: AbortSignal.timeout(d.timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        throw new Error(`webhook answered ${res.status} ${res.statusText}`);
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        const why = cause ? `${(err as Error).message} (${cause})` : (err as Error).message;
        if (attempt >= d.attempts || this.stopping)
          throw new Error(`${d.attempts} attempts failed, the last: ${why}`, { cause: err });
        this.log.warn(
          `alert ${alert.id}: attempt ${attempt} of ${d.attempts} failed (${why}); retrying in ${backoff} ms`,
        );
        for (let waited = 0; waited < backoff; waited += 1000) {
          await sleep(Math.min(1000, backoff - waited));
          await heartbeat().catch(() => undefined);
        }
        backoff = Math.min(backoff * 2, d.maxBackoffMs);
      }
    }
  }

  private async deadLetter(
    source: Parameters<typeof toDeadLetter>[0],
    err: unknown,
    alert?: Alert,
  ): Promise<void> {
    const record = toDeadLetter(source, err);
    if (alert) {
      record.reason = 'alert-undelivered';
      record.detail = `rule ${alert.rule}, alert ${alert.id}: ${(err as Error).message}`;
    }
    const { message } = this.codec.message('deadletter', record);
    await this.producer?.send({ topic: this.deadLetterTopic, messages: [message], acks: -1 });
  }
}

import type { EventEmitter } from 'node:events';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from '../../common/log';
import { toDeadLetter, type Codec } from '../../contract';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Sends the messages the ingest gives up on to the dead-letter topic, verbatim with the reason,
 * and emits `deadLetter` (the record) on the ingest for each.
 */
export class DeadLetters {
  private producer: Producer | undefined;

  constructor(
    readonly topic: string,
    private readonly codec: Codec,
    private readonly log: Logger,
    private readonly events: Pick<EventEmitter, 'emit'>,
    /** Whether the ingest runs: a send that keeps failing is given up once it stops. */
    private readonly running: () => boolean,
  ) {}

  async connect(kafka: Kafka): Promise<void> {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
  }

  async disconnect(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
  }

  /**
   * Sends `m` of `topic`/`partition` with the reason `error` gives, retrying with back-off (and
   * `heartbeat` between tries); throws once the ingest stops or after 50 tries.
   */
  async send(
    topic: string,
    partition: number,
    m: KafkaMessage,
    error: unknown,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const record = toDeadLetter({ topic, partition, message: m }, error);
    const { message } = this.codec.message('deadletter', record);
    for (let attempt = 0; ; attempt += 1) {
      try {
        await (this.producer as Producer).send({
          topic: this.topic,
          messages: [message],
          acks: -1,
        });
        break;
      } catch (err) {
        if (!this.running() || attempt > 50) throw err;
        await sleep(Math.min(5_000, 200 * 2 ** Math.min(attempt, 5)));
        await heartbeat().catch(() => undefined);
      }
    }
    this.log.warn(`dead-lettered ${topic}/${partition}@${m.offset}: ${record.reason} (${record.detail})`);
    this.events.emit('deadLetter', record);
  }
}

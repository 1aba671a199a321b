import { createLogger } from '../../common/log';
import { CollectorPublisher } from './collector-publisher';
import { Enricher } from '../attribution/enricher';
import { readHostInfo } from '../attribution/host-info';
import { FlowCollector, type FlowFilter } from '../flows/flow-collector';
import type { FlowRecord } from '../../contract/flow-record';
import { KafkaSink, type KafkaSinkOptions } from '../../kafka/kafka-sink';

const log = createLogger('collector');

/** Kafka output of a {@link CollectorRun}. */
export interface CollectorKafkaOptions extends Omit<KafkaSinkOptions, 'topicPrefix'> {
  /** @defaultValue '' */
  topicPrefix?: string;
  /** @defaultValue 10000 */
  heartbeatIntervalMs?: number;
  /** @defaultValue 60000 */
  hostIntervalMs?: number;
}

/** Options of {@link CollectorRun.start}. */
export interface CollectorRunOptions {
  /** @defaultValue 5000 */
  intervalMs?: number;
  /** @defaultValue no filter */
  filter?: FlowFilter;
  /** Process whose sockets are not traced; 0 traces every process. @defaultValue the current process */
  ignorePid?: number;
  /** Open sockets the kernel tracks at once. @defaultValue 131072 */
  maxFlows?: number;
  /** Produce every record to Kafka; absent: no Kafka. */
  kafka?: CollectorKafkaOptions;
  /**
   * Report as this host id (32 hex digits) instead of /etc/machine-id's: one machine acting as one
   * host of a simulated fleet (with `filter.netns` naming that host's namespaces).
   * @defaultValue the machine id
   */
  hostId?: string;
  /** Called with each batch of flow records (printing). */
  onFlows?: (records: FlowRecord[]) => void;
}

/**
 * One running collector: the eBPF collector, and when asked its Kafka publisher (flows, processes,
 * listeners, hosts, heartbeats through a bounded buffer). What `nettopo collect` and `nettopo up` run.
 */
export class CollectorRun {
  private printed = 0;

  private constructor(
    readonly collector: FlowCollector,
    readonly sink: KafkaSink | undefined,
    private readonly publisher: CollectorPublisher | undefined,
  ) {}

  /** Loads and attaches the programs and starts reporting (and producing). */
  static start(options: CollectorRunOptions = {}): CollectorRun {
    const enricher = new Enricher(
      options.hostId === undefined ? {} : { host: readHostInfo({ hostId: options.hostId }) },
    );
    const collector = new FlowCollector({
      intervalMs: options.intervalMs,
      filter: options.filter,
      ignorePid: options.ignorePid,
      maxFlows: options.maxFlows,
      enricher,
    });
    let sink: KafkaSink | undefined;
    let publisher: CollectorPublisher | undefined;
    if (options.kafka) {
      const { heartbeatIntervalMs, hostIntervalMs, topicPrefix, ...sinkOptions } = options.kafka;
      sink = new KafkaSink({ ...sinkOptions, topicPrefix: topicPrefix ?? '' });
      publisher = new CollectorPublisher({
        collector,
        enricher,
        sink,
        heartbeatIntervalMs,
        hostIntervalMs,
        netns: options.filter?.netns,
      });
      sink.start();
    }
    const run = new CollectorRun(collector, sink, publisher);
    collector.start((records) => {
      run.printed += records.length;
      options.onFlows?.(records);
      publisher?.onFlows(records);
    });
    publisher?.start();
    return run;
  }

  /** Reports the last counters, gives Kafka `stopTimeoutMs` to take the buffer, and logs a summary. */
  async stop(stopTimeoutMs = 10_000): Promise<void> {
    const { collector, sink } = this;
    collector.stop();
    await this.publisher?.stop();
    const left = (await sink?.stop(stopTimeoutMs)) ?? 0;
    const s = collector.stats();
    log.info(
      `stopped: ${this.printed} flow records; drops: ring buffer ${s?.ringbufFull ?? 0}, map ${s?.flowUpdateFailed ?? 0}, evicted ${s?.flowsEvicted ?? 0}`,
    );
    if (sink) {
      const k = sink.stats();
      log.info(
        `kafka: ${k.submitted} records submitted, ${k.produced} produced, ${k.dropped} dropped (buffer full; ${k.droppedInDoubt} of them after a failed send, maybe on Kafka), ${left} undelivered at exit, last seq ${collector.lastSeq}`,
      );
    }
  }
}

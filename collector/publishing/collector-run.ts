import { createLogger } from '../../common/log';
import { CollectorPublisher, heartbeatDrops } from './collector-publisher';
import { CommandLineFilter, type CommandLineOptions } from '../attribution/command-line';
import { Enricher } from '../attribution/enricher';
import { readHostInfo } from '../attribution/host-info';
import { ProcessResolver } from '../attribution/process-resolver';
import { FlowCollector, type FlowFilter } from '../flows/flow-collector';
import type { FlowRecord } from '../../contract/flow-record';
import type { NativeStats } from '../kernel/native';
import { KafkaSink, type KafkaSinkOptions, type UndeliveredRecords } from '../../kafka/kafka-sink';

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
  /**
   * How command lines are scrubbed (on by default) before they leave the collector.
   * @defaultValue scrubbing on, the default sensitive words
   */
  commandLines?: CommandLineOptions;
  /** Called with each batch of flow records (printing). */
  onFlows?: (records: FlowRecord[]) => void;
}

/**
 * One running collector: the eBPF collector, and when asked its Kafka publisher (flows, processes,
 * listeners, hosts, heartbeats through a bounded buffer). What `nettopo collect` and `nettopo up` run.
 */
export class CollectorRun {
  private printed = 0;
  private lastStats: NativeStats | undefined;

  private constructor(
    readonly enricher: Enricher,
    readonly collector: FlowCollector,
    readonly sink: KafkaSink | undefined,
    private readonly publisher: CollectorPublisher | undefined,
  ) {}

  /** Loads and attaches the programs and starts reporting (and producing). */
  static start(options: CollectorRunOptions = {}): CollectorRun {
    const commandLines = new CommandLineFilter(options.commandLines);
    if (!commandLines.scrubbing)
      log.warn('command-line scrubbing is off: secrets in command lines go to Kafka as they are');
    const enricher = new Enricher({
      processes: new ProcessResolver({ commandLines }),
      ...(options.hostId === undefined ? {} : { host: readHostInfo({ hostId: options.hostId }) }),
    });
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
    const run = new CollectorRun(enricher, collector, sink, publisher);
    collector.start((records) => {
      run.printed += records.length;
      options.onFlows?.(records);
      publisher?.onFlows(records);
    });
    publisher?.start();
    return run;
  }

  /** The run's counters now: what its metrics show (drops as the heartbeat counts them). */
  counters(): {
    events: number;
    flowRecords: number;
    drops: ReturnType<typeof heartbeatDrops>;
    evicted: number;
    flowsTracked: number;
    kafka?: { submitted: number; produced: number; refused: number; buffered: number };
  } {
    const s = this.collector.stats() ?? this.lastStats;
    if (s) this.lastStats = s;
    const k = this.sink?.stats();
    return {
      events: s?.eventsDelivered ?? 0,
      flowRecords: this.printed,
      drops: heartbeatDrops(s, this.sink?.stats().dropped ?? 0),
      evicted: s?.flowsEvicted ?? 0,
      flowsTracked: s?.flowsPresent ?? 0,
      ...(k
        ? {
            kafka: { submitted: k.submitted, produced: k.produced, refused: k.refused, buffered: k.buffered },
          }
        : {}),
    };
  }

  /** Whether the programs that see connections are attached (a collector without them sees nothing). */
  attached(): boolean {
    return this.collector.capabilities().some((c) => c.attached);
  }

  /**
   * Reports the last counters, gives Kafka `stopTimeoutMs` to take the buffer, and logs a
   * summary. Returns what Kafka did not get (undefined without Kafka): a collector whose total is
   * not 0 lost records, and says so.
   */
  async stop(stopTimeoutMs = 10_000): Promise<UndeliveredRecords | undefined> {
    const { collector, sink } = this;
    collector.stop();
    await this.publisher?.stop();
    await sink?.stop(stopTimeoutMs);
    const s = collector.stats();
    log.info(
      `stopped: ${this.printed} flow records; drops: ring buffer ${s?.ringbufFull ?? 0}, map ${s?.flowUpdateFailed ?? 0}, evicted ${s?.flowsEvicted ?? 0}`,
    );
    const p = this.enricher.processes.stats;
    log.info(
      `command lines: ${p.cmdlinesTruncated} cut to their bounds, ${p.cmdlinesScrubbed} scrubbed (${p.valuesScrubbed} values)`,
    );
    if (!sink) return undefined;
    const k = sink.stats();
    const lost = sink.undelivered();
    log.info(
      `kafka: ${k.submitted} records submitted, ${k.produced} produced, ${k.dropped} dropped (buffer full; ${k.droppedInDoubt} of them after a failed send, maybe on Kafka), ${k.refused} refused (too large), ${lost.leftAtExit} undelivered at exit, last seq ${collector.lastSeq}`,
    );
    return lost;
  }
}

/** The line a collector prints when Kafka did not get everything; undefined when it did. */
export function undeliveredNote(lost: UndeliveredRecords | undefined): string | undefined {
  if (!lost || lost.total === 0) return undefined;
  return (
    `${lost.total} records not delivered to Kafka: ${lost.leftAtExit} still buffered at exit, ` +
    `${lost.dropped} dropped (buffer full), ${lost.refused} refused (too large), ${lost.invalid} not encodable`
  );
}

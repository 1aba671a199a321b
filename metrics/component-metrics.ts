import { Histogram, type Registry } from 'prom-client';
import { BpfProgramReader } from './bpf-stats';
import { pulledCounter, pulledGauge, type Sample } from './pulled';

/** What the collector's metrics read at each scrape. */
export interface CollectorMetricsSource {
  /** Kernel events handed to JavaScript. */
  events(): number;
  /** Flow records made. */
  flowRecords(): number;
  /** The heartbeat's drop counters (the same numbers). */
  drops(): { ringBufferFull: number; mapFull: number; kafkaBufferFull: number };
  /** Sockets the LRU flow map evicted before they were read. */
  evicted(): number;
  flowsTracked(): number;
  /** The Kafka sink's counters; undefined without Kafka. */
  kafka(): { submitted: number; produced: number; refused: number; buffered: number } | undefined;
}

/** `nettopo_collector_*`, `nettopo_kafka_records_*` and `nettopo_bpf_program_*` of a collector. */
export function registerCollectorMetrics(registry: Registry, source: CollectorMetricsSource): void {
  const counters: [string, string, () => Sample[] | number][] = [
    ['collector_events_total', 'kernel events handed to the collector', () => source.events()],
    ['collector_flow_records_total', 'flow records made', () => source.flowRecords()],
    [
      'collector_flows_evicted_total',
      'sockets evicted from the flow map before they were read',
      () => source.evicted(),
    ],
    [
      'kafka_records_submitted_total',
      'records handed to the Kafka sink',
      () => source.kafka()?.submitted ?? [],
    ],
    [
      'kafka_records_produced_total',
      'records the brokers acknowledged',
      () => source.kafka()?.produced ?? [],
    ],
    [
      'kafka_records_refused_total',
      'records Kafka would not take (too large)',
      () => source.kafka()?.refused ?? [],
    ],
  ];
  for (const [name, help, read] of counters) pulledCounter(registry, `nettopo_${name}`, help, read);
  pulledCounter(
    registry,
    'nettopo_collector_drops_total',
    "records lost, by cause (the heartbeat's drop counters)",
    () => {
      const d = source.drops();
      return [
        [{ cause: 'ring_buffer_full' }, d.ringBufferFull],
        [{ cause: 'map_full' }, d.mapFull],
        [{ cause: 'kafka_buffer_full' }, d.kafkaBufferFull],
      ];
    },
    ['cause'],
  );
  pulledGauge(registry, 'nettopo_collector_flows_tracked', 'open sockets tracked in the kernel', () =>
    source.flowsTracked(),
  );
  pulledGauge(
    registry,
    'nettopo_kafka_records_buffered',
    'records waiting for Kafka',
    () => source.kafka()?.buffered ?? [],
  );
  const bpf = new BpfProgramReader();
  pulledGauge(
    registry,
    'nettopo_bpf_program_run_seconds',
    'time the kernel spent in each BPF program of this collector (only while kernel.bpf_stats_enabled=1)',
    async () => (await bpf.read()).map((p): Sample => [{ program: p.name }, p.runTimeNs / 1e9]),
    ['program'],
  );
  pulledGauge(
    registry,
    'nettopo_bpf_program_runs',
    'runs of each BPF program of this collector (only while kernel.bpf_stats_enabled=1)',
    async () => (await bpf.read()).map((p): Sample => [{ program: p.name }, p.runs]),
    ['program'],
  );
}

/** What the ingest's metrics read at each scrape. */
export interface IngestMetricsSource {
  stats(): {
    transactions: number;
    records: number;
    edgeUpserts: number;
    deadLetters: number;
    graphRetries: number;
    waitingForGraph: boolean;
  };
  /** Messages produced and not applied yet, all partitions. */
  lag(): Promise<number>;
}

/** `nettopo_ingest_*`; returns the histogram to observe each transaction's time in. */
export function registerIngestMetrics(registry: Registry, source: IngestMetricsSource): Histogram {
  type Stats = ReturnType<IngestMetricsSource['stats']>;
  const counters: [string, string, (s: Stats) => number][] = [
    ['records_consumed_total', 'valid records applied to the graph', (s) => s.records],
    ['transactions_total', 'Neo4j transactions committed', (s) => s.transactions],
    ['edge_upserts_total', 'CONNECTS_TO rows upserted', (s) => s.edgeUpserts],
    ['dead_letters_total', 'records sent to the dead-letter topic', (s) => s.deadLetters],
    ['graph_retries_total', 'transactions retried while Neo4j was unreachable', (s) => s.graphRetries],
  ];
  for (const [name, help, pick] of counters)
    pulledCounter(registry, `nettopo_ingest_${name}`, help, () => pick(source.stats()));
  pulledGauge(
    registry,
    'nettopo_ingest_waiting_for_graph',
    '1 while consumption is paused waiting for Neo4j',
    () => (source.stats().waitingForGraph ? 1 : 0),
  );
  pulledGauge(
    registry,
    'nettopo_ingest_consumer_lag',
    'messages produced and not yet applied (all partitions)',
    () => source.lag().catch(() => Number.NaN),
  );
  return new Histogram({
    name: 'nettopo_ingest_transaction_seconds',
    help: 'time of each Neo4j transaction, start to commit',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
}

/** What `k8s-watch`'s metrics read at each scrape. */
export interface K8sWatchMetricsSource {
  published: Record<string, number>;
  deleted: Record<string, number>;
}

/** `nettopo_k8s_*`. */
export function registerK8sWatchMetrics(registry: Registry, source: () => K8sWatchMetricsSource): void {
  const byKind = (counts: Record<string, number>): Sample[] =>
    Object.entries(counts).map(([kind, n]): Sample => [{ kind }, n]);
  pulledCounter(
    registry,
    'nettopo_k8s_published_total',
    'cluster records published, by kind',
    () => byKind(source().published),
    ['kind'],
  );
  pulledCounter(
    registry,
    'nettopo_k8s_deleted_total',
    'deletions published, by kind',
    () => byKind(source().deleted),
    ['kind'],
  );
}

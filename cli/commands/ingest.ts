import { Command } from 'commander';
import { createLogger } from '../../common/log';
import { describeKafkaSettings } from '../../kafka/kafka-config';
import { IngestService, type TransactionResult } from '../../ingest';
import { withConfigOption } from '../command-config';
import {
  describeGraphConnection,
  graphConnectionOf,
  kafkaOptions,
  kafkaSettingsOf,
  neo4jOptions,
  serverError,
  type KafkaOptionValues,
  type Neo4jOptionValues,
} from './connection-options';
import { graphReady, kafkaReady, metricsOption, startMetrics } from './metrics-options';
import { duration, positiveInt } from './option-parsers';
import { registerIngestMetrics, type MetricsAddress } from '../../metrics';

const log = createLogger('ingest');

interface IngestFlags extends KafkaOptionValues, Neo4jOptionValues {
  group: string;
  topicPrefix: string;
  maxTransactionRecords?: number;
  migrate: boolean;
  untilCaughtUp?: boolean;
  statsInterval: number;
  maxBatchBytes?: number;
  metricsAddress?: MetricsAddress;
  history: boolean;
  historyBucket?: number;
  historyRetention?: number;
}

/** `work`, or NaN when it takes longer than `ms` (a scrape does not wait for a server that is away). */
function within(work: Promise<number>, ms: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.catch(() => Number.NaN),
    new Promise<number>((resolve) => (timer = setTimeout(() => resolve(Number.NaN), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** `nettopo ingest`: the consumer group that turns collector records into the Neo4j topology. */
export function registerIngest(program: Command): void {
  const command = program.command('ingest');
  withConfigOption(metricsOption(neo4jOptions(kafkaOptions(command))))
    .description(
      'consume collector records from Kafka and upsert the topology into Neo4j (exactly-once in effect; migrates the graph schema first)',
    )
    .option('-g, --group <id>', 'consumer group (progress in Neo4j is kept per group)', 'nettopo-ingest')
    .option('--topic-prefix <prefix>', 'prefix of every topic name', '')
    .option(
      '--max-transaction-records <n>',
      'records one Neo4j transaction takes at most, all partitions together (default 50000)',
      positiveInt('max-transaction-records'),
    )
    .option('--no-migrate', 'do not apply graph schema migrations at start')
    .option('--until-caught-up', 'exit once everything produced so far is applied')
    .option(
      '--max-batch-bytes <n>',
      'fetch size per partition (default 4 MiB)',
      positiveInt('max-batch-bytes'),
    )
    .option(
      '--stats-interval <seconds>',
      'log throughput every this many seconds',
      positiveInt('stats-interval'),
      10,
    )
    .option('--no-history', 'do not record the topology history (graph-schema/README.md, "History")')
    .option(
      '--history-bucket <duration>',
      'size of a history bucket, the finest time a past topology is known at (default 5m)',
      duration('history-bucket'),
    )
    .option(
      '--history-retention <duration>',
      'how long history buckets are kept (default 7d)',
      duration('history-retention'),
    )
    .action(async (flags: IngestFlags) => {
      const kafka = kafkaSettingsOf(command, flags);
      const neo4j = graphConnectionOf(command, flags);
      log.info(`Kafka: ${describeKafkaSettings(kafka)}; Neo4j: ${describeGraphConnection(neo4j)}`);
      const ingest = new IngestService({
        kafka,
        neo4j,
        groupId: flags.group,
        topicPrefix: flags.topicPrefix,
        maxTransactionRecords: flags.maxTransactionRecords,
        migrate: flags.migrate,
        maxBytesPerPartition: flags.maxBatchBytes,
        history: {
          enabled: flags.history,
          bucketMs: flags.historyBucket,
          retentionMs: flags.historyRetention,
        },
      });
      let last = ingest.stats();
      ingest.on('transaction', (r: TransactionResult) =>
        log.debug(
          `committed ${r.records} records, ${r.edgeUpserts} edges; ${r.partitions.map((p) => `${p.topic}/${p.partition} → ${p.nextOffset}`).join(', ')}`,
        ),
      );
      const timer = setInterval(() => {
        const s = ingest.stats();
        const dt = flags.statsInterval;
        log.info(
          `${((s.records - last.records) / dt).toFixed(0)} records/s, ${((s.edgeUpserts - last.edgeUpserts) / dt).toFixed(0)} edge upserts/s; total ${s.records} records, ${s.deadLetters} dead letters${s.waitingForGraph ? ' (waiting for Neo4j)' : ''}`,
        );
        last = s;
      }, flags.statsInterval * 1000);
      timer.unref();
      let closeProbe: (() => Promise<void>) | undefined;
      const metrics = await startMetrics('ingest', flags.metricsAddress, (server) => {
        const transactionTime = registerIngestMetrics(server.registry, {
          stats: () => ingest.stats(),
          lag: () => within(ingest.lag(), 2_000),
        });
        ingest.on('transaction', (r: TransactionResult) => transactionTime.observe(r.durationMs / 1000));
        kafkaReady(server, kafka);
        closeProbe = graphReady(server, neo4j);
      });
      const closeMetrics = async (): Promise<void> => {
        await metrics?.close();
        await closeProbe?.();
      };
      await ingest.start().catch(async (err: unknown) => {
        clearInterval(timer);
        await ingest.stop();
        await closeMetrics();
        throw serverError(err, { kafka, graph: neo4j });
      });
      await new Promise<void>((resolve, reject) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
        ingest.once('fatal', reject);
        if (flags.untilCaughtUp) ingest.waitUntilCaughtUp(24 * 3600_000).then(resolve, reject);
      }).finally(async () => {
        clearInterval(timer);
        await ingest.stop();
        await closeMetrics();
      });
      const s = ingest.stats();
      log.info(`stopped: ${s.records} records, ${s.edgeUpserts} edge upserts, ${s.deadLetters} dead letters`);
    });
}

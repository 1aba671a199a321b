import { Command } from 'commander';
import { createLogger } from '../../common/log';
import { IngestService, type TransactionResult } from '../../ingest';
import { duration, positiveInt } from './option-parsers';

const log = createLogger('ingest');

interface IngestFlags {
  group: string;
  topicPrefix: string;
  maxTransactionRecords?: number;
  migrate: boolean;
  untilCaughtUp?: boolean;
  statsInterval: number;
  maxBatchBytes?: number;
  history: boolean;
  historyBucket?: number;
  historyRetention?: number;
}

/** `nettopo ingest`: the consumer group that turns collector records into the Neo4j topology. */
export function registerIngest(program: Command): void {
  program
    .command('ingest')
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
    .option(
      '--stats-interval <seconds>',
      'log throughput every this many seconds',
      positiveInt('stats-interval'),
      10,
    )
    .action(async (flags: IngestFlags) => {
      const ingest = new IngestService({
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
      await ingest.start();
      await new Promise<void>((resolve, reject) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
        ingest.once('fatal', reject);
        if (flags.untilCaughtUp) ingest.waitUntilCaughtUp(24 * 3600_000).then(resolve, reject);
      }).finally(async () => {
        clearInterval(timer);
        await ingest.stop();
      });
      const s = ingest.stats();
      log.info(`stopped: ${s.records} records, ${s.edgeUpserts} edge upserts, ${s.deadLetters} dead letters`);
    });
}

import { Command } from 'commander';
import { createLogger } from '../../common/log';
import { IngestService, type BatchResult } from '../../ingest';
import { positiveInt } from './option-parsers';

const log = createLogger('ingest');

interface IngestFlags {
  group: string;
  topicPrefix: string;
  concurrency: number;
  migrate: boolean;
  untilCaughtUp?: boolean;
  statsInterval: number;
  maxBatchBytes?: number;
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
    .option('-c, --concurrency <n>', 'partitions applied at once', positiveInt('concurrency'), 1)
    .option('--no-migrate', 'do not apply graph schema migrations at start')
    .option('--until-caught-up', 'exit once everything produced so far is applied')
    .option(
      '--max-batch-bytes <n>',
      'fetch size per partition, the bound of one transaction (default 4 MiB)',
      positiveInt('max-batch-bytes'),
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
        partitionsConsumedConcurrently: flags.concurrency,
        migrate: flags.migrate,
        maxBytesPerPartition: flags.maxBatchBytes,
      });
      let last = ingest.stats();
      ingest.on('batch', (r: BatchResult) =>
        log.debug(
          `${r.topic}/${r.partition} → ${r.nextOffset}: ${r.records} records, ${r.edgeUpserts} edges`,
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
        if (flags.untilCaughtUp) ingest.waitUntilCaughtUp(24 * 3600_000).then(resolve, reject);
      }).finally(async () => {
        clearInterval(timer);
        await ingest.stop();
      });
      const s = ingest.stats();
      log.info(`stopped: ${s.records} records, ${s.edgeUpserts} edge upserts, ${s.deadLetters} dead letters`);
    });
}

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Kafka, logLevel } from 'kafkajs';
import { parseTime } from '../../common/duration';
import { ConfigError } from '../../common/errors';
import { createLogger } from '../../common/log';
import { createGraphDriver } from '../../graph-schema';
import { kafkaClientConfig, kafkaSettings } from '../../kafka/kafka-config';
import {
  ChangePublisher,
  DEFAULT_QUEUE,
  DEFAULT_THRESHOLDS,
  loadReportsConfig,
  redisSettings,
  reportId,
  ReportRunner,
  ReportScheduler,
  reportsStatus,
  summaryLine,
  thresholdsOf,
} from '../../reports';
import { brokersOf } from './connection-options';
import { stringList } from './option-parsers';

const log = createLogger('reports');
const iso = (ms: number | null): string => (ms === null ? '–' : new Date(ms).toISOString());

interface RunFlags {
  config: string;
  queue: string;
  schedule: boolean;
  concurrency: string;
  brokers?: string;
  publish: boolean;
}

interface StatusFlags {
  queue: string;
  json?: boolean;
  limit: string;
}

interface DiffFlags {
  from: string;
  to: string;
  beforeFrom?: string;
  beforeTo?: string;
  level: string;
  hosts: string[];
  out: string;
  threshold: string[];
  publish: boolean;
  topicPrefix: string;
  brokers?: string;
  ingestGroup: string;
}

function thresholdFlags(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of list) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(item);
    if (!m) throw new ConfigError(`--threshold wants name=value, got '${item}'`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/** `nettopo reports run|status` and `nettopo report diff`. */
export function registerReports(program: Command): void {
  const reports = program
    .command('reports')
    .description('scheduled topology diff reports (BullMQ on the stack’s Redis; see reports/README.md)');
  reports
    .command('run')
    .description(
      'register the schedules of a configuration file as BullMQ job schedulers and work their jobs: each run compares two windows of the history and writes a report (Markdown, JSON, SVG), records it in Neo4j and publishes its changes on nettopo.topology-changes.v1',
    )
    .requiredOption('-c, --config <file>', 'YAML file with the schedules (reports/README.md shows one)')
    .option('--queue <name>', 'BullMQ queue', DEFAULT_QUEUE)
    .option('--no-schedule', 'only work jobs; leave the queue’s schedules as they are')
    .option('--concurrency <n>', 'jobs at once', '1')
    .option(
      '-b, --brokers <list>',
      'Kafka for the change topic (default NETTOPO_KAFKA_BROKERS, else the local stack)',
    )
    .option('--no-publish', 'do not publish changes to Kafka')
    .action(async (flags: RunFlags) => {
      const config = loadReportsConfig(resolve(flags.config));
      const driver = createGraphDriver();
      const scheduler = new ReportScheduler({
        config,
        driver,
        redis: redisSettings(),
        kafka: flags.publish
          ? kafkaSettings({ brokers: brokersOf(flags.brokers), clientId: 'nettopo-reports' })
          : undefined,
        queue: flags.queue,
        concurrency: Number(flags.concurrency) || 1,
        schedule: flags.schedule,
        log,
      });
      try {
        await scheduler.start();
        log.info(`working queue ${flags.queue}; reports go to ${config.outputDir}`);
        await new Promise<void>((done) => {
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
        });
      } finally {
        await scheduler.stop();
        await driver.close();
      }
    });
  reports
    .command('status')
    .description(
      'the schedules, job counts, failed jobs (with their reason and attempts) and the newest reports',
    )
    .option('--queue <name>', 'BullMQ queue', DEFAULT_QUEUE)
    .option('-n, --limit <n>', 'failed jobs, finished jobs and reports to list', '10')
    .option('--json', 'print one JSON document')
    .action(async (flags: StatusFlags) => {
      const driver = createGraphDriver();
      try {
        const s = await reportsStatus(redisSettings(), driver, flags.queue, Number(flags.limit) || 10);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
          return;
        }
        const out: string[] = [`queue ${s.queue}`];
        out.push(
          `  jobs: ${Object.entries(s.counts)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')}`,
        );
        out.push('schedules');
        for (const x of s.schedules)
          out.push(
            `  ${x.name}  ${x.every !== null ? `every ${x.every / 1000}s` : `cron ${x.cron}`}  next ${iso(x.next)}`,
          );
        if (s.schedules.length === 0) out.push('  (none)');
        out.push('failed jobs');
        for (const f of s.failed)
          out.push(`  ${f.schedule}  job ${f.job}  ${f.attempts} attempts  at ${iso(f.at)}  ${f.reason}`);
        if (s.failed.length === 0) out.push('  (none)');
        out.push('reports');
        for (const r of s.reports)
          out.push(
            `  ${r.id}  ${r.state}${r.partial ? ' (partial)' : ''}  ${r.changes} changes  ${r.summary ?? ''}`,
          );
        if (s.reports.length === 0) out.push('  (none)');
        process.stdout.write(`${out.join('\n')}\n`);
      } finally {
        await driver.close();
      }
    });

  const report = program.command('report').description('topology reports on demand');
  report
    .command('diff')
    .description(
      'compare two windows of the history now: the later one --from … --to …, the earlier one of the same length right before it (or --before-from/--before-to); writes the same report a schedule does',
    )
    .requiredOption('--from <time>', 'start of the later window (now, -1h, ISO date, epoch ms)')
    .option('--to <time>', 'end of the later window', 'now')
    .option('--before-from <time>', 'start of the earlier window (default: the same length before --from)')
    .option('--before-to <time>', 'end of the earlier window (default: --from)')
    .option('-l, --level <level>', 'process, container, pod, host (workload, service where recorded)', 'host')
    .option(
      '--hosts <ids>',
      'only edges with an end on these hosts (comma-separated, repeatable)',
      stringList,
      [],
    )
    .option('-o, --out <dir>', 'folder for the report files', 'nettopo-reports')
    .option(
      '--threshold <name=value>',
      `override a threshold (${Object.keys(DEFAULT_THRESHOLDS).join(', ')})`,
      stringList,
      [],
    )
    .option('--no-publish', 'do not publish the changes to Kafka')
    .option('--topic-prefix <prefix>', 'prefix of the change topic', '')
    .option('-b, --brokers <list>', 'Kafka (default NETTOPO_KAFKA_BROKERS, else the local stack)')
    .option(
      '--ingest-group <id>',
      'the ingest’s consumer group, whose lag marks the window partial',
      'nettopo-ingest',
    )
    .action(async (flags: DiffFlags) => {
      const now = Date.now();
      const after = { from: parseTime(flags.from, now, '--from'), to: parseTime(flags.to, now, '--to') };
      if (after.to <= after.from) throw new ConfigError('--to must be after --from');
      const before = {
        from: flags.beforeFrom
          ? parseTime(flags.beforeFrom, now, '--before-from')
          : after.from - (after.to - after.from),
        to: flags.beforeTo ? parseTime(flags.beforeTo, now, '--before-to') : after.from,
      };
      if (before.to <= before.from) throw new ConfigError('the earlier window is empty');
      const thresholds = thresholdsOf(thresholdFlags(flags.threshold), '--threshold');
      const driver = createGraphDriver();
      const settings = flags.publish
        ? kafkaSettings({ brokers: brokersOf(flags.brokers), clientId: 'nettopo-report' })
        : undefined;
      const admin = settings
        ? new Kafka({ ...kafkaClientConfig(settings), logLevel: logLevel.NOTHING }).admin()
        : undefined;
      try {
        await admin?.connect();
        const runner = new ReportRunner({
          driver,
          outputDir: resolve(flags.out),
          publisher: settings ? new ChangePublisher({ settings, topicPrefix: flags.topicPrefix }) : undefined,
          ingestGroup: flags.ingestGroup,
          admin,
          log,
        });
        const req = { schedule: null, level: flags.level, before, after, hosts: flags.hosts, thresholds };
        const result = await runner.run(req, undefined, reportId(req, now));
        const r = result.report;
        if (!r || !result.files) return;
        process.stdout.write(
          `${summaryLine(r)}${r.health.partial ? ` Partial: ${r.health.notes.join(' ')}` : ''}\n` +
            `markdown ${result.files.markdown}\njson     ${result.files.json}\nsvg      ${result.files.svg}\n` +
            (settings ? `published ${result.published} changes\n` : ''),
        );
      } finally {
        await admin?.disconnect().catch(() => undefined);
        await driver.close();
      }
    });
}

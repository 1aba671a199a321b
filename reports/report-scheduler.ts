import { EventEmitter } from 'node:events';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { Driver } from 'neo4j-driver';
import { createLogger, type Logger } from '../common/log';
import { DEFAULT_BUCKET_MS } from '../graph-schema/history';
import { kafkaClientConfig, type KafkaSettings } from '../kafka/kafka-config';
import { ChangePublisher } from './change-publisher';
import { HistoryReader } from './history-reader';
import { briefRedis, durableRedis, type RedisSettings } from './redis-connection';
import { ReportRunner, type RunResult } from './report-runner';
import { ReportStore, type StoredReport } from './report-store';
import { windowsAt, type ReportsConfig, type ReportSchedule } from './schedule';

/** The queue the schedules' jobs live in. */
export const DEFAULT_QUEUE = 'nettopo-reports';

/** What a job carries: its schedule (the job scheduler's template). */
interface ReportJobData {
  schedule: ReportSchedule;
}

/** What a finished job returns (shown by `reports status`). */
export interface ReportJobResult {
  report: string;
  duplicate: boolean;
  changes: number;
  partial: boolean;
  markdown: string | null;
}

/** Options of {@link ReportScheduler}. */
export interface ReportSchedulerOptions {
  config: ReportsConfig;
  driver: Driver;
  redis: RedisSettings;
  /** Kafka for the change topic and the ingest-lag check; without it nothing is published. */
  kafka?: KafkaSettings;
  /** @defaultValue {@link DEFAULT_QUEUE} */
  queue?: string;
  /** Jobs run at once by this worker. @defaultValue 1 */
  concurrency?: number;
  /** Register the schedules (job schedulers) on start; a worker that only works leaves them as they are. @defaultValue `true` */
  schedule?: boolean;
  log?: Logger;
}

/**
 * The reports' scheduler and worker on BullMQ: each schedule of the configuration is a job
 * scheduler (an interval or a cron pattern) on one queue, and the worker makes one report per
 * job. Jobs that fail are retried with exponential back-off (the schedule's `attempts` and
 * `backoff`) and stay in the queue's failed set (`reports status`). Several workers may serve
 * one queue: BullMQ hands each job to one of them, and a report is claimed by its id in Neo4j
 * before it is made, so a job run twice (a stalled worker, a duplicated job) makes it once.
 * Events: `report` (RunResult), `failed` (schedule name, Error, attempts made, final).
 */
export class ReportScheduler extends EventEmitter {
  readonly queueName: string;
  private readonly log: Logger;
  private readonly queueConnection: Redis;
  private readonly workerConnection: Redis;
  private readonly queue: Queue<ReportJobData, ReportJobResult>;
  private worker: Worker<ReportJobData, ReportJobResult> | undefined;
  private readonly runner: ReportRunner;
  private readonly reader: HistoryReader;
  private admin: Admin | undefined;

  constructor(private readonly options: ReportSchedulerOptions) {
    super();
    this.log = options.log ?? createLogger('reports');
    this.queueName = options.queue ?? DEFAULT_QUEUE;
    this.queueConnection = durableRedis(options.redis, this.log, 'report scheduler');
    this.workerConnection = durableRedis(options.redis, this.log, 'report worker');
    this.queue = new Queue(this.queueName, { connection: this.queueConnection });
    this.queue.on('error', () => undefined); // the connection reports it (durableRedis)
    const kafka = options.kafka
      ? new Kafka({ ...kafkaClientConfig(options.kafka), logLevel: logLevel.NOTHING })
      : undefined;
    this.admin = kafka?.admin();
    this.reader = new HistoryReader(options.driver);
    this.runner = new ReportRunner({
      driver: options.driver,
      outputDir: options.config.outputDir,
      publisher: options.kafka
        ? new ChangePublisher({ settings: options.kafka, topicPrefix: options.config.topicPrefix })
        : undefined,
      ingestGroup: options.config.ingestGroup,
      admin: this.admin,
      collectorSilenceMs: options.config.collectorSilence,
      log: this.log,
    });
  }

  /** Registers the schedules (unless told not to) and starts working; resolves once Redis took them. */
  async start(): Promise<void> {
    if (this.admin) await this.admin.connect();
    if (this.options.schedule ?? true) await this.sync();
    const worker = new Worker<ReportJobData, ReportJobResult>(this.queueName, (job) => this.process(job), {
      connection: this.workerConnection,
      concurrency: this.options.concurrency ?? 1,
    });
    worker.on('error', () => undefined); // the connection reports it (durableRedis)
    worker.on('failed', (job, err) => {
      if (!job) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1);
      this.log.warn(
        `report ${job.data.schedule.name} (job ${job.id}) failed, attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1}: ${err.message}` +
          (final ? '; left failed (see nettopo reports status)' : '; retrying with back-off'),
      );
      this.emit('failed', job.data.schedule.name, err, job.attemptsMade, final);
    });
    this.worker = worker;
    await worker.waitUntilReady();
  }

  /** Makes the queue's job schedulers those of the configuration (adds, updates, removes). */
  async sync(): Promise<void> {
    const wanted = new Map(this.options.config.schedules.map((s) => [s.name, s]));
    for (const s of wanted.values()) {
      await this.queue.upsertJobScheduler(
        s.name,
        s.every !== null ? { every: s.every } : { pattern: s.cron as string, ...(s.tz ? { tz: s.tz } : {}) },
        {
          name: 'report',
          data: { schedule: s },
          opts: {
            attempts: s.attempts,
            backoff: { type: 'exponential', delay: s.backoff },
            removeOnComplete: { count: 500 },
            removeOnFail: { count: 500 },
          },
        },
      );
    }
    for (const existing of await this.queue.getJobSchedulers())
      if (existing.key && !wanted.has(existing.key)) await this.queue.removeJobScheduler(existing.key);
    this.log.info(
      `schedules on queue ${this.queueName}: ${[...wanted.values()].map((s) => `${s.name} (${s.level}, ${s.every !== null ? `every ${s.every / 1000}s` : s.cron})`).join(', ')}`,
    );
  }

  private async process(job: Job<ReportJobData, ReportJobResult>): Promise<ReportJobResult> {
    const s = job.data.schedule;
    const firedAt = job.opts.prevMillis ?? job.timestamp;
    const settings = await this.reader.settings();
    const { before, after } = windowsAt(s, firedAt, settings?.bucketMs ?? DEFAULT_BUCKET_MS);
    const result: RunResult = await this.runner.run(
      { schedule: s.name, level: s.level, before, after, hosts: s.hosts, thresholds: s.thresholds },
      `bullmq:${this.queueName}:${job.id}`,
    );
    this.emit('report', result);
    return {
      report: result.id,
      duplicate: result.duplicate,
      changes: result.report?.changes.length ?? 0,
      partial: result.report?.health.partial ?? false,
      markdown: result.files?.markdown ?? null,
    };
  }

  /** Stops working (the running job finishes first) and closes the connections. */
  async stop(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    this.queueConnection.disconnect();
    this.workerConnection.disconnect();
    await this.admin?.disconnect().catch(() => undefined);
  }
}

/** What `reports status` shows. */
export interface ReportsStatus {
  queue: string;
  schedules: { name: string; every: number | null; cron: string | null; next: number | null }[];
  counts: Record<string, number>;
  failed: { job: string; schedule: string; reason: string; attempts: number; at: number | null }[];
  completed: { job: string; schedule: string; result: ReportJobResult | null; at: number | null }[];
  reports: StoredReport[];
}

/** Reads the queue's schedules, job counts, failed and finished jobs, and the newest reports in Neo4j. */
export async function reportsStatus(
  redis: RedisSettings,
  driver: Driver,
  queueName = DEFAULT_QUEUE,
  limit = 10,
): Promise<ReportsStatus> {
  const connection = briefRedis(redis);
  connection.on('error', () => undefined);
  const queue = new Queue<ReportJobData, ReportJobResult>(queueName, { connection });
  queue.on('error', () => undefined);
  try {
    await connection.ping().catch((err: Error) => {
      throw new Error(`Redis at ${redis.host}:${redis.port} is unreachable (${err.message})`);
    });
    const [schedulers, counts, failed, completed] = await Promise.all([
      queue.getJobSchedulers(),
      queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed'),
      queue.getFailed(0, limit - 1),
      queue.getCompleted(0, limit - 1),
    ]);
    return {
      queue: queueName,
      schedules: schedulers.map((s) => ({
        name: s.key,
        every: s.every ? Number(s.every) : null,
        cron: s.pattern ?? null,
        next: s.next ?? null,
      })),
      counts,
      failed: failed.map((j) => ({
        job: String(j.id),
        schedule: j.data?.schedule?.name ?? j.name,
        reason: j.failedReason,
        attempts: j.attemptsMade,
        at: j.finishedOn ?? null,
      })),
      completed: completed.map((j) => ({
        job: String(j.id),
        schedule: j.data?.schedule?.name ?? j.name,
        result: j.returnvalue ?? null,
        at: j.finishedOn ?? null,
      })),
      reports: await new ReportStore(driver).list(limit),
    };
  } finally {
    await queue.close().catch(() => undefined);
    connection.disconnect();
  }
}

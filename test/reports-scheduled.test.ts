/**
 * Scheduled topology reports on the local stack's real Redis (BullMQ), Neo4j and Kafka: a schedule
 * firing every few seconds compares two windows of a history written for them, and its Markdown,
 * JSON (validated against its JSON Schema), SVG, TopologyReport node and change records list
 * exactly the changes; a failing job is retried and left failed, visible in the status; two
 * workers make each report once; a worker started while Redis is down says so, retries and works
 * once Redis is there.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import neo4j, { type Driver } from 'neo4j-driver';
import { createGraphDriver, SchemaMigrator } from '../graph-schema';
import { HistoryWriter, type EdgeDelta } from '../ingest';
import { kafkaSettings } from '../kafka/kafka-config';
import {
  DEFAULT_THRESHOLDS,
  redisSettings,
  ReportRunner,
  ReportScheduler,
  reportsConfigOf,
  reportsStatus,
  SVG_COLOURS,
  type ReportsConfig,
  type RunResult,
  type TopologyReport,
} from '../reports';
import { findRedisServer } from '../stack/tools';
import { edgeDelta, TestTopics } from './helpers';
import { hex } from './helpers/ingest-scenario';
import {
  assertRecordedAndPublished,
  assertReportFiles,
  capturingLogger,
  changeSet,
  eventually,
} from './helpers/report-checks';

const BUCKET = 1000;
const EVERY = 5000;

describe('reports: scheduled diffs on BullMQ (real Redis, Neo4j, Kafka)', function () {
  this.timeout(120_000);
  let driver: Driver;
  let topics: TestTopics;
  let dir: string;
  const tag = `rep-${hex(4)}`;
  const host = (n: string): string => `${tag}-${n}`;
  const ext = `198.18.${100 + Math.floor(Math.random() * 100)}.${1 + Math.floor(Math.random() * 250)}`;
  const schedulers: ReportScheduler[] = [];
  const queues: string[] = [];

  before(async () => {
    driver = createGraphDriver();
    await new SchemaMigrator(driver).migrate();
    await new HistoryWriter({ bucketMs: BUCKET }).saveSettings(driver, 'neo4j');
    topics = new TestTopics();
    dir = mkdtempSync(join(tmpdir(), 'nettopo-reports-'));
  });

  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.stop()));
  });

  after(async () => {
    await driver.executeQuery(
      `MATCH (n) WHERE ((n:EdgeBucket OR n:EdgeHistory) AND n.fromKey STARTS WITH $tag)
          OR (n:ListenPeriod AND n.hostId STARTS WITH $tag)
          OR ((n:TopologyReport OR n:TopologyChange) AND (n.id STARTS WITH $tag OR n.reportId STARTS WITH $tag))
       DETACH DELETE n`,
      { tag },
    );
    await driver.close();
    await topics.cleanup();
    rmSync(dir, { recursive: true, force: true });
    const { Queue } = await import('bullmq');
    for (const name of queues) {
      const q = new Queue(name, { connection: redisSettings() });
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
  });

  function delta(from: string, to: string, f: Partial<EdgeDelta>): EdgeDelta {
    const external = to === ext;
    return edgeDelta({
      fromKey: host(from),
      toLabel: external ? 'ExternalEndpoint' : 'Host',
      toKey: external ? ext : host(to),
      connections: 1,
      ...f,
    });
  }

  /** Topology A in [end-4s, end-2s), topology B in [end-2s, end): the windows of the firing at `end`. */
  async function writeScenario(end: number): Promise<void> {
    const w = new HistoryWriter({ bucketMs: BUCKET, retentionMs: 3_600_000 });
    const a = end - 3500;
    const b = end - 1500;
    const session = driver.session({ defaultAccessMode: neo4j.session.WRITE });
    try {
      await session.executeWrite((tx) =>
        w.recordEdges(tx, [
          delta('a', 'b', { bytesToServer: 10_000, lastSeen: a }),
          delta('a', 'c', { bytesToServer: 5_000, lastSeen: a }),
          delta('b', 'c', { bytesToServer: 20_000, lastSeen: a }),
        ]),
      );
      await session.executeWrite(async (tx) => {
        await w.recordEdges(tx, [
          delta('a', 'c', { bytesToServer: 5_000, lastSeen: b }),
          delta('b', 'c', { bytesToServer: 200_000, lastSeen: b }),
          delta('a', 'd', { bytesToServer: 300, lastSeen: b }),
          delta('a', ext, { bytesToServer: 700, lastSeen: b }),
        ]);
        await w.recordListeners(tx, [
          {
            key: `${host('d')}/1/0.0.0.0/9000`,
            hostId: host('d'),
            netns: 1,
            addr: '0.0.0.0',
            port: 9000,
            processKey: null,
            state: 'listening',
            observedAt: b,
          },
        ]);
      });
    } finally {
      await session.close();
    }
  }

  function config(name: string, extra: Record<string, unknown> = {}): ReportsConfig {
    return reportsConfigOf(
      {
        outputDir: dir,
        topicPrefix: topics.prefix,
        schedules: [
          {
            name,
            level: 'host',
            every: `${EVERY / 1000}s`,
            window: '2s',
            delay: 0,
            hosts: ['a', 'b', 'c', 'd'].map(host),
            attempts: 3,
            backoff: '200ms',
            ...extra,
          },
        ],
      },
      dir,
    );
  }

  function scheduler(
    cfg: ReportsConfig,
    queue: string,
    log = capturingLogger(),
    redisPort?: number,
  ): ReportScheduler {
    if (!queues.includes(queue)) queues.push(queue);
    const s = new ReportScheduler({
      config: cfg,
      driver,
      redis: redisSettings(redisPort),
      kafka: kafkaSettings({ brokers: topics.broker, clientId: 'nettopo-test-reports' }),
      queue,
      log,
    });
    schedulers.push(s);
    return s;
  }

  const expected = (): string[] =>
    [
      `edge-appeared host|Host|${host('a')}|ExternalEndpoint|${ext}|8080|tcp`,
      `edge-appeared host|Host|${host('a')}|Host|${host('d')}|8080|tcp`,
      `edge-vanished host|Host|${host('a')}|Host|${host('b')}|8080|tcp`,
      `edge-changed host|Host|${host('b')}|Host|${host('c')}|8080|tcp`,
      `external-endpoint-appeared ExternalEndpoint:${ext}`,
      `node-appeared Host:${host('d')}`,
      `listener-appeared listener:${host('d')}/1/9000`,
    ].sort();

  it('when a schedule fires every few seconds, then the report of its windows lists exactly the changes in Markdown, JSON, SVG, Neo4j and on the change topic', async () => {
    const name = `${tag}-every5s`;
    const s = scheduler(config(name), `${tag}-q1`);
    const reports: RunResult[] = [];
    s.on('report', (r: RunResult) => reports.push(r));
    await s.start();
    // The schedule fires every 5 s from its first run on: learn the phase, then write the two
    // topologies into the windows of the run after next.
    const first = await eventually(
      'a first report',
      () => reports.find((r) => r.report)?.report ?? undefined,
      20_000,
    );
    const end = first.after.to + 2 * EVERY;
    await writeScenario(end);
    const result = await eventually(
      'the report of the windows written',
      () => reports.find((r) => r.report?.after.to === end),
      30_000,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}; reports made: ${reports.map((r) => `${r.id} ${JSON.stringify(r.report?.after)}`).join(', ')}`,
      );
    });
    const report = result.report as TopologyReport;
    assert.deepEqual(changeSet(report), expected());
    assert.deepEqual(report.after, { from: end - 2000, to: end });
    assert.deepEqual(report.before, { from: end - 4000, to: end - 2000 });
    const changed = report.changes.find((c) => c.kind === 'edge-changed');
    assert.deepEqual(
      changed?.metrics.map((m) => m.metric),
      ['trafficBytesPerMin'],
    );
    assert.equal(changed?.before?.bytesToServer, 20_000);
    assert.equal(changed?.after?.bytesToServer, 200_000);

    // JSON: what was returned, and valid against the schema.
    const { lines, items } = assertReportFiles(
      result.files as NonNullable<RunResult['files']>,
      expected(),
      /^\*\*Summary\.\*\* 2 edges appeared, 1 edge vanished, 1 edge changed, 1 new external endpoint, 1 node appeared, 1 new listening port \(3 edges before, 4 after\)\.$/,
      [
        'Edges that appeared',
        'Edges that vanished',
        'Edges that changed',
        'New external endpoints',
        'Nodes that appeared',
        'New listening ports',
      ],
    );
    // Markdown: one table per kind with exactly these rows.
    const rowsOf = (title: string): string[] => {
      const at = lines.indexOf(`## ${title}`);
      const out: string[] = [];
      for (let i = at + 4; i < lines.length && lines[i].startsWith('|'); i++) out.push(lines[i]);
      return out;
    };
    assert.deepEqual(rowsOf('Edges that appeared').length, 2);
    assert.match(
      rowsOf('Edges that vanished')[0],
      new RegExp(
        `\\| ${host('a').slice(0, 12)} \\(Host\\) \\| ${host('b').slice(0, 12)} \\(Host\\) \\| 8080 \\| 1 \\|`,
      ),
    );
    assert.equal(rowsOf('Edges that changed').length, 1);
    assert.match(rowsOf('Edges that changed')[0], /traffic .* → .* \(×10\.0\)/);
    assert.deepEqual(rowsOf('New external endpoints'), [`| ${ext} |`]);
    assert.equal(rowsOf('New listening ports').length, 1);
    assert.match(rowsOf('New listening ports')[0], /\| 9000 \|/);

    // SVG: each changed edge drawn with its kind's colour; the unchanged a→c in grey for context.
    const edges = items.filter((i) => i.classes.includes('edge'));
    assert.deepEqual(edges.map((e) => e.classes[1]).sort(), [
      'context',
      'edge-appeared',
      'edge-appeared',
      'edge-changed',
      'edge-vanished',
    ]);
    assert.equal(edges.find((e) => e.classes.includes('context'))?.stroke, SVG_COLOURS.context);

    // Neo4j and Kafka: exactly these changes; no other report of this schedule found one (their
    // windows hold nothing of this scope).
    const all = await assertRecordedAndPublished(driver, topics, report.id, expected());
    assert.deepEqual(
      all.filter((r) => r.reportId !== report.id),
      [],
    );
  });

  it('when a job fails, then it is retried with back-off and stays visible as failed in the status, with its reason and attempts', async () => {
    const name = `${tag}-broken`;
    const notADir = join(dir, 'a-file');
    writeFileSync(notADir, 'not a folder');
    const cfg = config(name);
    cfg.outputDir = join(notADir, 'reports');
    const log = capturingLogger();
    const s = scheduler(cfg, `${tag}-q2`, log);
    const failures: { attempts: number; final: boolean }[] = [];
    s.on('failed', (_: string, __: Error, attempts: number, final: boolean) =>
      failures.push({ attempts, final }),
    );
    await s.start();
    await eventually('a job failed three times', () => failures.some((f) => f.final), 30_000);
    const firstRun = failures.slice(0, 3);
    assert.deepEqual(firstRun, [
      { attempts: 1, final: false },
      { attempts: 2, final: false },
      { attempts: 3, final: true },
    ]);
    assert.ok(
      log.lines.some((l) => /attempt 1 of 3: .*ENOTDIR.*retrying with back-off/.test(l)),
      log.lines.join('\n'),
    );
    const status = await reportsStatus(redisSettings(), driver, `${tag}-q2`);
    const failed = status.failed.find((f) => f.schedule === name);
    assert.ok(failed, JSON.stringify(status));
    assert.equal(failed.attempts, 3);
    assert.match(failed.reason, /ENOTDIR/);
    assert.ok(status.counts.failed >= 1);
    assert.deepEqual(
      status.schedules.map((x) => [x.name, x.every]),
      [[name, EVERY]],
    );
  });

  it('when two workers serve one queue, then each report is made once, and a job run twice makes nothing the second time', async () => {
    const name = `${tag}-two`;
    const queue = `${tag}-q3`;
    const results: RunResult[] = [];
    const a = scheduler(config(name), queue);
    const b = scheduler(config(name), queue);
    for (const s of [a, b]) s.on('report', (r: RunResult) => results.push(r));
    await Promise.all([a.start(), b.start()]);
    await eventually('three reports', () => results.filter((r) => !r.duplicate).length >= 3, 30_000);
    const ids = results.filter((r) => !r.duplicate).map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, `no report twice: ${ids.join(', ')}`);
    // The same request again, as another owner (a duplicated or stalled job): nothing is made.
    const made = results[0].report as TopologyReport;
    const again = await new ReportRunner({ driver, outputDir: dir }).run(
      {
        schedule: name,
        level: 'host',
        before: made.before,
        after: made.after,
        hosts: made.scope.hosts,
        thresholds: { ...DEFAULT_THRESHOLDS },
      },
      'another-owner',
      made.id,
    );
    assert.equal(again.duplicate, true);
    const { records } = await driver.executeQuery(
      'MATCH (r:TopologyReport) WHERE r.schedule = $name RETURN r.id AS id',
      { name },
    );
    assert.equal(records.length, new Set(records.map((r) => r.get('id'))).size);
  });

  it('when Redis is down at start, then the scheduler says so, keeps retrying, and schedules and works once Redis is up', async () => {
    const port = await freePort();
    const log = capturingLogger();
    const s = scheduler(config(`${tag}-late-redis`), `${tag}-q4`, log, port);
    const reports: RunResult[] = [];
    s.on('report', (r: RunResult) => reports.push(r));
    let started = false;
    void s.start().then(() => (started = true));
    await eventually(
      'the outage logged',
      () => log.lines.some((l) => l.includes(`Redis at 127.0.0.1:${port} is unreachable`)),
      10_000,
    );
    assert.match(log.lines.find((l) => l.includes('unreachable')) as string, /ECONNREFUSED.*retrying/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(started, false, 'start waits for Redis');
    let redis: ChildProcess | undefined;
    try {
      redis = spawn(
        findRedisServer(),
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      await eventually('the scheduler back', () => started, 20_000);
      assert.ok(
        log.lines.some((l) => l.includes(`Redis at 127.0.0.1:${port} is reachable again`)),
        log.lines.join('\n'),
      );
      await eventually('a report made', () => reports.length > 0, 20_000);
    } finally {
      await s.stop();
      schedulers.splice(schedulers.indexOf(s), 1);
      redis?.kill('SIGTERM');
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

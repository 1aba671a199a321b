/**
 * The topology report end to end, from real traffic: three test hosts (network namespaces), each
 * with its own `nettopo collect --kafka --host-id … --netns …`, a fourth that no collector watches
 * (an external server), the real ingest recording history into the local stack's Neo4j, and a
 * report schedule on the stack's Redis firing every 10 s. Topology A is run in one window,
 * topology B in the next — one edge gone, one new, one with 10× the bytes, one new external
 * endpoint, one new listening port — and the report of those two windows lists exactly those
 * changes, in its Markdown, JSON, SVG, TopologyReport node and change records.
 * Needs root and a BPF-capable kernel (otherwise skipped with the reason), and the local stack.
 */
import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Driver } from 'neo4j-driver';
import { createGraphDriver } from '../graph-schema';
import { IngestService } from '../ingest';
import { kafkaSettings } from '../kafka/kafka-config';
import {
  redisSettings,
  ReportScheduler,
  reportsConfigOf,
  type RunResult,
  type TopologyReport,
} from '../reports';
import { type CliRun, PeerProcess, TestFleetNetwork, TestTopics, type FleetHost } from './helpers';
import * as checks from './helpers/report-checks';

const W = 10_000;
const BUCKET = 2_000;
const sleepUntil = (t: number): Promise<void> =>
  new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

describe('reports from real traffic: collectors → Kafka → ingest → history → scheduled report (real kernel, Kafka, Neo4j, Redis)', function () {
  this.timeout(240_000);
  let net: TestFleetNetwork | undefined;
  let topics: TestTopics | undefined;
  let driver: Driver | undefined;
  let ingest: IngestService | undefined;
  let scheduler: ReportScheduler | undefined;
  let dir: string | undefined;
  const collectors: CliRun[] = [];
  const peers: PeerProcess[] = [];
  const ids = {
    h0: randomBytes(16).toString('hex'),
    h1: randomBytes(16).toString('hex'),
    h2: randomBytes(16).toString('hex'),
  };
  const group = `nettopo-test-reports-${randomUUID()}`;
  const schedule = `scenario-${randomBytes(4).toString('hex')}`;
  const queue = `nettopo-test-${schedule}`;

  before(function () {
    if (process.geteuid?.() !== 0) {
      console.log('    skipped: needs root (loads eBPF programs)');
      this.skip();
    }
  });

  after(async () => {
    peers.splice(0).forEach((p) => p.kill());
    await scheduler?.stop();
    await Promise.all(collectors.splice(0).map((c) => c.stop()));
    await ingest?.stop();
    const hosts = Object.values(ids);
    if (driver && net) {
      const ips = net.hosts.map((h) => h.v4);
      await driver.executeQuery(
        `MATCH (n) WHERE ((n:Host OR n:Process OR n:Listener OR n:NetnsAddress OR n:ListenPeriod) AND n.hostId IN $hosts)
            OR ((n:EdgeBucket OR n:EdgeHistory) AND any(h IN $keys WHERE n.fromKey STARTS WITH h OR n.toKey STARTS WITH h))
            OR (n:ExternalEndpoint AND n.ip IN $ips)
            OR (n:TopologyReport AND n.schedule = $schedule)
            OR (n:TopologyChange AND n.reportId STARTS WITH $schedule)
         DETACH DELETE n`,
        { hosts, keys: [...hosts, ...ips], ips, schedule },
      );
      await driver.executeQuery(
        'MATCH (c:Connection) WHERE any(h IN c.hosts WHERE h IN $hosts) DETACH DELETE c',
        { hosts },
      );
      await driver.executeQuery('MATCH (p:IngestProgress {group: $group}) DELETE p', { group });
    }
    await driver?.close();
    net?.destroy();
    if (topics) {
      const admin = topics.kafka.admin();
      await admin.connect();
      await admin.deleteGroups([group]).catch(() => undefined);
      await admin.disconnect();
      await topics.cleanup();
    }
    const { Queue } = await import('bullmq');
    const q = new Queue(queue, { connection: redisSettings() });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('when topology B follows topology A, then the scheduled report lists exactly the edge gone, the edge new, the edge with 10× the bytes, the new external endpoint and the new listening port', async () => {
    net = TestFleetNetwork.create(4);
    const [h0, h1, h2, ext] = net.hosts as [FleetHost, FleetHost, FleetHost, FleetHost];
    topics = new TestTopics();
    driver = createGraphDriver();
    dir = mkdtempSync(join(tmpdir(), 'nettopo-scenario-'));

    collectors.push(
      ...(await checks.startCollectors(topics, [
        [h0, ids.h0],
        [h1, ids.h1],
        [h2, ids.h2],
      ])),
    );
    ingest = new IngestService({
      brokers: [topics.broker],
      groupId: group,
      topicPrefix: topics.prefix,
      history: { bucketMs: BUCKET, retentionMs: 3_600_000 },
    });
    await ingest.start();

    // Every server of A and B listens from the start (their listening ports are not new), but
    // the one on :7005, which starts in B.
    const server = (h: FleetHost, port: number, connections: number): PeerProcess => {
      const p = new PeerProcess(h.ns, { role: 'server', host: h.v4, port, reply: 100, connections });
      peers.push(p);
      return p;
    };
    const servers = [
      server(h1, 7001, 1),
      server(h2, 7002, 2),
      server(h2, 7003, 2),
      server(h0, 7004, 1),
      server(ext, 443, 1),
    ];
    await Promise.all(servers.map((s) => s.waitFor('listening')));
    const call = async (from: FleetHost, to: FleetHost, port: number, send: number): Promise<void> => {
      const c = new PeerProcess(from.ns, { role: 'client', host: to.v4, port, send });
      peers.push(c);
      await c.waitFor('done', 20_000);
    };

    const s = new ReportScheduler({
      config: reportsConfigOf({
        outputDir: dir,
        topicPrefix: topics.prefix,
        ingestGroup: group,
        schedules: [
          {
            name: schedule,
            level: 'host',
            every: `${W / 1000}s`,
            window: `${W / 1000}s`,
            delay: '4s',
            hosts: Object.values(ids),
            attempts: 3,
            backoff: '1s',
          },
        ],
      }),
      driver,
      redis: redisSettings(),
      kafka: kafkaSettings({ brokers: topics.broker, clientId: 'nettopo-test-scenario' }),
      queue,
      log: checks.capturingLogger(),
    });
    scheduler = s;
    const reports: RunResult[] = [];
    s.on('report', (r: RunResult) => reports.push(r));
    await s.start();
    // Learn the schedule's phase from its first report, then run A and B in the windows of a later one.
    const first = await checks.eventually(
      'a first report',
      () => reports.find((r) => r.report)?.report ?? undefined,
      30_000,
    );
    const end = first.after.to + 3 * W;

    await sleepUntil(end - 2 * W + 500);
    await call(h0, h1, 7001, 5_000); // gone in B
    await call(h0, h2, 7002, 5_000); // the same in B
    await call(h1, h2, 7003, 10_000); // 10× in B
    assert.ok(Date.now() < end - W - 500, 'topology A ran inside its window');

    await sleepUntil(end - W + 500);
    const newListener = server(h2, 7005, 1);
    await newListener.waitFor('listening');
    await call(h0, h2, 7002, 5_000);
    await call(h1, h2, 7003, 100_000);
    await call(h1, h0, 7004, 3_000); // new
    await call(h2, ext, 443, 700); // new external endpoint
    assert.ok(Date.now() < end - 500, 'topology B ran inside its window');

    const result = await checks.eventually(
      'the report of windows A and B',
      () => reports.find((r) => r.report?.after.to === end),
      40_000,
    );
    const report = result.report as TopologyReport;
    const edge = (from: string, toLabel: string, to: string, port: number): string =>
      `host|Host|${from}|${toLabel}|${to}|${port}|tcp`;
    const expected = [
      `edge-appeared ${edge(ids.h1, 'Host', ids.h0, 7004)}`,
      `edge-appeared ${edge(ids.h2, 'ExternalEndpoint', ext.v4, 443)}`,
      `edge-vanished ${edge(ids.h0, 'Host', ids.h1, 7001)}`,
      `edge-changed ${edge(ids.h1, 'Host', ids.h2, 7003)}`,
      `external-endpoint-appeared ExternalEndpoint:${ext.v4}`,
      `listener-appeared listener:${ids.h2}/${net.inode(h2.ns)}/7005`,
    ].sort();
    assert.deepEqual(checks.changeSet(report), expected);
    assert.equal(report.health.partial, false, report.health.notes.join(' '));
    const changed = report.changes.find((c) => c.kind === 'edge-changed');
    assert.deepEqual(
      changed?.metrics.map((m) => m.metric),
      ['trafficBytesPerMin'],
    );
    assert.equal(changed?.before?.bytesToServer, 10_000);
    assert.equal(changed?.after?.bytesToServer, 100_000);
    assert.equal(report.changes.find((c) => c.kind === 'edge-vanished')?.before?.bytesToServer, 5_000);

    checks.assertReportFiles(
      result.files as NonNullable<RunResult['files']>,
      expected,
      /^\*\*Summary\.\*\* 2 edges appeared, 1 edge vanished, 1 edge changed, 1 new external endpoint, 1 new listening port \(3 edges before, 4 after\)\.$/,
      [
        'Edges that appeared',
        'Edges that vanished',
        'Edges that changed',
        'New external endpoints',
        'New listening ports',
      ],
    );
    await checks.assertRecordedAndPublished(driver, topics, report.id, expected);
  });
});

/**
 * The whole pipeline end to end, on a fleet simulated on one machine: three test hosts, each a
 * network namespace with its own `nettopo collect --kafka --host-id … --netns …` (one collector per
 * host, as on a real fleet), a fourth namespace that no collector watches (an "external" server),
 * real traffic between processes placed in docker- and kubepods-shaped cgroups, the local stack's
 * real Kafka, the real ingest, and the local stack's real Neo4j. The graph is compared with the
 * bytes the peers themselves report they sent and received.
 * Needs root, a BPF-capable kernel and a cgroup2 mount (otherwise skipped with the reason), and
 * the local stack's Kafka and Neo4j (`nettopo stack up kafka neo4j`; addresses from connectionUrls()).
 */
import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Driver } from 'neo4j-driver';
import { createGraphDriver } from '../graph-schema';
import { IngestService } from '../ingest';
import { toNumber } from '../ingest/graph/neo4j-params';
import { cgroupTestSkipReason, TestCgroups } from './helpers/cgroups';
import { graphWritten, tearDownPipeline } from './helpers/pipeline-test';
import { startCollectors } from './helpers/report-checks';
import {
  CliRun,
  PeerProcess,
  TestFleetNetwork,
  TestTopics,
  type FleetHost,
  type PeerReport,
} from './helpers';

const API_PORT = 8080;
const DB_PORT = 5432;
const EXTERNAL_PORT = 443;

/** One CONNECTS_TO as read back: `from|to|port` → totals. */
interface EdgeRow {
  connections: number;
  failedConnects: number;
  bytesToServer: number;
  bytesToClient: number;
}

/** Reads the CONNECTS_TO edges of one level that touch `ids` (matched on `idProperty`). */
async function edgesAt(
  driver: Driver,
  level: 'process' | 'container' | 'pod' | 'host',
  idProperty: 'hostId' | 'containerId' | 'uid',
  ids: string[],
): Promise<Map<string, EdgeRow>> {
  // A node's name in the expected map: the external's ip, a process's host/pid, else its key.
  const name = (v: string): string =>
    `CASE WHEN ${v}:ExternalEndpoint THEN 'ext:' + ${v}.ip
          WHEN ${v}:Process THEN ${v}.hostId + '/' + toString(${v}.pid)
          ELSE ${v}.${idProperty} END`;
  const { records } = await driver.executeQuery(
    `MATCH (a)-[r:CONNECTS_TO {level: $level}]->(b)
     WHERE a.${idProperty} IN $ids OR b.${idProperty} IN $ids
     RETURN ${name('a')} AS from, ${name('b')} AS to, r.port AS port, r.protocol AS protocol,
            r.connections AS connections, r.failedConnects AS failedConnects,
            r.bytesToServer AS bytesToServer, r.bytesToClient AS bytesToClient`,
    { level, ids },
  );
  const out = new Map<string, EdgeRow>();
  for (const r of records) {
    assert.equal(r.get('protocol'), 'tcp');
    out.set(`${r.get('from')}|${r.get('to')}|${toNumber(r.get('port'))}`, {
      connections: toNumber(r.get('connections')) ?? 0,
      failedConnects: toNumber(r.get('failedConnects')) ?? 0,
      bytesToServer: toNumber(r.get('bytesToServer')) ?? 0,
      bytesToClient: toNumber(r.get('bytesToClient')) ?? 0,
    });
  }
  return out;
}

/** Sums the byte counts of some peer reports into one edge's expected totals. */
function totals(reports: PeerReport[]): EdgeRow {
  return {
    connections: reports.length,
    failedConnects: 0,
    bytesToServer: reports.reduce((n, r) => n + (r.sent ?? 0), 0),
    bytesToClient: reports.reduce((n, r) => n + (r.received ?? 0), 0),
  };
}

describe('e2e fleet: one collector per host → Kafka → ingest → Neo4j (real kernel, Kafka, Neo4j)', function () {
  this.timeout(180_000);
  let net: TestFleetNetwork | undefined;
  let cgroups: TestCgroups | undefined;
  let topics: TestTopics | undefined;
  let driver: Driver | undefined;
  let ingest: IngestService | undefined;
  const collectors: CliRun[] = [];
  const peers: PeerProcess[] = [];
  /** What to remove from Neo4j afterwards. */
  const written = graphWritten();

  before(function () {
    const skip = process.geteuid?.() !== 0 ? 'needs root (loads eBPF programs)' : cgroupTestSkipReason();
    if (skip) {
      console.log(`    skipped: ${skip}`);
      this.skip();
    }
  });

  afterEach(async function () {
    await tearDownPipeline({ peers, runs: collectors, ingest, net, cgroups, driver, topics, written });
    [ingest, net, cgroups, driver, topics] = [undefined, undefined, undefined, undefined, undefined];
  });

  it('when a client calls an API that calls a database and an unmonitored server, then the graph holds exactly those edges at process, container, pod and host level, each connection counted once with the bytes the peers sent and received', async function () {
    net = TestFleetNetwork.create(4);
    const [hostA, hostB, hostC, external] = net.hosts as [FleetHost, FleetHost, FleetHost, FleetHost];
    cgroups = TestCgroups.create();
    topics = new TestTopics();
    driver = createGraphDriver();
    const ids = {
      a: randomBytes(16).toString('hex'),
      b: randomBytes(16).toString('hex'),
      c: randomBytes(16).toString('hex'),
    };
    const group = `nettopo-test-e2e-${randomUUID()}`;
    const clientContainer = randomBytes(32).toString('hex');
    const apiContainer = randomBytes(32).toString('hex');
    const dbContainer = randomBytes(32).toString('hex');
    const apiPod = randomUUID();
    const dbPod = randomUUID();
    written.hosts.push(ids.a, ids.b, ids.c);
    written.containers.push(clientContainer, apiContainer, dbContainer);
    written.pods.push(apiPod, dbPod);
    written.ips.push(...net.hosts.map((h) => h.v4));
    written.groups.push(group);
    const kubepods = (pod: string, container: string): string =>
      `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${pod.replace(/-/g, '_')}.slice/cri-containerd-${container}.scope`;
    const clientCgroup = cgroups.mkdir(`system.slice/docker-${clientContainer}.scope`);
    const apiCgroup = cgroups.mkdir(kubepods(apiPod, apiContainer));
    const dbCgroup = cgroups.mkdir(kubepods(dbPod, dbContainer));

    // One collector per monitored host, each with its own host id and namespace; none for `external`.
    collectors.push(
      ...(await startCollectors(topics, [
        [hostA, ids.a],
        [hostB, ids.b],
        [hostC, ids.c],
      ])),
    );

    const db = new PeerProcess(
      hostC.ns,
      { role: 'server', host: hostC.v4, port: DB_PORT, reply: 70_001, connections: 2 },
      dbCgroup.dir,
    );
    const ext = new PeerProcess(external.ns, {
      role: 'server',
      host: external.v4,
      port: EXTERNAL_PORT,
      reply: 3_333,
    });
    peers.push(db, ext);
    await Promise.all([db.waitFor('listening'), ext.waitFor('listening')]);
    const api = new PeerProcess(
      hostB.ns,
      {
        role: 'relay',
        host: hostB.v4,
        port: API_PORT,
        reply: 12_345,
        upstreams: [
          { host: hostC.v4, port: DB_PORT, send: 1_111 },
          { host: hostC.v4, port: DB_PORT, send: 2_222 },
          { host: external.v4, port: EXTERNAL_PORT, send: 555 },
        ],
      },
      apiCgroup.dir,
    );
    peers.push(api);
    await api.waitFor('listening');
    const client = new PeerProcess(
      hostA.ns,
      { role: 'client', host: hostB.v4, port: API_PORT, send: 98_765 },
      clientCgroup.dir,
    );
    peers.push(client);
    const done = await client.waitFor('done', 20_000);
    const served = await api.waitFor('served', 20_000);
    await Promise.all(peers.map((p) => p.exited(20_000)));

    // The peers agree with each other: each byte sent was received.
    const calls = api.reportsOf('called');
    const dbCalls = calls.filter((c) => c.host === hostC.v4);
    const extCalls = calls.filter((c) => c.host === external.v4);
    assert.equal(dbCalls.length, 2);
    assert.equal(extCalls.length, 1);
    assert.deepEqual(
      { sent: done.sent, received: done.received },
      { sent: served.received, received: served.sent },
    );
    assert.deepEqual(
      db.reportsOf('served').map((s) => s.received),
      dbCalls.map((c) => c.sent),
    );
    assert.deepEqual(
      db.reportsOf('served').map((s) => s.sent),
      dbCalls.map((c) => c.received),
    );
    assert.equal(ext.reportsOf('served')[0]?.received, extCalls[0]?.sent);

    // Stopping flushes each collector's final records into Kafka, then it exits.
    const logs = await Promise.all(collectors.splice(0).map((c) => c.stop()));
    for (const log of logs) assert.match(log, / 0 undelivered at exit/, log);

    ingest = new IngestService({ brokers: [topics.broker], groupId: group, topicPrefix: topics.prefix });
    await ingest.start();
    await ingest.waitUntilCaughtUp(60_000);

    // Both ends of client → API and API → DB were reported (by two collectors); the external call by one.
    const connections = await driver.executeQuery(
      'MATCH (c:Connection) WHERE any(h IN c.hosts WHERE h IN $hosts) RETURN c.hosts AS hosts',
      { hosts: [ids.a, ids.b, ids.c] },
    );
    assert.deepEqual(
      connections.records.map((r) => [...(r.get('hosts') as string[])].sort().join('+')).sort(),
      [[ids.a, ids.b], [ids.b, ids.c], [ids.b, ids.c], [ids.b]].map((h) => h.sort().join('+')).sort(),
      'ends seen per connection',
    );

    const clientProc = `${ids.a}/${done.pid}`;
    const apiProc = `${ids.b}/${served.pid}`;
    const dbProc = `${ids.c}/${db.reportsOf('served')[0]?.pid}`;
    const extNode = `ext:${external.v4}`;
    const clientToApi = totals([done]);
    const apiToDb = totals(dbCalls);
    const apiToExt = totals(extCalls);
    const expect = (edges: Array<[string, string, number, EdgeRow]>): Map<string, EdgeRow> =>
      new Map(edges.map(([from, to, port, row]) => [`${from}|${to}|${port}`, row]));

    assert.deepEqual(
      await edgesAt(driver, 'process', 'hostId', [ids.a, ids.b, ids.c]),
      expect([
        [clientProc, apiProc, API_PORT, clientToApi],
        [apiProc, dbProc, DB_PORT, apiToDb],
        [apiProc, extNode, EXTERNAL_PORT, apiToExt],
      ]),
      'process level',
    );
    assert.deepEqual(
      await edgesAt(driver, 'container', 'containerId', [clientContainer, apiContainer, dbContainer]),
      expect([
        [clientContainer, apiContainer, API_PORT, clientToApi],
        [apiContainer, dbContainer, DB_PORT, apiToDb],
        [apiContainer, extNode, EXTERNAL_PORT, apiToExt],
      ]),
      'container level',
    );
    // The client's container is docker's, in no pod: no pod-level edge from it.
    assert.deepEqual(
      await edgesAt(driver, 'pod', 'uid', [apiPod, dbPod]),
      expect([
        [apiPod, dbPod, DB_PORT, apiToDb],
        [apiPod, extNode, EXTERNAL_PORT, apiToExt],
      ]),
      'pod level',
    );
    assert.deepEqual(
      await edgesAt(driver, 'host', 'hostId', [ids.a, ids.b, ids.c]),
      expect([
        [ids.a, ids.b, API_PORT, clientToApi],
        [ids.b, ids.c, DB_PORT, apiToDb],
        [ids.b, extNode, EXTERNAL_PORT, apiToExt],
      ]),
      'host level',
    );

    // Each process is placed on its own host, container and pod.
    const { records } = await driver.executeQuery(
      `MATCH (p:Process)-[:RUNS_ON]->(h:Host) WHERE h.hostId IN $hosts AND p.pid IN $pids
       OPTIONAL MATCH (p)-[:IN_CONTAINER]->(c:Container)
       OPTIONAL MATCH (c)-[:IN_POD]->(pod:Pod)
       RETURN h.hostId + '/' + toString(p.pid) AS proc, c.containerId AS container, pod.uid AS pod
       ORDER BY proc`,
      { hosts: [ids.a, ids.b, ids.c], pids: [done.pid, served.pid, db.reportsOf('served')[0]?.pid] },
    );
    assert.deepEqual(
      records.map((r) => [r.get('proc'), r.get('container'), r.get('pod')]),
      [
        [clientProc, clientContainer, null],
        [apiProc, apiContainer, apiPod],
        [dbProc, dbContainer, dbPod],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    // The unmonitored server is known by its address only.
    const extNodes = await driver.executeQuery('MATCH (x:ExternalEndpoint {ip: $ip}) RETURN count(x) AS n', {
      ip: external.v4,
    });
    assert.equal(toNumber(extNodes.records[0]?.get('n')), 1);
  });
});

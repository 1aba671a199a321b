import { strict as assert } from 'node:assert';
import type { Driver } from 'neo4j-driver';
import { createGraphDriver } from '../graph-schema';
import { IngestService } from '../ingest';
import { toNumber } from '../ingest/graph/neo4j-params';
import { cleanUp, edgeTotals, hex, IngestScenario, produce } from './helpers/ingest-scenario';

describe('ingest: correlation of both ends', function () {
  this.timeout(120_000);
  const prefix = `test-${hex(4)}.`;
  const group = `g-${hex(4)}`;
  const s = new IngestScenario({ connections: 25, recordsPerFlow: 4 });
  let driver: Driver;
  let ingest: IngestService;

  before(async () => {
    driver = createGraphDriver();
    ingest = new IngestService({ topicPrefix: prefix, groupId: group });
    await ingest.start();
    await produce(prefix, s.stateMessages());
    await ingest.waitUntilCaughtUp(60_000);
    const flows = s.flowMessages();
    // Collectors resend after a Kafka timeout: every flow record twice.
    await produce(prefix, [...flows, ...flows]);
    await ingest.waitUntilCaughtUp(60_000);
  });

  after(async () => {
    await ingest?.stop();
    await cleanUp(driver, s, prefix, [group]);
    await driver.close();
  });

  it('when two collectors (one per host, each with its own host id) see the same connection, then there is one edge and its bytes are not doubled', async () => {
    const totals = await edgeTotals(driver, s.hosts);
    const key = `${s.clientKey}|${s.serverKey}|8080`;
    assert.deepEqual(totals.get(key), s.expected.get(key));
    assert.deepEqual(totals, s.expected);
  });

  it('when the edge is rolled up, then Container, Pod and Host levels carry the same totals as the Process level', async () => {
    const want = s.expected.get(`${s.clientKey}|${s.serverKey}|8080`);
    assert.deepEqual(
      (await edgeTotals(driver, s.hosts, 'container')).get(`${s.containerA}|${s.containerB}|8080`),
      want,
    );
    assert.deepEqual((await edgeTotals(driver, s.hosts, 'pod')).get(`${s.podA}|${s.podB}|8080`), want);
    const hostLevel = await edgeTotals(driver, s.hosts, 'host');
    assert.deepEqual(hostLevel.get(`${s.hostA}|${s.hostB}|8080`), want);
  });

  it('when traffic is on loopback, then it stays inside its host and namespace', async () => {
    const { records } = await driver.executeQuery(
      `MATCH (a:Process)-[r:CONNECTS_TO {port: 6379}]->(b:Process) WHERE a.hostId IN $hosts
       RETURN a.hostId AS from, b.hostId AS to, b.comm AS comm`,
      { hosts: s.hosts },
    );
    assert.equal(records.length, 1);
    assert.equal(records[0].get('from'), s.hostA);
    assert.equal(records[0].get('to'), s.hostA);
    assert.equal(records[0].get('comm'), 'redis');
  });

  it('when a remote address belongs to no collector, then the edge ends at an ExternalEndpoint', async () => {
    const { records } = await driver.executeQuery(
      `MATCH (p:Process {key: $key})-[r:CONNECTS_TO {port: 443}]->(x:ExternalEndpoint) RETURN x.ip AS ip, r.connections AS c`,
      { key: s.clientKey },
    );
    assert.equal(records.length, 1);
    assert.equal(records[0].get('ip'), s.externalIp);
    assert.equal(toNumber(records[0].get('c')), 2);
  });

  it('when processes have pod and container records, then the hierarchy Process → Container → Pod → Host exists', async () => {
    const { records } = await driver.executeQuery(
      `MATCH (p:Process {key: $key})-[:IN_CONTAINER]->(c:Container)-[:IN_POD]->(pod:Pod), (p)-[:RUNS_ON]->(h:Host)
       RETURN c.containerId AS c, pod.uid AS pod, h.hostname AS host`,
      { key: s.serverKey },
    );
    assert.equal(records.length, 1);
    assert.equal(records[0].get('c'), s.containerB);
    assert.equal(records[0].get('pod'), s.podB);
  });

  it('when the whole topic is replayed into a fresh consumer group, then every total is unchanged', async () => {
    const before = await edgeTotals(driver, s.hosts);
    const replay = new IngestService({ topicPrefix: prefix, groupId: `${group}-replay`, migrate: false });
    try {
      await replay.start();
      await replay.waitUntilCaughtUp(60_000);
      assert.ok(replay.stats().records > 0, 'the replay consumed nothing');
    } finally {
      await replay.stop();
      await driver.executeQuery('MATCH (p:IngestProgress {group: $g}) DELETE p', { g: `${group}-replay` });
    }
    assert.deepEqual(await edgeTotals(driver, s.hosts), before);
    assert.deepEqual(before, s.expected);
  });
});

import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { Driver } from 'neo4j-driver';
import { CLUSTER_TOPICS, type TopicMessage } from '../contract';
import { createGraphDriver } from '../graph-schema';
import { IngestService } from '../ingest';
import { toNumber } from '../ingest/graph/neo4j-params';
import {
  cleanUpCluster,
  clusterMessages,
  endpointSliceV1,
  podV1,
  serviceV1,
} from './helpers/cluster-records';
import { hex, produce } from './helpers/ingest-scenario';
import { TestTopics } from './helpers/kafka-topics';

/*
 * The ingest's side of the cluster records, with records written as k8s-watch writes them but in
 * the orders the API server alone cannot force: several states of a pod in one batch, records of
 * two pods on two partitions applied in either order, a tombstone alone, a slice before its pods.
 * (test/k8s-watch.test.ts runs the whole way from the real API server.)
 */

/** The leases of an address in a cluster: owner uid, from, until (ms). */
async function leases(driver: Driver, cluster: string, ip: string): Promise<string[]> {
  const { records } = await driver.executeQuery(
    `MATCH (l:IpLease {cluster: $cluster, ip: $ip})-[:LEASED_TO]->(o)
     RETURN o.uid AS uid, l.from.epochMillis AS from, l.until.epochMillis AS until ORDER BY from`,
    { cluster, ip },
  );
  return records.map(
    (r) => `${r.get('uid')} ${toNumber(r.get('from'))}..${toNumber(r.get('until')) ?? 'open'}`,
  );
}

const tombstone = (kind: 'pod', key: string): TopicMessage =>
  ({
    topic: CLUSTER_TOPICS[kind].topic,
    message: { key, value: null, headers: {} },
  }) as unknown as TopicMessage;

describe('ingest: cluster metadata in any arrival order (real Kafka and Neo4j)', function () {
  this.timeout(120_000);
  let driver: Driver;
  let topics: TestTopics;
  let ingest: IngestService | undefined;
  const cluster = `test-${hex(4)}`;
  const group = `g-${hex(4)}`;

  before(() => {
    driver = createGraphDriver();
  });

  beforeEach(() => {
    topics = new TestTopics();
  });

  afterEach(async () => {
    await ingest?.stop();
    ingest = undefined;
    await driver.executeQuery('MATCH (p:IngestProgress {group: $group}) DELETE p', { group });
    await topics.cleanup();
  });

  after(async () => {
    await cleanUpCluster(driver, cluster);
    await driver.close();
  });

  async function startIngest(): Promise<IngestService> {
    ingest = new IngestService({
      topicPrefix: topics.prefix,
      groupId: group,
      kinds: ['pod', 'service', 'endpointslice'],
    });
    await ingest.start();
    return ingest;
  }

  it('when a pod is created and deleted within one batch, its tombstone included, then it still gets its node, deleted, and a closed lease', async () => {
    const uid = randomUUID();
    const t0 = Date.now() - 10_000;
    const live = podV1({
      cluster,
      uid,
      namespace: 'jobs',
      name: 'quick',
      ips: ['10.250.0.1'],
      startedAt: t0,
    });
    const dead = { ...live, seq: live.seq + 1, deletedAt: t0 + 3_000, observedAt: t0 + 3_000 };
    await produce(topics.prefix, [
      ...clusterMessages({ pods: [live, dead] }),
      tombstone('pod', `${cluster}/${uid}`),
    ]);
    await (await startIngest()).waitUntilCaughtUp();
    const { records } = await driver.executeQuery(
      'MATCH (p:Pod {uid: $uid}) RETURN p.name AS name, p.deletedAt.epochMillis AS deletedAt',
      {
        uid,
      },
    );
    assert.deepEqual(
      records.map((r) => [r.get('name'), toNumber(r.get('deletedAt'))]),
      [['quick', t0 + 3_000]],
    );
    assert.deepEqual(await leases(driver, cluster, '10.250.0.1'), [`${uid} ${t0}..${t0 + 3_000}`]);
  });

  it('when the new holder of an address is applied before the old pod (another partition), then the old lease still ends where the new one begins, and its later deletion does not stretch it', async () => {
    const [oldUid, newUid] = [randomUUID(), randomUUID()];
    const t1 = Date.now() - 60_000;
    const t2 = t1 + 20_000;
    const ip = '10.250.0.2';
    const ing = await startIngest();
    await produce(
      topics.prefix,
      clusterMessages({
        pods: [podV1({ cluster, uid: newUid, namespace: 'db', name: 'db-0', ips: [ip], startedAt: t2 })],
      }),
    );
    await ing.waitUntilCaughtUp();
    const old = podV1({ cluster, uid: oldUid, namespace: 'db', name: 'db-0', ips: [ip], startedAt: t1 });
    await produce(topics.prefix, clusterMessages({ pods: [old] }));
    await ing.waitUntilCaughtUp();
    assert.deepEqual(await leases(driver, cluster, ip), [`${oldUid} ${t1}..${t2}`, `${newUid} ${t2}..open`]);
    await produce(
      topics.prefix,
      clusterMessages({ pods: [{ ...old, deletedAt: t2 + 5_000, observedAt: t2 + 5_000 }] }),
    );
    await ing.waitUntilCaughtUp();
    assert.deepEqual(await leases(driver, cluster, ip), [`${oldUid} ${t1}..${t2}`, `${newUid} ${t2}..open`]);
  });

  it('when only a tombstone tells that a pod is gone, then it is deleted at the tombstone time, its lease ends and no Service selects it', async () => {
    const uid = randomUUID();
    const ing = await startIngest();
    await produce(
      topics.prefix,
      clusterMessages({
        pods: [
          podV1({
            cluster,
            uid,
            namespace: 'shop',
            name: 'cart-1',
            labels: { app: 'cart' },
            ips: ['10.250.0.3'],
          }),
        ],
        services: [
          serviceV1({
            cluster,
            namespace: 'shop',
            name: 'cart',
            clusterIPs: ['10.96.250.3'],
            selector: { app: 'cart' },
          }),
        ],
      }),
    );
    await ing.waitUntilCaughtUp();
    const selects = async (): Promise<number> =>
      toNumber(
        (
          await driver.executeQuery('MATCH (:Service)-[r:SELECTS]->(:Pod {uid: $uid}) RETURN count(r) AS n', {
            uid,
          })
        ).records[0].get('n'),
      ) as number;
    assert.equal(await selects(), 1);
    const before = Date.now();
    await produce(topics.prefix, [tombstone('pod', `${cluster}/${uid}`)]);
    await ing.waitUntilCaughtUp();
    const { records } = await driver.executeQuery(
      'MATCH (p:Pod {uid: $uid}) RETURN p.deletedAt.epochMillis AS at',
      { uid },
    );
    const at = toNumber(records[0].get('at')) as number;
    assert.ok(at >= before - 1000 && at <= Date.now(), `deleted at ${at}`);
    assert.equal(await selects(), 0);
    assert.deepEqual(
      (await leases(driver, cluster, '10.250.0.3')).map((l) => l.endsWith('..open')),
      [false],
    );
  });

  it('when an EndpointSlice names pods and a Service not described yet, then none is invented, and each is joined when its own record comes', async () => {
    const uid = randomUUID();
    const ing = await startIngest();
    await produce(
      topics.prefix,
      clusterMessages({
        slices: [
          endpointSliceV1({
            cluster,
            namespace: 'pay',
            name: 'api-abc',
            serviceName: 'api',
            endpoints: [{ address: '10.250.0.4', podUid: uid, ready: false }],
          }),
        ],
      }),
    );
    await ing.waitUntilCaughtUp();
    const count = async (q: string): Promise<number> =>
      toNumber((await driver.executeQuery(q, { uid, cluster })).records[0].get('n')) as number;
    assert.equal(await count('MATCH (p:Pod {uid: $uid}) RETURN count(p) AS n'), 0);
    assert.equal(await count("MATCH (s:Service {cluster: $cluster, name: 'api'}) RETURN count(s) AS n"), 0);
    await produce(
      topics.prefix,
      clusterMessages({
        pods: [
          podV1({
            cluster,
            uid,
            namespace: 'pay',
            name: 'api-1',
            labels: { app: 'api' },
            ips: ['10.250.0.4'],
          }),
        ],
        services: [serviceV1({ cluster, namespace: 'pay', name: 'api', selector: { app: 'api' } })],
      }),
    );
    await ing.waitUntilCaughtUp();
    const { records } = await driver.executeQuery(
      `MATCH (s:Service {cluster: $cluster, name: 'api'})-[:HAS_SLICE]->(e:EndpointSlice)-[r:ENDPOINT]->(p:Pod {uid: $uid})
       RETURN e.name AS slice, r.addresses AS addresses, r.ready AS ready, exists((s)-[:SELECTS]->(p)) AS selected`,
      { uid, cluster },
    );
    assert.deepEqual(
      records.map((r) => r.toObject()),
      [{ slice: 'api-abc', addresses: ['10.250.0.4'], ready: false, selected: true }],
    );
  });
});

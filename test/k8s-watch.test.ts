import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { Driver } from 'neo4j-driver';
import { createGraphDriver } from '../graph-schema';
import { IngestService } from '../ingest';
import { kafkaSettings } from '../kafka/kafka-config';
import { ClusterPublisher, ClusterWatcher, KubeClient, type KubeObject } from '../k8s';
import { toNumber } from '../ingest/graph/neo4j-params';
import { connectionUrls, LocalStack } from '../stack';
import { cleanUpCluster } from './helpers/cluster-records';
import { adminKubeConfig, CapturedLog, CutProxy, eventually, row, TestKube } from './helpers/kube';

/*
 * The watcher against the real kube-apiserver of the local stack, publishing to the real Kafka,
 * read by the real ingest into the real Neo4j. Each test has its own cluster name, topic prefix,
 * consumer group and namespace.
 */

const hex = (n: number): string => randomBytes(n).toString('hex');

/** k8s-watch → Kafka → ingest → Neo4j for one test. */
class Pipeline {
  readonly cluster = `test-${hex(4)}`;
  readonly prefix = `test-${hex(4)}.`;
  readonly group = `g-${hex(4)}`;
  readonly log = new CapturedLog();
  watcher: ClusterWatcher | undefined;
  private ingest: IngestService | undefined;

  constructor(private readonly kube: TestKube) {}

  /** Starts a watcher (at `server`: the API server, or a proxy in front of it) and, once, the ingest. */
  async start(server?: string): Promise<ClusterWatcher> {
    const publisher = new ClusterPublisher({
      settings: kafkaSettings({ brokers: connectionUrls().kafkaBroker, clientId: 'nettopo-test-k8s-watch' }),
      topicPrefix: this.prefix,
      log: this.log,
    });
    this.watcher = new ClusterWatcher({
      cluster: this.cluster,
      client: new KubeClient(adminKubeConfig(this.kube.config, server)),
      publisher,
      log: this.log,
      reflector: { initialBackoffMs: 100, maxBackoffMs: 500 },
    });
    await this.watcher.start();
    if (!this.ingest) {
      this.ingest = new IngestService({
        topicPrefix: this.prefix,
        groupId: this.group,
        kinds: ['pod', 'service', 'endpointslice'],
      });
      await this.ingest.start();
    }
    return this.watcher;
  }

  async stopWatcher(): Promise<void> {
    await this.watcher?.stop();
    this.watcher = undefined;
  }

  async stop(driver: Driver): Promise<void> {
    await this.stopWatcher();
    await this.ingest?.stop();
    await cleanUpCluster(driver, this.cluster);
    await driver.executeQuery('MATCH (p:IngestProgress {group: $group}) DELETE p', { group: this.group });
    const admin = new Kafka({ brokers: [connectionUrls().kafkaBroker], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(this.prefix));
      if (topics.length) await admin.deleteTopics({ topics });
      await admin.deleteGroups([this.group]).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  }

  /** Every message of the pods topic of this cluster: key → values in order (null = tombstone). */
  async podMessages(): Promise<Map<string, (Buffer | null)[]>> {
    const kafka = new Kafka({ brokers: [connectionUrls().kafkaBroker], logLevel: logLevel.NOTHING });
    const topic = `${this.prefix}nettopo.k8s.pods.v1`;
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const want = ends.reduce((n, p) => n + Number(p.high), 0);
    const out = new Map<string, (Buffer | null)[]>();
    const groupId = `read-${hex(4)}`;
    const consumer = kafka.consumer({ groupId });
    let seen = 0;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const key = message.key?.toString() ?? '';
        out.set(key, [...(out.get(key) ?? []), message.value]);
        seen += 1;
      },
    });
    await eventually('the pods topic read to its end', async () => (seen >= want ? true : undefined));
    await consumer.disconnect();
    return out;
  }
}

/** What Neo4j says of a pod. */
async function pod(driver: Driver, uid: string): Promise<Record<string, unknown> | undefined> {
  return row(
    driver,
    `MATCH (p:Pod {uid: $uid})
     OPTIONAL MATCH (p)-[:OWNED_BY]->(w:Workload)
     RETURN p.name AS name, p.namespace AS namespace, p.cluster AS cluster, p.labels AS labels, p.phase AS phase,
            p.ips AS ips, p.owners AS owners, p.deletedAt IS NOT NULL AS deleted,
            w.kind + '/' + w.name AS workload, w.key AS workloadKey,
            [(s:Service)-[:SELECTS]->(p) | s.name] AS selectedBy,
            [(e:EndpointSlice)-[r:ENDPOINT]->(p) | e.name + ':' + toString(r.ready)] AS endpoints,
            [(l:IpLease)-[:LEASED_TO]->(p) | l.ip + (CASE WHEN l.until IS NULL THEN ' open' ELSE ' closed' END)] AS leases`,
    { uid },
  );
}

describe('k8s-watch against the real API server, through Kafka and the ingest into Neo4j', function () {
  this.timeout(180_000);
  const kube = new TestKube();
  let driver: Driver;
  let p: Pipeline;

  before(async () => {
    await kube.ensureRunning();
    driver = createGraphDriver();
  });

  beforeEach(() => {
    p = new Pipeline(kube);
  });

  afterEach(async () => {
    await p.stop(driver);
    await kube.cleanup();
  });

  after(async () => {
    await driver?.close();
  });

  it('when pods, Services and EndpointSlices are added, modified and deleted, then Neo4j reflects each change, with every pod owned by its top workload', async () => {
    const ns = await kube.namespace();
    // Deployment → ReplicaSet → pod, as the controller manager would make them.
    const deploy = await kube.create<KubeObject>(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name: 'web' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'w', image: 'x' }] } },
      },
    });
    const rs = await kube.create<KubeObject>(`/apis/apps/v1/namespaces/${ns}/replicasets`, {
      metadata: {
        name: 'web-5d9f7',
        labels: { app: 'web' },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: 'web',
            uid: deploy.metadata.uid,
            controller: true,
          },
        ],
      },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'w', image: 'x' }] } },
      },
    });
    // CronJob → Job → pod, and a StatefulSet's pod.
    const cron = await kube.create<KubeObject>(`/apis/batch/v1/namespaces/${ns}/cronjobs`, {
      metadata: { name: 'report' },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: {
          spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'r', image: 'x' }] } } },
        },
      },
    });
    const job = await kube.create<KubeObject>(`/apis/batch/v1/namespaces/${ns}/jobs`, {
      metadata: {
        name: 'report-29410',
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'CronJob',
            name: 'report',
            uid: cron.metadata.uid,
            controller: true,
          },
        ],
      },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'r', image: 'x' }] } } },
    });

    await p.start();

    const web = await kube.createPod(ns, {
      name: 'web-5d9f7-abcde',
      labels: { app: 'web', tier: 'front' },
      owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d9f7', uid: rs.metadata.uid },
    });
    await kube.podStatus(ns, web.metadata.name, { ip: '10.244.7.10', startTime: new Date() });
    const report = await kube.createPod(ns, {
      name: 'report-29410-q2x',
      owner: { apiVersion: 'batch/v1', kind: 'Job', name: 'report-29410', uid: job.metadata.uid },
    });
    const db = await kube.createPod(ns, {
      name: 'db-0',
      labels: { app: 'db' },
      owner: {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        name: 'db',
        uid: '0b7a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d',
      },
    });
    const svc = await kube.create<KubeObject & { spec: { clusterIP: string } }>(
      `/api/v1/namespaces/${ns}/services`,
      {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    );
    await kube.create(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
      metadata: { name: 'web-x7k2p', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
      endpoints: [
        {
          addresses: ['10.244.7.10'],
          conditions: { ready: true },
          nodeName: 'node-1',
          targetRef: { kind: 'Pod', name: web.metadata.name, namespace: ns, uid: web.metadata.uid },
        },
      ],
    });

    // Added.
    const added = await eventually('the web pod with its metadata, Service and slice', async () => {
      const r = await pod(driver, web.metadata.uid);
      return r && (r.endpoints as string[]).length === 1 && (r.selectedBy as string[]).length === 1
        ? r
        : undefined;
    });
    assert.deepEqual(added, {
      name: 'web-5d9f7-abcde',
      namespace: ns,
      cluster: p.cluster,
      labels: ['app=web', 'tier=front'],
      phase: 'Running',
      ips: ['10.244.7.10'],
      owners: ['ReplicaSet/web-5d9f7', 'Deployment/web'],
      deleted: false,
      workload: 'Deployment/web',
      workloadKey: `${p.cluster}/${ns}/Deployment/web`,
      selectedBy: ['web'],
      endpoints: ['web-x7k2p:true'],
      leases: ['10.244.7.10 open'],
    });
    const reportPod = await eventually('the job pod', () => pod(driver, report.metadata.uid));
    assert.equal(reportPod.workload, 'CronJob/report');
    assert.deepEqual(reportPod.owners, ['Job/report-29410', 'CronJob/report']);
    const dbPod = await eventually('the stateful pod', () => pod(driver, db.metadata.uid));
    assert.equal(dbPod.workload, 'StatefulSet/db');
    assert.deepEqual(dbPod.selectedBy, []);
    const service = await eventually('the Service', () =>
      row(
        driver,
        `MATCH (s:Service {key: $key}) RETURN s.clusterIPs AS ips, s.ports AS ports, s.selector AS selector,
                [(s)-[:HAS_SLICE]->(e) | e.name] AS slices, [(l:IpLease)-[:LEASED_TO]->(s) | l.ip] AS leases`,
        { key: `${p.cluster}/${ns}/web` },
      ),
    );
    assert.deepEqual(service, {
      ips: [svc.spec.clusterIP],
      ports: ['http 80/TCP → 8080'],
      selector: ['app=web'],
      slices: ['web-x7k2p'],
      leases: [svc.spec.clusterIP],
    });

    // Modified: the pod leaves the selector, the endpoint turns not ready, then the Service follows the pod.
    await kube.patch(`/api/v1/namespaces/${ns}/pods/${web.metadata.name}`, {
      metadata: { labels: { app: 'web2' } },
    });
    await kube.patch(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/web-x7k2p`, {
      endpoints: [
        {
          addresses: ['10.244.7.10'],
          conditions: { ready: false },
          targetRef: { kind: 'Pod', name: web.metadata.name, namespace: ns, uid: web.metadata.uid },
        },
      ],
    });
    const modified = await eventually('the pod unselected and its endpoint not ready', async () => {
      const r = await pod(driver, web.metadata.uid);
      return r &&
        (r.selectedBy as string[]).length === 0 &&
        (r.endpoints as string[])[0] === 'web-x7k2p:false'
        ? r
        : undefined;
    });
    assert.deepEqual(modified.labels, ['app=web2', 'tier=front']);
    await kube.patch(`/api/v1/namespaces/${ns}/services/web`, { spec: { selector: { app: 'web2' } } });
    await eventually('the Service selecting the pod again', async () => {
      const r = await pod(driver, web.metadata.uid);
      return (r?.selectedBy as string[] | undefined)?.[0] === 'web' ? r : undefined;
    });

    // Deleted.
    await kube.remove(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/web-x7k2p`);
    await kube.remove(`/api/v1/namespaces/${ns}/pods/${web.metadata.name}`);
    await kube.remove(`/api/v1/namespaces/${ns}/services/web`);
    const gone = await eventually('the pod deleted', async () => {
      const r = await pod(driver, web.metadata.uid);
      return r?.deleted ? r : undefined;
    });
    assert.deepEqual(
      {
        selectedBy: gone.selectedBy,
        endpoints: gone.endpoints,
        leases: gone.leases,
        workload: gone.workload,
      },
      { selectedBy: [], endpoints: [], leases: ['10.244.7.10 closed'], workload: 'Deployment/web' },
    );
    const after = await eventually('the Service deleted and the slice removed', () =>
      row(
        driver,
        `MATCH (s:Service {key: $key}) WHERE s.deletedAt IS NOT NULL
         RETURN [(l:IpLease)-[:LEASED_TO]->(s) | l.until IS NOT NULL] AS leasesClosed,
                COUNT { (e:EndpointSlice {cluster: $cluster, namespace: $ns}) } AS slices`,
        { key: `${p.cluster}/${ns}/web`, cluster: p.cluster, ns },
      ),
    );
    assert.deepEqual({ ...after, slices: toNumber(after.slices) }, { leasesClosed: [true], slices: 0 });
  });

  it('when the watch expires (410 Gone) while pods are added, changed and deleted, then the re-list publishes exactly those changes: nothing lost, nothing published twice', async () => {
    const ns = await kube.namespace();
    const proxy = new CutProxy(kube.config.kube.apiserverPort);
    await proxy.start();
    try {
      const [keep, change, drop] = await Promise.all(
        ['keep', 'change', 'drop'].map((name) => kube.createPod(ns, { name, labels: { app: 'a' } })),
      );
      const watcher = await p.start(`https://127.0.0.1:${proxy.port}`);
      await eventually('the three pods in Neo4j', async () =>
        (await pod(driver, drop.metadata.uid)) ? true : undefined,
      );

      // The watcher loses the API server; meanwhile pods change, and the API server restarts, so
      // the watcher's resourceVersion is too old when it comes back.
      await proxy.cut();
      const added = await kube.createPod(ns, { name: 'added', labels: { app: 'a' } });
      await kube.patch(`/api/v1/namespaces/${ns}/pods/change`, { metadata: { labels: { app: 'b' } } });
      await kube.remove(`/api/v1/namespaces/${ns}/pods/drop`);
      // A write that changes nothing the record says (a new resourceVersion only) is no news.
      await kube.patch(`/api/v1/namespaces/${ns}/pods/keep`, { metadata: { annotations: { note: 'x' } } });
      await kube.restartApiServer();
      await proxy.restore();

      await p.log.waitFor(/pods: watch from resourceVersion \d+ expired \(410 Gone\), listing again/, 60_000);
      await p.log.waitFor(/pods: listed again: \d+ at resourceVersion/);
      assert.ok(watcher.reflectorStats().pods.expired >= 1);
      const state = await eventually('the re-listed state in Neo4j', async () => {
        const [k, c, d, a] = await Promise.all(
          [keep, change, drop, added].map((x) => pod(driver, x.metadata.uid)),
        );
        return d?.deleted && a && (c?.labels as string[])[0] === 'app=b' ? { k, c, d, a } : undefined;
      });
      assert.deepEqual(state.k?.labels, ['app=a']);
      assert.equal(state.k?.deleted, false);
      assert.equal(state.a?.deleted, false);

      // The topic holds each change once: no pod published again because of the re-list.
      await watcher.stop();
      const messages = await p.podMessages();
      const count = (o: KubeObject): string => {
        const values = messages.get(`${p.cluster}/${o.metadata.uid}`) ?? [];
        return `${values.filter((v) => v !== null).length} records, ${values.filter((v) => v === null).length} tombstones`;
      };
      assert.deepEqual(
        { keep: count(keep), change: count(change), drop: count(drop), added: count(added) },
        {
          keep: '1 records, 0 tombstones',
          change: '2 records, 0 tombstones',
          drop: '2 records, 1 tombstones',
          added: '1 records, 0 tombstones',
        },
      );
    } finally {
      await proxy.close();
    }
  });

  it('when the API server is stopped and started again, then the watcher says it lost it and recovered, and later changes arrive', async () => {
    const ns = await kube.namespace();
    await p.start();
    await new LocalStack(kube.config).down(['kube-apiserver']);
    await p.log.waitFor(/pods: API server https:\/\/127\.0\.0\.1:\d+ unreachable or refusing/);
    await new LocalStack(kube.config).up(['kube-apiserver']);
    const line = await p.log.waitFor(/pods: API server reachable again after \d+\.\d s/, 60_000);
    assert.match(line, /^info /);
    const later = await kube.createPod(ns, { name: 'later', labels: { app: 'later' } });
    const r = await eventually('a pod created after the restart', () => pod(driver, later.metadata.uid));
    assert.equal(r.name, 'later');
  });

  it('when a pod is deleted and a new pod of the same name gets its IP, then the address moves: the old lease ends where the new one begins, and the old pod keeps its own node', async () => {
    const ns = await kube.namespace();
    await p.start();
    const ip = `10.244.${1 + (randomBytes(1)[0] % 250)}.${1 + (randomBytes(1)[0] % 250)}`;
    const old = await kube.createPod(ns, { name: 'db-0', labels: { app: 'db' } });
    const t0 = new Date(Date.now() - 60_000);
    await kube.podStatus(ns, 'db-0', { ip, startTime: t0 });
    await eventually('the old pod holding the address', async () => {
      const r = await pod(driver, old.metadata.uid);
      return (r?.leases as string[] | undefined)?.[0] === `${ip} open` ? r : undefined;
    });
    await kube.remove(`/api/v1/namespaces/${ns}/pods/db-0`);
    const fresh = await kube.createPod(ns, { name: 'db-0', labels: { app: 'db' } });
    const t1 = new Date();
    await kube.podStatus(ns, 'db-0', { ip, startTime: t1 });

    const leases = await eventually('two leases of the address', async () => {
      const { records } = await driver.executeQuery(
        `MATCH (l:IpLease {cluster: $cluster, ip: $ip})-[:LEASED_TO]->(p:Pod)
         RETURN p.uid AS uid, p.name AS name, p.deletedAt IS NOT NULL AS deleted,
                l.from.epochMillis AS from, l.until.epochMillis AS until ORDER BY from`,
        { cluster: p.cluster, ip },
      );
      return records.length === 2 && records[0].get('until') !== null
        ? records.map((r) => r.toObject())
        : undefined;
    });
    assert.deepEqual(
      leases.map((l) => ({ ...l, from: toNumber(l.from), until: toNumber(l.until) })),
      [
        {
          uid: old.metadata.uid,
          name: 'db-0',
          deleted: true,
          from: Math.floor(t0.getTime() / 1000) * 1000,
          until: toNumber(leases[0].until),
        },
        {
          uid: fresh.metadata.uid,
          name: 'db-0',
          deleted: false,
          from: Math.floor(t1.getTime() / 1000) * 1000,
          until: null,
        },
      ],
    );
    assert.ok((toNumber(leases[0].until) as number) <= (toNumber(leases[1].from) as number) + 1000);
    // The README's "who held an address at a given time": the old pod before, the new one after.
    const holder = async (at: number): Promise<string | undefined> =>
      (
        await row(
          driver,
          `MATCH (l:IpLease {ip: $ip, cluster: $cluster})-[:LEASED_TO]->(owner)
           WHERE l.from <= datetime($at) AND (l.until IS NULL OR l.until > datetime($at))
           RETURN owner.uid AS uid`,
          { ip, cluster: p.cluster, at: new Date(at).toISOString() },
        )
      )?.uid as string | undefined;
    assert.equal(await holder(t0.getTime() + 5_000), old.metadata.uid);
    assert.equal(await holder(Date.now() + 1_000), fresh.metadata.uid);
  });

  it('when the watcher restarts after pods were deleted and created while it was away, then it finds them from its topic, publishes only those changes and the graph follows', async () => {
    const ns = await kube.namespace();
    const stays = await kube.createPod(ns, { name: 'stays' });
    const leaves = await kube.createPod(ns, { name: 'leaves' });
    await p.start();
    await eventually('both pods in Neo4j', async () =>
      (await pod(driver, leaves.metadata.uid)) ? true : undefined,
    );
    await p.stopWatcher();

    await kube.remove(`/api/v1/namespaces/${ns}/pods/leaves`);
    const arrives = await kube.createPod(ns, { name: 'arrives' });
    const second = await p.start();
    await eventually('the deleted pod ended and the new one added', async () => {
      const [l, a] = await Promise.all([pod(driver, leaves.metadata.uid), pod(driver, arrives.metadata.uid)]);
      return l?.deleted && a ? true : undefined;
    });
    assert.equal((await pod(driver, stays.metadata.uid))?.deleted, false);
    // Only what changed in this namespace was published by the second run (plus other namespaces' news).
    assert.ok(second.stats.unchanged >= 1, `nothing counted unchanged: ${JSON.stringify(second.stats)}`);
    assert.equal(second.stats.deleted.pod, 1);
    const messages = await p.podMessages();
    assert.equal(messages.get(`${p.cluster}/${stays.metadata.uid}`)?.length, 1);
  });
});

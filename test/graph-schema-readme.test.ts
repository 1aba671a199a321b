import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Driver } from 'neo4j-driver';
import { projectRoot } from '../common/paths';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { bucketStart, createGraphDriver, DEFAULT_BUCKET_MS } from '../graph-schema';
import { DEFAULT_THRESHOLDS, ReportRunner } from '../reports';
import { Codec, machineIdToBytes, podUidToAvro, uuidToBytes } from '../contract';
import { IngestService } from '../ingest';
import {
  cleanUpCluster,
  clusterMessages,
  endpointSliceV1,
  podV1,
  serviceV1,
} from './helpers/cluster-records';
import { cleanUp, hex, IngestScenario, produce } from './helpers/ingest-scenario';

/** The ```cypher blocks of graph-schema/README.md with the parameters of their `// params:` line. */
function readmeQueries(): { query: string; params: Record<string, unknown> }[] {
  const readme = readFileSync(join(projectRoot(), 'graph-schema', 'README.md'), 'utf8');
  return [...readme.matchAll(/```cypher\n([\s\S]*?)```/g)].map((m) => {
    const text = m[1];
    const line = /^\/\/ params: (.*)$/m.exec(text);
    assert.ok(line, `a README query has no '// params:' line:\n${text}`);
    const params = new Function(`return (${line[1]});`)() as Record<string, unknown>;
    return { query: text, params };
  });
}

describe('graph-schema README queries', function () {
  this.timeout(120_000);
  const prefix = `test-${hex(4)}.`;
  const group = `g-${hex(4)}`;
  const cluster = `test-${hex(4)}`;
  const unknownPod = randomUUID();
  const s = new IngestScenario({ connections: 5, recordsPerFlow: 2 });
  let driver: Driver;
  let ingest: IngestService;
  let reportId = '';
  const reportDir = mkdtempSync(join(tmpdir(), 'nettopo-readme-'));

  before(async () => {
    driver = createGraphDriver();
    ingest = new IngestService({ topicPrefix: prefix, groupId: group });
    await ingest.start();
    await produce(prefix, s.stateMessages());
    await ingest.waitUntilCaughtUp(60_000);
    await produce(prefix, s.flowMessages());
    await ingest.waitUntilCaughtUp(60_000);
    // A process in a pod no cluster watcher describes (its uid from the cgroup path only).
    const codec = new Codec();
    await produce(prefix, [
      codec.message('process', {
        hostId: machineIdToBytes(s.hostA),
        runId: uuidToBytes(s.runA),
        seq: 99,
        pid: 4242,
        startTime: s.start,
        comm: 'sidecar',
        exe: null,
        cmdline: [],
        cmdlineTruncated: false,
        uid: null,
        ppid: null,
        cgroupId: null,
        containerId: null,
        containerRuntime: null,
        podUid: podUidToAvro(unknownPod),
        exited: false,
        observedAt: s.start,
      }),
    ]);
    // Pod and Service metadata as `nettopo k8s-watch` publishes it, for the Kubernetes queries.
    await produce(
      prefix,
      clusterMessages({
        pods: [
          podV1({
            cluster,
            uid: s.podA,
            namespace: 'shop',
            name: 'frontend-7d4b9-x2x7q',
            labels: { app: 'frontend' },
            ips: ['10.244.1.6'],
            owners: [
              { kind: 'ReplicaSet', name: 'frontend-7d4b9' },
              { kind: 'Deployment', name: 'frontend' },
            ],
          }),
          podV1({
            cluster,
            uid: s.podB,
            namespace: 'payments',
            name: 'api-5c8f2-q9z8w',
            labels: { app: 'api' },
            ips: ['10.244.1.7'],
            owners: [
              { kind: 'ReplicaSet', name: 'api-5c8f2' },
              { kind: 'Deployment', name: 'api' },
            ],
            startedAt: Date.parse('2026-12-01T00:00:00Z'),
          }),
        ],
        services: [
          serviceV1({
            cluster,
            namespace: 'payments',
            name: 'api',
            clusterIPs: ['10.96.7.7'],
            selector: { app: 'api' },
            ports: [{ name: 'http', port: 80, targetPort: '8080' }],
          }),
        ],
        slices: [
          endpointSliceV1({
            cluster,
            namespace: 'payments',
            name: 'api-x1',
            serviceName: 'api',
            endpoints: [{ address: '10.244.1.7', podUid: s.podB }],
          }),
        ],
      }),
    );
    await ingest.waitUntilCaughtUp(60_000);
    // A report over the scenario's windows, for the queries about reports.
    const b0 = bucketStart(s.start, DEFAULT_BUCKET_MS);
    const made = await new ReportRunner({ driver, outputDir: reportDir }).run({
      schedule: null,
      level: 'process',
      before: { from: b0 - 2 * DEFAULT_BUCKET_MS, to: b0 },
      after: { from: b0, to: b0 + 2 * DEFAULT_BUCKET_MS },
      hosts: s.hosts,
      thresholds: { ...DEFAULT_THRESHOLDS },
    });
    reportId = made.id;
  });

  after(async () => {
    await ingest?.stop();
    await driver.executeQuery(
      `MATCH (n) WHERE ((n:EdgeBucket OR n:EdgeHistory) AND any(h IN $hosts WHERE n.fromKey STARTS WITH h OR n.toKey STARTS WITH h))
          OR (n:ListenPeriod AND n.hostId IN $hosts) OR (n:TopologyReport AND n.id = $id) OR (n:TopologyChange AND n.reportId = $id)
       DETACH DELETE n`,
      { hosts: s.hosts, id: reportId },
    );
    rmSync(reportDir, { recursive: true, force: true });
    await cleanUp(driver, s, prefix, [group]);
    await cleanUpCluster(driver, cluster);
    await driver.executeQuery('MATCH (p:Pod {uid: $uid}) DETACH DELETE p', { uid: unknownPod });
    await driver.close();
  });

  it('when every documented query is run on an ingested topology, then each runs and returns rows', async () => {
    const queries = readmeQueries();
    assert.ok(queries.length >= 10, `only ${queries.length} queries in the README`);
    for (const { query, params } of queries) {
      const p = { ...params };
      if (p.podUid === '<pod uid>') p.podUid = s.podB;
      if (p.at === '<time of the scenario>') p.at = s.start + 2000;
      const { records } = await driver.executeQuery(query, p);
      assert.ok(records.length > 0, `no rows from:\n${query}`);
    }
  });
});

/**
 * A report over windows it cannot trust says so in its summary (real Neo4j and Kafka): an empty
 * window, an ingest behind on the flow topic, collectors whose heartbeats stopped.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import neo4j, { type Driver } from 'neo4j-driver';
import { bucketStart, createGraphDriver, SchemaMigrator } from '../graph-schema';
import { HistoryWriter } from '../ingest';
import { DEFAULT_THRESHOLDS, ReportRunner } from '../reports';
import { edgeDelta, recordDeltas, TestTopics } from './helpers';
import { hex } from './helpers/ingest-scenario';
import { capturingLogger } from './helpers/report-checks';

describe('reports: windows that cannot be trusted are named in the summary (real Neo4j, Kafka)', function () {
  this.timeout(60_000);
  let driver: Driver;
  let topics: TestTopics;
  let admin: Admin;
  const tag = `health-${hex(4)}`;
  const group = `g-${randomUUID()}`;
  const dir = mkdtempSync(join(tmpdir(), 'nettopo-health-'));
  const BUCKET = 10_000;
  const t0 = bucketStart(Date.now() - 600_000, BUCKET);
  const hostA = `${tag}-a`;
  const hostB = `${tag}-b`;

  before(async () => {
    driver = createGraphDriver();
    await new SchemaMigrator(driver).migrate();
    topics = new TestTopics();
    admin = topics.kafka.admin();
    await admin.connect();
  });

  after(async () => {
    await driver.executeQuery(
      `MATCH (n) WHERE ((n:EdgeBucket OR n:EdgeHistory) AND n.fromKey STARTS WITH $tag) OR (n:Host AND n.hostId STARTS WITH $tag)
          OR (n:IngestProgress AND n.group = $group) OR (n:TopologyReport AND n.id STARTS WITH 'adhoc' AND $hostA IN n.hosts)
       DETACH DELETE n`,
      { tag, group, hostA },
    );
    await driver.close();
    await admin.disconnect();
    await topics.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when the earlier window is empty, the ingest is 3 flow records behind and a collector went silent, then the report is partial and its summary says each', async () => {
    const writer = new HistoryWriter({ bucketMs: BUCKET, retentionMs: 86_400_000 });
    await writer.saveSettings(driver, 'neo4j');
    await recordDeltas(driver, writer, [
      edgeDelta({
        fromKey: hostA,
        toKey: hostB,
        connections: 1,
        bytesToServer: 10,
        lastSeen: t0 + BUCKET + 1000,
      }),
    ]);
    // Host B's collector sent its last heartbeat five minutes before the windows; host A's a second ago.
    await driver.executeQuery(
      `UNWIND $hosts AS h MERGE (n:Host {hostId: h.id})
       SET n.hostname = h.name, n.lastHeartbeat = datetime({epochMillis: h.at})`,
      {
        hosts: [
          { id: hostA, name: `${tag}-alpha`, at: neo4j.int(Date.now() - 1000) },
          { id: hostB, name: `${tag}-beta`, at: neo4j.int(t0 - 300_000) },
        ],
      },
    );
    // Five flow records produced, two applied.
    const flows = `${topics.prefix}nettopo.flows.v1`;
    await topics.create([flows], 1);
    const producer = topics.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: flows,
      messages: Array.from({ length: 5 }, (_, i) => ({ value: `r${i}` })),
    });
    await producer.disconnect();
    await driver.executeQuery(
      `CREATE (:IngestProgress {key: $group + '/' + $topic + '/0', group: $group, topic: $topic, partition: 0,
                                offset: 2, records: 2, deadLetters: 0, updatedAt: datetime()})`,
      { group, topic: flows },
    );

    const runner = new ReportRunner({
      driver,
      outputDir: dir,
      ingestGroup: group,
      admin,
      log: capturingLogger(),
    });
    const { report, files } = await runner.run({
      schedule: null,
      level: 'host',
      before: { from: t0, to: t0 + BUCKET },
      after: { from: t0 + BUCKET, to: t0 + 2 * BUCKET },
      hosts: [hostA, hostB],
      thresholds: { ...DEFAULT_THRESHOLDS },
    });
    assert.ok(report && files);
    assert.equal(report.health.partial, true);
    assert.equal(report.health.emptyBefore, true);
    assert.equal(report.health.emptyAfter, false);
    const notes = report.health.notes.join('\n');
    assert.match(notes, new RegExp(`The ingest \\(group ${group}\\) is 3 flow records behind`));
    assert.match(notes, new RegExp(`Collectors missing: ${tag}-beta \\(last heartbeat `));
    assert.doesNotMatch(notes, new RegExp(`${tag}-alpha`));
    assert.match(notes, /The earlier window holds no topology at this level\./);
    const md = readFileSync(files.markdown, 'utf8').split('\n');
    assert.match(
      md[2],
      /^\*\*Summary\.\*\* 1 edge appeared, 2 nodes appeared \(0 edges before, 1 after\)\.$/,
    );
    assert.match(
      md[4],
      /^> \*\*Partial or empty window\.\*\* .*3 flow records behind.*Collectors missing.*earlier window holds no topology/,
    );
  });
});

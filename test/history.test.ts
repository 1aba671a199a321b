/**
 * The topology history (graph-schema/README.md, "History") against the local stack's real Neo4j:
 * what the writer records from edge deltas, and what a window then reads — the topology at a time,
 * long-lived idle connections, late records, corrections, retention — and, through the real ingest
 * from Kafka, that flow records end up in the buckets of their time with exactly their figures.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { Driver } from 'neo4j-driver';
import { createGraphDriver, bucketStart, SchemaMigrator } from '../graph-schema';
import { HistoryWriter, IngestService, type EdgeDelta } from '../ingest';
import { HistoryReader } from '../reports';
import { edgeDelta, recordDeltas } from './helpers/history';
import { cleanUp, hex, IngestScenario, produce } from './helpers/ingest-scenario';

const BUCKET = 10_000;

describe('topology history: buckets of edge deltas, read back per window (real Neo4j)', function () {
  this.timeout(120_000);
  let driver: Driver;
  let reader: HistoryReader;
  /** Unique per test run: every key below has it, and cleanup removes what carries it. */
  const tag = `hist-${hex(4)}`;
  // Times on a grid far from now, so that no other data shares their buckets.
  const t0 = bucketStart(Date.now() - 3_600_000, BUCKET);
  const at = (bucket: number, offset = 1000): number => t0 + bucket * BUCKET + offset;

  before(async () => {
    driver = createGraphDriver();
    await new SchemaMigrator(driver).migrate();
    reader = new HistoryReader(driver);
  });

  after(async () => {
    await driver.executeQuery(
      'MATCH (n) WHERE (n:EdgeBucket OR n:EdgeHistory) AND n.fromKey STARTS WITH $tag DETACH DELETE n',
      { tag },
    );
    await driver.close();
  });

  /** An edge delta between two of this test's hosts, with the figures given. */
  const delta = (from: string, to: string, figures: Partial<EdgeDelta>): EdgeDelta =>
    edgeDelta({ fromKey: `${tag}-${from}`, toKey: `${tag}-${to}`, ...figures });

  const write = (writer: HistoryWriter, deltas: EdgeDelta[]): Promise<void> =>
    recordDeltas(driver, writer, deltas);

  /** This test's edges present in buckets [first, last], as `from>to` → figures. */
  async function windowOf(first: number, last: number): Promise<Map<string, Record<string, number>>> {
    const snap = await reader.window('host', { from: t0 + first * BUCKET, to: t0 + (last + 1) * BUCKET });
    const out = new Map<string, Record<string, number>>();
    for (const e of snap.edges.values()) {
      if (!e.from.key.startsWith(tag)) continue;
      out.set(`${e.from.key.slice(tag.length + 1)}>${e.to.key.slice(tag.length + 1)}`, {
        connections: e.connections,
        bytes: e.bytesToServer + e.bytesToClient,
        open: e.open,
      });
    }
    return out;
  }

  const writer = (): HistoryWriter => new HistoryWriter({ bucketMs: BUCKET, retentionMs: 24 * 3_600_000 });

  it('when a connection opens, stays idle for three buckets and closes, then the topology at each of those times holds its edge and a later one does not', async () => {
    const w = writer();
    await write(w, [delta('a', 'b', { connections: 1, bytesToServer: 100, lastSeen: at(0), open: 1 })]);
    await write(w, [delta('a', 'b', { bytesToClient: 50, lastSeen: at(4), open: -1 })]);
    for (let b = 0; b <= 4; b++)
      assert.deepEqual(
        (await windowOf(b, b)).get('a>b'),
        {
          connections: b === 0 ? 1 : 0,
          bytes: b === 0 ? 100 : b === 4 ? 50 : 0,
          open: b === 4 ? 0 : 1,
        },
        `bucket ${b}`,
      );
    assert.equal((await windowOf(5, 5)).get('a>b'), undefined, 'after the close');
    assert.deepEqual((await windowOf(0, 9)).get('a>b'), { connections: 1, bytes: 150, open: 0 });
  });

  it('when a connection is still open and idle, then windows after its last record still hold its edge', async () => {
    const w = writer();
    await write(w, [delta('c', 'd', { connections: 1, bytesToServer: 10, lastSeen: at(0), open: 1 })]);
    assert.deepEqual((await windowOf(3, 5)).get('c>d'), { connections: 0, bytes: 0, open: 1 });
    assert.deepEqual((await windowOf(0, 0)).get('c>d'), { connections: 1, bytes: 10, open: 1 });
  });

  it('when the close of a connection arrives after a later record of the same edge, then the buckets in between are corrected: the edge is absent where nothing was open', async () => {
    const w = writer();
    // Connection X opens in bucket 0; a short connection Y on the same edge in bucket 3 (X still open).
    await write(w, [delta('e', 'f', { connections: 1, bytesToServer: 1, lastSeen: at(0), open: 1 })]);
    await write(w, [delta('e', 'f', { connections: 1, bytesToServer: 7, lastSeen: at(3), open: 0 })]);
    assert.deepEqual((await windowOf(2, 2)).get('e>f'), { connections: 0, bytes: 0, open: 1 });
    // X's close, observed in bucket 1, arrives only now.
    await write(w, [delta('e', 'f', { lastSeen: at(1), open: -1 })]);
    assert.deepEqual((await windowOf(1, 1)).get('e>f'), { connections: 0, bytes: 0, open: 0 });
    assert.equal((await windowOf(2, 2)).get('e>f'), undefined, 'bucket 2: nothing open, nothing sent');
    assert.deepEqual((await windowOf(3, 3)).get('e>f'), { connections: 1, bytes: 7, open: 0 });
  });

  it('when a connection is moved to a better-resolved edge in a later bucket, then a window holding both buckets counts it on the new edge only', async () => {
    const w = writer();
    await write(w, [delta('g', 'unknown', { connections: 1, bytesToServer: 40, lastSeen: at(0) })]);
    await write(w, [
      delta('g', 'unknown', { connections: -1, bytesToServer: -40 }),
      delta('g', 'h', { connections: 1, bytesToServer: 40, lastSeen: at(1) }),
    ]);
    const both = await windowOf(0, 1);
    assert.equal(both.get('g>unknown'), undefined);
    assert.deepEqual(both.get('g>h'), { connections: 1, bytes: 40, open: 0 });
    // What the graph showed during bucket 0 stays: the first edge.
    assert.deepEqual((await windowOf(0, 0)).get('g>unknown'), { connections: 1, bytes: 40, open: 0 });
  });

  it('when buckets are older than the retention, then the next write deletes them and leaves the newer ones', async () => {
    const now = at(30, 0);
    const w = new HistoryWriter({
      bucketMs: BUCKET,
      retentionMs: 10 * BUCKET,
      now: () => now,
      pruneLimit: 1_000_000,
    });
    const old = new HistoryWriter({ bucketMs: BUCKET, retentionMs: 100 * BUCKET, now: () => now });
    await write(old, [delta('i', 'j', { connections: 1, bytesToServer: 5, lastSeen: at(10) })]);
    await write(old, [delta('k', 'l', { connections: 1, bytesToServer: 5, lastSeen: at(25) })]);
    assert.ok((await windowOf(10, 10)).has('i>j'));
    await write(w, [delta('m', 'n', { connections: 1, bytesToServer: 5, lastSeen: at(29) })]);
    assert.equal((await windowOf(10, 10)).get('i>j'), undefined, 'expired bucket deleted');
    const { records } = await driver.executeQuery(
      'MATCH (h:EdgeHistory) WHERE h.key CONTAINS $key RETURN count(h) AS n',
      { key: `${tag}-i|` },
    );
    assert.equal(records[0].get('n').toNumber(), 0, 'its edge history too (nothing open)');
    assert.ok((await windowOf(25, 25)).has('k>l'));
    assert.ok((await windowOf(29, 29)).has('m>n'));
  });

  it('when flow records go through the real ingest, then each connection lands in the bucket of its records with the bytes it sent, at every level', async () => {
    const prefix = `test-${hex(4)}.`;
    const group = `g-${randomUUID()}`;
    const s = new IngestScenario({ connections: 4, recordsPerFlow: 2 });
    const ingest = new IngestService({
      topicPrefix: prefix,
      groupId: group,
      history: { bucketMs: 3_600_000, retentionMs: 48 * 3_600_000 },
    });
    try {
      await ingest.start();
      await produce(prefix, s.stateMessages());
      await ingest.waitUntilCaughtUp(60_000);
      await produce(prefix, s.flowMessages());
      await ingest.waitUntilCaughtUp(60_000);
      // Every record of the scenario lies within a minute after s.start: one or two hour buckets.
      const window = {
        from: bucketStart(s.start, 3_600_000),
        to: bucketStart(s.start, 3_600_000) + 7_200_000,
      };
      for (const level of ['process', 'host']) {
        const snap = await reader.window(level, window);
        const mine = [...snap.edges.values()].filter(
          (e) => s.hosts.some((h) => e.from.key.startsWith(h)) || s.hosts.some((h) => e.to.key.startsWith(h)),
        );
        const got = new Map(
          mine.map((e) => [
            `${e.from.key}|${e.to.key}|${e.port}`,
            {
              connections: e.connections,
              failedConnects: e.failedConnects,
              bytesToServer: e.bytesToServer,
              bytesToClient: e.bytesToClient,
            },
          ]),
        );
        if (level === 'process') assert.deepEqual(got, s.expected);
        else {
          const hostOf = (k: string): string => (k.includes('/') ? k.slice(0, k.indexOf('/')) : k);
          const expected = new Map<string, Record<string, number>>();
          for (const [k, v] of s.expected) {
            const [from, to, port] = k.split('|');
            const id = `${hostOf(from)}|${hostOf(to)}|${port}`;
            const cur = expected.get(id) ?? {
              connections: 0,
              failedConnects: 0,
              bytesToServer: 0,
              bytesToClient: 0,
            };
            for (const f of Object.keys(cur)) cur[f] += (v as unknown as Record<string, number>)[f];
            expected.set(id, cur);
          }
          assert.deepEqual(got, expected);
        }
      }
    } finally {
      await ingest.stop();
      await driver.executeQuery(
        `MATCH (n) WHERE (n:EdgeBucket OR n:EdgeHistory)
           AND any(h IN $hosts WHERE n.fromKey STARTS WITH h OR n.toKey STARTS WITH h) DETACH DELETE n`,
        { hosts: s.hosts },
      );
      await cleanUp(driver, s, prefix, [group]);
    }
  });
});

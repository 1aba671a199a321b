/**
 * How long a topology report takes over a big history: `--edges` edges (default 100,000) at one
 * level, each active in `--active` of the `--buckets` buckets of each window (default 2 of 4),
 * with churn between the windows (`--churn`, default 5 %: that share of edges vanishes, as many
 * appear, and as many more move 10× the bytes). The history is written through the ingest's own
 * HistoryWriter into the local stack's Neo4j, then the bench times, in alternating rounds of one
 * run: the diff (both windows read at once, then compared) with the buckets summed in Cypher
 * (`WINDOW_EDGES`) and in the client (`WINDOW_EDGE_ROWS`, what the reports use), and the whole
 * report (read, diff, names, health, the Markdown, JSON and SVG files, the TopologyReport in
 * Neo4j). Target: the diff under 10 s on this machine. Everything it wrote is deleted at the end.
 *
 * Usage: npx tsx bench/reports-diff.ts [--edges 100000] [--buckets 4] [--active 2] [--churn 0.05] [--rounds 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import neo4j from 'neo4j-driver';
import { parseArgs } from 'node:util';
import { bucketStart, createGraphDriver, SchemaMigrator } from '../graph-schema';
import { HistoryWriter, type EdgeDelta } from '../ingest';
import { DEFAULT_THRESHOLDS, diffWindows, HistoryReader, ReportRunner } from '../reports';
import { edgeDelta } from '../test/helpers/history';

const { values } = parseArgs({
  options: {
    edges: { type: 'string', default: '100000' },
    buckets: { type: 'string', default: '4' },
    active: { type: 'string', default: '2' },
    churn: { type: 'string', default: '0.05' },
    rounds: { type: 'string', default: '3' },
  },
});
const EDGES = Number(values.edges);
const BUCKETS = Number(values.buckets);
const ACTIVE = Number(values.active);
const CHURN = Number(values.churn);
const ROUNDS = Number(values.rounds);
const BUCKET = 300_000;
const LEVEL = `bench${Math.floor(Math.random() * 1e6)}`;

const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const driver = createGraphDriver();
  await new SchemaMigrator(driver).migrate();
  const writer = new HistoryWriter({ bucketMs: BUCKET, retentionMs: 30 * 86_400_000 });
  const t0 = bucketStart(Date.now() - 2 * 86_400_000, BUCKET);
  const before = { from: t0, to: t0 + BUCKETS * BUCKET };
  const after = { from: before.to, to: before.to + BUCKETS * BUCKET };
  const churned = Math.round(EDGES * CHURN);
  const delta = (i: number, t: number, bytes: number): EdgeDelta =>
    edgeDelta({
      level: LEVEL as EdgeDelta['level'],
      fromLabel: 'Process',
      // 20 edges per client, 50 per server, every 50th to an external address: (client, server, port) unique per i.
      fromKey: `${LEVEL}/c${Math.floor(i / 20)}/1`,
      toLabel: i % 50 === 0 ? 'ExternalEndpoint' : 'Process',
      toKey: i % 50 === 0 ? `198.18.${(i >> 8) & 255}.${i & 255}` : `${LEVEL}/s${i % 2000}/1`,
      port: 1000 + (i % 20),
      connections: 1,
      bytesToServer: bytes,
      bytesToClient: bytes,
      connectLatencyUsSum: 200,
      connectLatencyCount: 1,
      lastSeen: t,
    });

  // Window A: edges 0..EDGES-1; window B: the first `churned` gone, as many new ones, the next `churned` at 10×.
  const rows: EdgeDelta[][] = [];
  for (const [w, first, last] of [
    [before, 0, EDGES],
    [after, churned, EDGES + churned],
  ] as const)
    for (let k = 0; k < ACTIVE; k++) {
      const batch: EdgeDelta[] = [];
      for (let i = first; i < last; i++) {
        const bucket = (i + k * Math.max(1, Math.floor(BUCKETS / ACTIVE))) % BUCKETS;
        const tenfold = w === after && i >= churned && i < 2 * churned;
        batch.push(delta(i, w.from + bucket * BUCKET + 1000, tenfold ? 20_000_000 : 2_000_000));
      }
      rows.push(batch);
    }
  const written = rows.reduce((n, b) => n + b.length, 0);
  const w0 = Date.now();
  const session = driver.session({ defaultAccessMode: neo4j.session.WRITE });
  try {
    for (const batch of rows)
      for (let i = 0; i < batch.length; i += 5000) {
        const part = batch.slice(i, i + 5000);
        await session.executeWrite((tx) => writer.recordEdges(tx, part));
      }
  } finally {
    await session.close();
  }
  const writeMs = Date.now() - w0;
  console.log(
    `history: ${EDGES.toLocaleString()} edges per window, ${ACTIVE} of ${BUCKETS} buckets active each, churn ${CHURN * 100} % → ` +
      `${written.toLocaleString()} bucket rows written in ${secs(writeMs)} (${Math.round(written / (writeMs / 1000)).toLocaleString()} rows/s through HistoryWriter)`,
  );

  const reader = new HistoryReader(driver);
  const dir = mkdtempSync(join(tmpdir(), 'nettopo-bench-'));
  const runner = new ReportRunner({
    driver,
    outputDir: dir,
    log: { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined },
  });
  const ids: string[] = [];
  try {
    console.log('round  sum in   read A+B  diff     read+diff  whole report  changes');
    for (let r = 1; r <= ROUNDS; r++) {
      for (const sumIn of r % 2 === 1 ? (['cypher', 'client'] as const) : (['client', 'cypher'] as const)) {
        const a0 = Date.now();
        const [a, b] = await Promise.all([
          reader.window(LEVEL, before, sumIn),
          reader.window(LEVEL, after, sumIn),
        ]);
        const a1 = Date.now();
        const changes = diffWindows(a, b, { ...DEFAULT_THRESHOLDS });
        const d1 = Date.now();
        let whole = '';
        if (sumIn === 'client') {
          const full = await runner.run(
            { schedule: null, level: LEVEL, before, after, hosts: [], thresholds: { ...DEFAULT_THRESHOLDS } },
            undefined,
            `${LEVEL}-r${r}`,
          );
          ids.push(full.id);
          whole = secs(Date.now() - d1);
        }
        console.log(
          `${String(r).padStart(5)}  ${sumIn.padEnd(6)}  ${secs(a1 - a0).padEnd(8)}  ${secs(d1 - a1).padEnd(7)}  ${secs(d1 - a0).padEnd(9)}  ${whole.padEnd(12)}  ${changes.length} (${a.edges.size} → ${b.edges.size} edges)`,
        );
      }
    }
  } finally {
    const cleanup = driver.session();
    try {
      await cleanup.run(
        `MATCH (n) WHERE ((n:EdgeBucket OR n:EdgeHistory) AND n.level = $level)
            OR (n:TopologyReport AND n.id IN $ids) OR (n:TopologyChange AND n.reportId IN $ids)
         CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS`,
        { level: LEVEL, ids },
      );
    } finally {
      await cleanup.close();
    }
    rmSync(dir, { recursive: true, force: true });
    await driver.close();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

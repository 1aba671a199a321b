/**
 * How the topology history grows per day at a realistic churn, and that the retention bounds it.
 * A fleet of `--edges` edges at one level (default 1,000) is simulated for `--days` days (default
 * 3) in 5-minute buckets, on a simulated clock a month ago (so that the retention deletes only what
 * the bench wrote): in each bucket 60 % of the edges carry short connections, 10 % hold a pooled
 * connection open and idle (opened once, then quiet, with a short connection now and then), and
 * every hour 5 % of the edges are replaced by new ones (processes restarted with new pids). Every
 * bucket's deltas go through the ingest's own HistoryWriter, with the retention `--retention`
 * (default 1 day). At the end of each simulated day the bench prints the rows written that day,
 * the EdgeBucket / EdgeHistory nodes held, and the Neo4j store's size on disk: after the first day
 * the counts stay flat — the retention deletes a day as the next is written.
 *
 * Usage: npx tsx bench/history-growth.ts [--edges 1000] [--days 3] [--retention 1d]
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import neo4j from 'neo4j-driver';
import { parseDuration } from '../common/duration';
import { bucketStart, createGraphDriver, SchemaMigrator } from '../graph-schema';
import { HistoryWriter, type EdgeDelta } from '../ingest';
import { stackConfig } from '../stack';
import { edgeDelta } from '../test/helpers/history';

const { values } = parseArgs({
  options: {
    edges: { type: 'string', default: '1000' },
    days: { type: 'string', default: '3' },
    retention: { type: 'string', default: '1d' },
  },
});
const EDGES = Number(values.edges);
const DAYS = Number(values.days);
const RETENTION = parseDuration(values.retention as string, '--retention');
const BUCKET = 300_000;
const PER_DAY = 86_400_000 / BUCKET;
const LEVEL = `growth${Math.floor(Math.random() * 1e6)}`;

/** Deterministic pseudo-random numbers (the same fleet every run). */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

function storeMiB(): number {
  const dir = join(stackConfig().dataDir, 'neo4j', 'data', 'databases', 'neo4j');
  return Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]) / 1024;
}

async function main(): Promise<void> {
  const driver = createGraphDriver();
  await new SchemaMigrator(driver).migrate();
  const random = rng(42);
  const start = bucketStart(Date.now() - 30 * 86_400_000, 86_400_000);
  let clock = start;
  const writer = new HistoryWriter({ bucketMs: BUCKET, retentionMs: RETENTION, now: () => clock });
  // The fleet: edge i is `generation/i`; a replaced edge gets the next generation (a new process).
  const generation = new Array<number>(EDGES).fill(0);
  const pooled = new Set<number>();
  const edge = (i: number, f: Partial<EdgeDelta>): EdgeDelta =>
    edgeDelta({
      level: LEVEL as EdgeDelta['level'],
      fromLabel: 'Process',
      fromKey: `${LEVEL}/c${i}/${generation[i]}`,
      toLabel: 'Process',
      toKey: `${LEVEL}/s${i % 97}/0`,
      port: 5432 + (i % 7),
      ...f,
    });
  const count = async (label: string): Promise<number> => {
    const { records } = await driver.executeQuery(
      `MATCH (n:${label}) WHERE n.level = $level RETURN count(n) AS n`,
      {
        level: LEVEL,
      },
    );
    return (records[0].get('n') as { toNumber(): number }).toNumber();
  };
  await driver.executeQuery('CALL db.checkpoint()').catch(() => undefined);
  const store0 = storeMiB();
  console.log(
    `fleet: ${EDGES} edges, 5-minute buckets, retention ${values.retention}; per bucket 60 % of edges with short connections, ` +
      '10 % holding a pooled connection open and idle, 5 % of edges replaced every hour',
  );
  console.log('day  rows written  EdgeBucket held  EdgeHistory held  store MiB (Δ since start)  seconds');
  const session = driver.session({ defaultAccessMode: neo4j.session.WRITE });
  try {
    for (let day = 1; day <= DAYS; day++) {
      const t0 = Date.now();
      let rows = 0;
      for (let b = 0; b < PER_DAY; b++) {
        clock = start + ((day - 1) * PER_DAY + b) * BUCKET;
        const deltas: EdgeDelta[] = [];
        if (b % 12 === 0)
          for (let i = 0; i < EDGES; i++)
            if (random() < 0.05) {
              if (pooled.delete(i)) deltas.push(edge(i, { lastSeen: clock + 1000, open: -1 }));
              generation[i] += 1;
            }
        for (let i = 0; i < EDGES; i++) {
          const r = random();
          if (i % 10 === 0 && !pooled.has(i)) {
            pooled.add(i);
            deltas.push(
              edge(i, {
                connections: 1,
                bytesToServer: 500,
                bytesToClient: 800,
                lastSeen: clock + 2000,
                open: 1,
              }),
            );
          } else if (r < 0.6 || (pooled.has(i) && r < 0.65))
            deltas.push(
              edge(i, {
                connections: 1 + Math.floor(r * 5),
                bytesToServer: 1200,
                bytesToClient: 9000,
                lastSeen: clock + 3000,
              }),
            );
        }
        // One transaction per bucket, as an ingest flushing every few seconds would make several.
        const byEdge = new Map<string, EdgeDelta>();
        for (const d of deltas) {
          const id = `${d.fromKey}|${d.toKey}|${d.port}`;
          const cur = byEdge.get(id);
          if (!cur) byEdge.set(id, d);
          else {
            cur.connections += d.connections;
            cur.bytesToServer += d.bytesToServer;
            cur.bytesToClient += d.bytesToClient;
            cur.open += d.open;
            cur.lastSeen = Math.max(cur.lastSeen ?? 0, d.lastSeen ?? 0);
          }
        }
        await session.executeWrite((tx) => writer.recordEdges(tx, [...byEdge.values()]));
        rows += byEdge.size;
      }
      await driver.executeQuery('CALL db.checkpoint()').catch(() => undefined);
      const store = storeMiB();
      console.log(
        `${String(day).padStart(3)}  ${String(rows).padStart(12)}  ${String(await count('EdgeBucket')).padStart(15)}  ${String(await count('EdgeHistory')).padStart(16)}  ${store.toFixed(1).padStart(9)} (${(store - store0 >= 0 ? '+' : '') + (store - store0).toFixed(1)})${' '.repeat(12)}  ${((Date.now() - t0) / 1000).toFixed(0)}`,
      );
    }
  } finally {
    await session.close();
    const cleanup = driver.session();
    try {
      await cleanup.run(
        `MATCH (n) WHERE (n:EdgeBucket OR n:EdgeHistory) AND n.level = $level
         CALL { WITH n DELETE n } IN TRANSACTIONS OF 10000 ROWS`,
        { level: LEVEL },
      );
    } finally {
      await cleanup.close();
      await driver.close();
    }
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

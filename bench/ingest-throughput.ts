/*
 * Ingest throughput and visibility, against the local stack's real Kafka and Neo4j.
 *
 *   npx tsx bench/ingest-throughput.ts [--pairs 20] [--connections 1000] [--records 5] [--naive 3000]
 *                                      [--max-transaction-records <the ingest's default>] [--verbose]
 *
 * 1. Pre-fills a flow topic (3 partitions) with `pairs` host pairs × `connections` connections ×
 *    `records` cumulative records per end × 2 ends, plus their host/process/listener records.
 * 2. Clears Neo4j's query caches (so that start-up is measured cold, whatever ran before), ingests
 *    the topic from offset 0 and reports records/s and edge upserts/s three ways: the headline
 *    (`start()` to the last commit, everything included), start-up (`start()` resolved, first
 *    commit) and the steady state (first commit to last commit, records after the first batch),
 *    with the CPU seconds the ingest, Neo4j (its query, JIT compiler and GC threads apart) and
 *    Kafka used meanwhile.
 * 3. Ingests the first `naive` records of the same data with one record per transaction (the naive
 *    baseline) in a fresh group and reports records/s.
 * 4. Streams closed connections for 15 s at about 2,000 records/s while the ingest runs and reports
 *    the delay from each connection's close to the commit that makes its edge visible (p50/p99).
 * `--verbose` prints each transaction of the batched run. Everything it writes is under unique
 * host ids and topic prefixes, and removed at the end.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { FlowRecord } from '../contract/flow-record';
import { Codec, flowToAvro, TOPICS, topicConfigEntries, type TopicMessage } from '../contract';
import { createGraphDriver } from '../graph-schema';
import { IngestService, type TransactionResult } from '../ingest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectionUrls, PidFile, stackConfig, stackPaths } from '../stack';
import { cleanUp, hex, IngestScenario, produce } from '../test/helpers/ingest-scenario';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const pairs = arg('pairs', 20);
const connections = arg('connections', 1000);
const recordsPerFlow = arg('records', 5);
const naiveCount = arg('naive', 3000);
const maxTransactionRecords = process.argv.includes('--max-transaction-records')
  ? arg('max-transaction-records', 50_000)
  : undefined;
const verbose = process.argv.includes('--verbose');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function createTopics(prefix: string): Promise<void> {
  const kafka = new Kafka({
    clientId: 'nettopo-bench',
    brokers: [connectionUrls().kafkaBroker],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: Object.values(TOPICS).map((t) => ({
      topic: `${prefix}${t.topic}`,
      numPartitions: 3,
      configEntries: topicConfigEntries(t),
    })),
  });
  await admin.disconnect();
}

/**
 * CPU seconds (user + system) used so far by a stack server of this machine, in total and by kind
 * of thread (for Neo4j: queries, JIT compiler, garbage collector), or undefined if it is not ours.
 */
function serverCpuSeconds(name: 'neo4j' | 'kafka'): Record<string, number> | undefined {
  const pid = new PidFile(join(stackPaths(stackConfig()).run, `${name}.pid`)).livePid();
  if (pid === undefined) return undefined;
  const seconds = (stat: string): number => {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  };
  const out: Record<string, number> = { total: seconds(readFileSync(`/proc/${pid}/stat`, 'utf8')) };
  if (name !== 'neo4j') return out;
  out.queries = 0;
  out.jit = 0;
  out.gc = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    const thread = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (/^neo4j\.Bolt/.test(thread)) out.queries += seconds(stat);
    else if (/^C\d CompilerThre/.test(thread)) out.jit += seconds(stat);
    else if (/^(GC Thread|G1 )/.test(thread)) out.gc += seconds(stat);
  }
  return out;
}

/** CPU seconds of the ingest (this process), Neo4j (with its queries, JIT and GC) and Kafka while `work` runs. */
async function cpuDuring<T>(
  work: () => Promise<T>,
): Promise<{ result: T; cpu: Record<string, number | null> }> {
  const self0 = process.cpuUsage();
  const neo0 = serverCpuSeconds('neo4j');
  const kafka0 = serverCpuSeconds('kafka');
  const result = await work();
  const self = process.cpuUsage(self0);
  const neo1 = serverCpuSeconds('neo4j');
  const kafka1 = serverCpuSeconds('kafka');
  const round = (x: number): number => Number(x.toFixed(2));
  const used = (
    a: Record<string, number> | undefined,
    b: Record<string, number> | undefined,
    kind: string,
  ): number | null => (a && b ? round(b[kind] - a[kind]) : null);
  return {
    result,
    cpu: {
      ingestSeconds: round((self.user + self.system) / 1e6),
      neo4jSeconds: used(neo0, neo1, 'total'),
      neo4jQuerySeconds: used(neo0, neo1, 'queries'),
      neo4jJitSeconds: used(neo0, neo1, 'jit'),
      neo4jGcSeconds: used(neo0, neo1, 'gc'),
      kafkaSeconds: used(kafka0, kafka1, 'total'),
    },
  };
}

/** Timings of one ingest run: the headline from `start()` to the last commit, and its parts. */
interface RunFigures {
  /** start() → last commit (the headline: everything included). */
  seconds: number;
  /** start() → start() resolved (schema check, topics, group join). */
  startSeconds: number;
  /** start() → first commit (start-up: the above plus the first fetch, decode and query planning). */
  firstCommitSeconds: number;
  /** First commit → last commit (steady state). */
  steadySeconds: number;
  records: number;
  /** Records committed after the first commit (what the steady state covers). */
  steadyRecords: number;
  edges: number;
  steadyEdges: number;
  transactions: number;
}

async function run(ingest: IngestService): Promise<RunFigures> {
  let first = 0;
  let firstRecords = 0;
  let firstEdges = 0;
  let last = 0;
  ingest.on('transaction', (r: TransactionResult) => {
    if (verbose)
      process.stderr.write(
        `transaction at +${((r.committedAt - t0) / 1000).toFixed(2)} s: ${r.records} records, ${r.flows} flows, ${r.connections} connections changed; ${r.partitions.map((p) => `${p.topic}/${p.partition} ${p.records}`).join(', ')}\n`,
      );
    if (!first) {
      first = r.committedAt;
      firstRecords = r.records;
      firstEdges = r.edgeUpserts;
    }
    last = r.committedAt;
  });
  const t0 = Date.now();
  await ingest.start();
  const started = Date.now();
  await ingest.waitUntilCaughtUp(1_800_000, 100);
  const s = ingest.stats();
  const end = last || Date.now();
  return {
    seconds: (end - t0) / 1000,
    startSeconds: (started - t0) / 1000,
    firstCommitSeconds: ((first || end) - t0) / 1000,
    steadySeconds: (end - (first || end)) / 1000,
    records: s.records,
    steadyRecords: s.records - firstRecords,
    edges: s.edgeUpserts,
    steadyEdges: s.edgeUpserts - firstEdges,
    transactions: s.transactions,
  };
}

/** records/s, or null when the interval is empty. */
function rate(n: number, seconds: number): number | null {
  return seconds > 0 ? Math.round(n / seconds) : null;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const codec = new Codec();
  const scenarios = Array.from(
    { length: pairs },
    (_, i) => new IngestScenario({ connections, recordsPerFlow, net: (i % 250) + 1 }),
  );
  const state: TopicMessage[] = scenarios.flatMap((s) => s.stateMessages(codec));
  const flows: TopicMessage[] = scenarios.flatMap((s) => s.flowMessages(codec));
  const prefix = `bench-${hex(4)}.`;
  const naivePrefix = `bench-${hex(4)}.`;
  const group = `bench-${hex(4)}`;
  const naiveGroup = `bench-naive-${hex(4)}`;
  const driver = createGraphDriver();
  const out: Record<string, unknown> = {
    pairs,
    connections,
    recordsPerFlow,
    maxTransactionRecords: maxTransactionRecords ?? 'default',
    flowRecords: flows.length,
  };
  try {
    await createTopics(prefix);
    await createTopics(naivePrefix);
    const tp = Date.now();
    await produce(prefix, [...state, ...flows]);
    await produce(naivePrefix, [...state, ...flows.slice(0, naiveCount)]);
    process.stderr.write(
      `pre-filled ${flows.length} flow records in ${((Date.now() - tp) / 1000).toFixed(1)} s\n`,
    );

    await driver.executeQuery('CALL db.clearQueryCaches()');
    const batched = new IngestService({
      topicPrefix: prefix,
      groupId: group,
      logger: quiet,
      maxTransactionRecords,
    });
    const { result: b, cpu } = await cpuDuring(() => run(batched));
    await batched.stop();
    out.batched = {
      headline: {
        seconds: b.seconds,
        recordsPerSec: rate(b.records, b.seconds),
        edgeUpsertsPerSec: rate(b.edges, b.seconds),
      },
      startUp: { startSeconds: b.startSeconds, firstCommitSeconds: b.firstCommitSeconds },
      steadyState: {
        seconds: b.steadySeconds,
        records: b.steadyRecords,
        recordsPerSec: rate(b.steadyRecords, b.steadySeconds),
        edgeUpsertsPerSec: rate(b.steadyEdges, b.steadySeconds),
      },
      transactions: b.transactions,
      cpu,
    };
    process.stderr.write(`batched: ${JSON.stringify(out.batched)}\n`);

    const naive = new IngestService({
      topicPrefix: naivePrefix,
      groupId: naiveGroup,
      oneRecordPerTransaction: true,
      logger: quiet,
    });
    const n = await run(naive);
    await naive.stop();
    out.naive = {
      headline: { seconds: n.seconds, records: n.records, recordsPerSec: rate(n.records, n.seconds) },
      startUp: { startSeconds: n.startSeconds, firstCommitSeconds: n.firstCommitSeconds },
      steadyState: { recordsPerSec: rate(n.steadyRecords, n.steadySeconds) },
    };
    const naiveRate = n.records / n.seconds;
    const naiveSteady = n.steadyRecords / n.steadySeconds;
    out.speedup = {
      headline: Number((b.records / b.seconds / naiveRate).toFixed(1)),
      steadyState: Number((b.steadyRecords / b.steadySeconds / naiveSteady).toFixed(1)),
    };
    process.stderr.write(`naive: ${JSON.stringify(out.naive)}\n`);

    // Visibility: a live stream of closed connections while the ingest runs.
    const live = new IngestService({
      topicPrefix: prefix,
      groupId: group,
      logger: quiet,
      migrate: false,
      maxTransactionRecords,
    });
    const delays: number[] = [];
    live.on('transaction', (r: TransactionResult) => {
      for (const c of r.closedAt) if (c >= liveStart) delays.push(r.committedAt - c);
    });
    await live.start();
    const liveStart = Date.now();
    const s = scenarios[0];
    let cookie = 9_000_000;
    let seq = 1_000_000;
    while (Date.now() - liveStart < 15_000) {
      const tick = Date.now();
      const batch: TopicMessage[] = [];
      for (let i = 0; i < 200; i += 1) {
        const now = Date.now();
        const f: FlowRecord = {
          hostId: s.hostA,
          runId: s.runA,
          seq: seq++,
          cookie: cookie++,
          netns: s.netnsA,
          role: 'client',
          state: 'closed',
          family: 4,
          localAddr: s.addrA,
          localPort: 20000 + (cookie % 40000),
          remoteAddr: s.addrB,
          remotePort: 8080,
          pid: s.clientPid,
          processStartTime: s.start,
          comm: 'client',
          cgroupId: 0,
          containerId: s.containerA,
          containerRuntime: 'containerd',
          podUid: s.podA,
          bytesSent: 100,
          bytesReceived: 1000,
          retransmits: 0,
          srttUs: 200,
          connectLatencyUs: 150,
          openedAt: now - 50,
          closedAt: now,
          observedAt: now,
          preexisting: false,
        };
        batch.push(codec.message('flow', flowToAvro(f)));
      }
      await produce(prefix, batch);
      await sleep(Math.max(0, 100 - (Date.now() - tick)));
    }
    await live.waitUntilCaughtUp(60_000, 50);
    await live.stop();
    delays.sort((x, y) => x - y);
    out.visibility = {
      closes: delays.length,
      p50Ms: percentile(delays, 50),
      p99Ms: percentile(delays, 99),
      maxMs: delays.at(-1),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    for (const s of scenarios)
      await cleanUp(driver, s, s === scenarios[0] ? prefix : '\u0000', [group, naiveGroup]);
    await cleanUp(driver, scenarios[0], naivePrefix, [group, naiveGroup]);
    await driver.close();
  }
}

const quiet = {
  error: (m: string) => process.stderr.write(`${m}\n`),
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

void main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exitCode = 1;
});

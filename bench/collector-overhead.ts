/**
 * Overhead of the collector on loopback TCP loads:
 * - churn: connect, 64 B request, 64 B response, close — one connection after another;
 * - keep-alive: 64 B request/response ping-pong on open connections.
 *
 * The machine is shared and noisy, so "with" and "without" rounds are interleaved in one process
 * (off/on, then on/off, …: a drift of the background load hits both sides alike), and the result is
 * the median of the per-pair throughput ratios with its spread (min–max and interquartile range).
 * The per-program mean ns (kernel.bpf_stats_enabled) comes from a separate pass, since the stats
 * themselves slow every program down.
 *
 * Run as root: `npx tsx bench/collector-overhead.ts [seconds-per-round] [pairs] [load,load]`
 * (the load runs in a child process so the collector does not ignore it as its own traffic).
 * Set `NETTOPO_BENCH_JSON=file` to also write the figures as JSON.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { decodeEvents, openNativeCollector, type NativeCollector } from '../collector';

type Load = 'churn' | 'keepalive';
const PAYLOAD = Buffer.alloc(64, 0x61);

/** Child side: runs one load for durationMs and prints the operations done. */
async function runLoad(kind: Load, durationMs: number, concurrency: number): Promise<void> {
  const server = net.createServer((s) => {
    let pending = 0;
    s.on('data', (d) => {
      pending += d.length;
      while (pending >= 64) {
        pending -= 64;
        s.write(PAYLOAD);
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const deadline = Date.now() + durationMs;
  let ops = 0;

  const exchange = (sock: net.Socket): Promise<void> =>
    new Promise((resolve) => {
      let got = 0;
      const onData = (d: Buffer) => {
        got += d.length;
        if (got >= 64) {
          sock.off('data', onData);
          resolve();
        }
      };
      sock.on('data', onData);
      sock.write(PAYLOAD);
    });

  const worker = async () => {
    if (kind === 'keepalive') {
      const sock = net.connect(port, '127.0.0.1');
      sock.setNoDelay(true);
      await new Promise((r) => sock.once('connect', r));
      while (Date.now() < deadline) {
        await exchange(sock);
        ops++;
      }
      sock.destroy();
    } else {
      while (Date.now() < deadline) {
        const sock = net.connect(port, '127.0.0.1');
        sock.setNoDelay(true);
        await new Promise((r) => sock.once('connect', r));
        await exchange(sock);
        await new Promise<void>((r) => sock.end(r));
        sock.destroy();
        ops++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  server.close();
  process.stdout.write(`${ops}\n`);
}

function load(kind: Load, durationMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', __filename, 'load', kind, String(durationMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(Number(out.trim())) : reject(new Error(`load exited ${code}`)),
    );
  });
}

interface ProgStat {
  id: number;
  name: string;
  run_cnt?: number;
  run_time_ns?: number;
}

function listProgs(): ProgStat[] {
  return JSON.parse(execFileSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8' })) as ProgStat[];
}

/** run_cnt / run_time_ns of the given programs (other collectors may run on the host). */
function progStats(ids: Set<number>): Map<string, { cnt: number; ns: number }> {
  const m = new Map<string, { cnt: number; ns: number }>();
  for (const p of listProgs())
    if (ids.has(p.id))
      m.set(p.name, {
        cnt: (m.get(p.name)?.cnt ?? 0) + (p.run_cnt ?? 0),
        ns: (m.get(p.name)?.ns ?? 0) + (p.run_time_ns ?? 0),
      });
  return m;
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** A collector as the real one runs: ring buffer drained, flows read every second. */
class Running {
  readonly collector: NativeCollector;
  /** Ids of its programs: the ones that appeared when it opened. */
  readonly progIds: Set<number>;
  events = 0;
  private readonly reader: NodeJS.Timeout;

  constructor() {
    const before = new Set(listProgs().map((p) => p.id));
    this.collector = openNativeCollector({ pollIntervalMs: 100 });
    this.progIds = new Set(
      listProgs()
        .filter((p) => !before.has(p.id) && /^(handle_|snap_)/.test(p.name))
        .map((p) => p.id),
    );
    this.collector.start((b) => (this.events += decodeEvents(b).length));
    this.collector.snapshot();
    this.reader = setInterval(() => this.collector.readFlows(), 1000);
  }

  close(): ReturnType<NativeCollector['stats']> {
    clearInterval(this.reader);
    this.collector.readFlows();
    const stats = this.collector.stats();
    this.collector.close();
    return stats;
  }
}

interface LoadResult {
  kind: Load;
  off: number[];
  on: number[];
  ratios: number[];
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  events: number;
  ringbufFull: number;
  evicted: number;
  progs: Array<{ name: string; runs: number; meanNs: number; perOp: number }>;
}

async function measure(kind: Load, ms: number, pairs: number, statsPath: string): Promise<LoadResult> {
  await load(kind, 1000); // warm-up
  const off: number[] = [];
  const on: number[] = [];
  let events = 0;
  let ringbufFull = 0;
  let evicted = 0;
  const withCollector = async () => {
    const r = new Running();
    try {
      on.push(await load(kind, ms));
    } finally {
      const s = r.close();
      events += r.events;
      ringbufFull += s.ringbufFull;
      evicted += s.flowsEvicted;
    }
  };
  for (let i = 0; i < pairs; i++) {
    // off/on, on/off, …: a trend in the background load affects both sides alike
    if (i % 2 === 0) {
      off.push(await load(kind, ms));
      await withCollector();
    } else {
      await withCollector();
      off.push(await load(kind, ms));
    }
    process.stderr.write(`  ${kind} pair ${i + 1}/${pairs}: off ${off[i]} on ${on[i]}\n`);
  }
  const ratios = on.map((v, i) => v / off[i]);
  const sorted = [...ratios].sort((a, b) => a - b);

  // separate pass for the per-program cost: bpf_stats itself slows every program down
  const r = new Running();
  let progs: LoadResult['progs'] = [];
  try {
    fs.writeFileSync(statsPath, '1');
    const before = progStats(r.progIds);
    const ops = await load(kind, ms);
    const after = progStats(r.progIds);
    fs.writeFileSync(statsPath, '0');
    progs = [...after].flatMap(([name, a]) => {
      const b = before.get(name) ?? { cnt: 0, ns: 0 };
      const runs = a.cnt - b.cnt;
      return runs ? [{ name, runs, meanNs: (a.ns - b.ns) / runs, perOp: runs / ops }] : [];
    });
  } finally {
    r.close();
  }
  return {
    kind,
    off,
    on,
    ratios,
    median: quantile(sorted, 0.5),
    min: sorted[0],
    max: sorted[sorted.length - 1],
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    events,
    ringbufFull,
    evicted,
    progs,
  };
}

function pct(ratio: number): string {
  return `${((1 - ratio) * 100).toFixed(1)} %`;
}

function print(results: LoadResult[], seconds: number): void {
  const col = (s: string) => s.padStart(24);
  const row = (label: string, f: (r: LoadResult) => string) =>
    console.log(label.padEnd(28) + results.map((r) => col(f(r))).join(''));
  row('', (r) => r.kind);
  row('ops/s without (median)', (r) =>
    (
      quantile(
        [...r.off].sort((a, b) => a - b),
        0.5,
      ) / seconds
    ).toFixed(0),
  );
  row('ops/s with (median)', (r) =>
    (
      quantile(
        [...r.on].sort((a, b) => a - b),
        0.5,
      ) / seconds
    ).toFixed(0),
  );
  row('loss, median of pairs', (r) => pct(r.median));
  row('loss, IQR', (r) => `${pct(r.q3)} .. ${pct(r.q1)}`);
  row('loss, min .. max', (r) => `${pct(r.max)} .. ${pct(r.min)}`);
  row('pairs', (r) => String(r.ratios.length));
  row('events / ringbufFull / evicted', (r) => `${r.events} / ${r.ringbufFull} / ${r.evicted}`);
  const names = [...new Set(results.flatMap((r) => r.progs.map((p) => p.name)))].sort();
  console.log('per program: mean ns a run (runs per operation), separate pass with bpf_stats');
  for (const name of names)
    row(`  ${name}`, (r) => {
      const p = r.progs.find((x) => x.name === name);
      return p ? `${p.meanNs.toFixed(0)} ns (${p.perOp.toFixed(2)}/op)` : '-';
    });
  row('  total ns per operation', (r) => r.progs.reduce((s, p) => s + p.meanNs * p.perOp, 0).toFixed(0));
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const pairs = Number(process.argv[3] ?? 6);
  const kinds = (process.argv[4] ?? 'keepalive,churn').split(',') as Load[];
  const statsPath = '/proc/sys/kernel/bpf_stats_enabled';
  const statsBefore = fs.readFileSync(statsPath, 'utf8').trim();
  const results: LoadResult[] = [];
  try {
    fs.writeFileSync(statsPath, '0');
    for (const kind of kinds) results.push(await measure(kind, seconds * 1000, pairs, statsPath));
  } finally {
    fs.writeFileSync(statsPath, statsBefore);
  }
  print(results, seconds);
  if (process.env.NETTOPO_BENCH_JSON)
    fs.writeFileSync(process.env.NETTOPO_BENCH_JSON, JSON.stringify(results, null, 2));
}

if (process.argv[2] === 'load') {
  void runLoad(process.argv[3] as Load, Number(process.argv[4]), 2);
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

/**
 * Overhead of the collector on loopback TCP loads, with and without it in one run:
 * - churn: connect, 64 B request, 64 B response, close — one connection after another;
 * - keep-alive: 64 B request/response ping-pong on open connections.
 * Prints the throughput ratio and the mean BPF ns per program run (kernel.bpf_stats_enabled).
 *
 * Run as root: `npx tsx bench/collector-overhead.ts [seconds-per-run]`
 * (the load runs in a child process so the collector does not ignore it as its own traffic).
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { decodeEvents, openNativeCollector } from '../collector';

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
  name: string;
  run_cnt?: number;
  run_time_ns?: number;
}

function progStats(): Map<string, { cnt: number; ns: number }> {
  const progs = JSON.parse(
    execFileSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8' }),
  ) as ProgStat[];
  const m = new Map<string, { cnt: number; ns: number }>();
  for (const p of progs)
    if (p.name && /^(handle_|snap_)/.test(p.name))
      m.set(p.name, {
        cnt: (m.get(p.name)?.cnt ?? 0) + (p.run_cnt ?? 0),
        ns: (m.get(p.name)?.ns ?? 0) + (p.run_time_ns ?? 0),
      });
  return m;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const ms = seconds * 1000;
  const statsPath = '/proc/sys/kernel/bpf_stats_enabled';
  const statsBefore = fs.readFileSync(statsPath, 'utf8').trim();
  const results: string[] = [];
  try {
    for (const kind of ['keepalive', 'churn'] as Load[]) {
      await load(kind, 1000); // warm-up
      const base1 = await load(kind, ms);
      const collector = openNativeCollector({ pollIntervalMs: 100 });
      let events = 0;
      collector.start((b) => (events += decodeEvents(b).length));
      collector.snapshot();
      const reader = setInterval(() => collector.readFlows(), 1000);
      const withC = await load(kind, ms);
      // per-program cost in a separate run: bpf_stats itself slows every program down
      fs.writeFileSync(statsPath, '1');
      const before = progStats();
      await load(kind, Math.min(ms, 2000));
      const after = progStats();
      fs.writeFileSync(statsPath, '0');
      clearInterval(reader);
      collector.readFlows();
      const stats = collector.stats();
      collector.close();
      const base2 = await load(kind, ms);
      const base = (base1 + base2) / 2;
      const lines = [...after].map(([name, a]) => {
        const b = before.get(name) ?? { cnt: 0, ns: 0 };
        const cnt = a.cnt - b.cnt;
        return `    ${name.padEnd(20)} runs ${String(cnt).padStart(9)}  mean ${cnt ? ((a.ns - b.ns) / cnt).toFixed(0) : '-'} ns`;
      });
      results.push(
        `${kind}: without ${(base / seconds).toFixed(0)} ops/s, with ${(withC / seconds).toFixed(0)} ops/s, ` +
          `ratio ${(withC / base).toFixed(3)} (loss ${((1 - withC / base) * 100).toFixed(1)} %), events ${events}, ` +
          `ringbufFull ${stats.ringbufFull}, evicted ${stats.flowsEvicted}`,
        ...lines,
      );
      console.log(results.slice(-1 - lines.length).join('\n'));
    }
  } finally {
    fs.writeFileSync(statsPath, statsBefore);
  }
}

if (process.argv[2] === 'load') {
  void runLoad(process.argv[3] as Load, Number(process.argv[4]), 2);
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

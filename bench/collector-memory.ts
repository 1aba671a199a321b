/**
 * Resident memory of the collector with many tracked flows, publishing to the local stack's real
 * Kafka (NETTOPO_KAFKA_PORT): the real collector (FlowCollector + CollectorPublisher + KafkaSink)
 * runs in this process while a child in its own network namespace holds N real loopback TCP
 * connections open (2N sockets = 2N flows, each with a byte sent so that each is reported).
 * Prints RSS and heap before and after, and the cost per tracked flow. The kernel's flow map
 * holds at most MAX_FLOWS (65,536, bpf/nettopo.h) entries, so N stays under 32,768; 100,000 flows
 * are extrapolated from the per-flow cost (and would need MAX_FLOWS raised).
 *
 * Run as root: `npx tsx bench/collector-memory.ts [connections]` (default 30000)
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as readline from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';
import {
  CollectorPublisher,
  Enricher,
  FlowCollector,
  KafkaSink,
  kafkaClientConfig,
  kafkaSettings,
} from '../collector';
import { connectionUrls } from '../stack/stack-config';

const HOLDER = `
import socket, sys, resource
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
n = int(sys.argv[1]); base = int(sys.argv[2]); keep = []; srvs = []
for p in range(base, base + 4):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', p)); s.listen(4096); srvs.append(s)
for i in range(n):
    srv = srvs[i % 4]
    c = socket.create_connection(('127.0.0.1', srv.getsockname()[1]))
    a, _ = srv.accept()
    c.send(b'x'); a.recv(1)
    keep += [c, a]
print('ready', flush=True)
sys.stdin.read()
`;

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function memory(label: string): { rss: number; heap: number } {
  global.gc?.();
  const m = process.memoryUsage();
  console.log(`${label.padEnd(34)} rss ${mib(m.rss).padStart(10)}  heap used ${mib(m.heapUsed).padStart(9)}`);
  return { rss: m.rss, heap: m.heapUsed };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 30000);
  process.env.NETTOPO_LOG_LEVEL ??= 'warn';
  const ns = `ntmem${process.pid}`;
  const prefix = `bench-mem-${randomBytes(3).toString('hex')}.`;
  const broker = connectionUrls().kafkaBroker;
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const intervalMs = 2000;
  const enricher = new Enricher();
  const collector = new FlowCollector({ intervalMs, enricher });
  const sink = new KafkaSink({ settings: kafkaSettings({ brokers: broker }), topicPrefix: prefix });
  const publisher = new CollectorPublisher({
    collector,
    enricher,
    sink,
    heartbeatIntervalMs: 5000,
    namespaces: false,
  });
  let reported = 0;
  const holders: ReturnType<typeof spawn>[] = [];
  try {
    sink.start();
    collector.start((records) => {
      reported += records.length;
      publisher.onFlows(records);
    });
    publisher.start();
    await sleep(3 * intervalMs);
    const before = memory('collector running, idle');
    // Several holders: each process may hold only as many sockets as its fd limit allows.
    const per = 8000;
    for (let i = 0; i * per < n; i++) {
      const count = String(Math.min(per, n - i * per));
      const h = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', HOLDER, count, String(21000 + i * 4)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      holders.push(h);
      await new Promise<void>((resolve, reject) => {
        readline.createInterface({ input: h.stdout! }).on('line', (l) => l === 'ready' && resolve());
        h.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
      });
    }
    const t0 = Date.now();
    while (reported < 2 * n && Date.now() - t0 < 60000) await sleep(200);
    while (sink.stats().buffered > 0 && Date.now() - t0 < 120000) await sleep(200);
    memory(`${2 * n} flows reported and produced`);
    await sleep(3 * intervalMs); // steady state: flows tracked, nothing new to report
    const after = memory(`${2 * n} flows tracked, steady`);
    const stats = collector.stats();
    const perFlow = (after.rss - before.rss) / (2 * n);
    console.log(
      `kernel: ${stats?.flowsPresent} flows present, evicted ${stats?.flowsEvicted}; records reported ${reported}; kafka produced ${sink.stats().produced}, dropped ${sink.stats().dropped}`,
    );
    console.log(
      `per tracked flow: rss +${perFlow.toFixed(0)} B, heap +${((after.heap - before.heap) / (2 * n)).toFixed(0)} B → 100,000 flows ≈ rss ${mib(before.rss + perFlow * 100000)}`,
    );
  } finally {
    for (const h of holders) h.kill('SIGKILL');
    collector.stop();
    await publisher.stop();
    await sink.stop(5000);
    execFileSync('ip', ['netns', 'del', ns]);
    const admin = new Kafka({
      ...kafkaClientConfig(kafkaSettings({ brokers: broker })),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length) await admin.deleteTopics({ topics: mine });
    await admin.disconnect();
  }
}

void main();

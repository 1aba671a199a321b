/**
 * Resident memory of the collector with many tracked flows, publishing to the local stack's real
 * Kafka (NETTOPO_KAFKA_PORT): the real collector (FlowCollector + CollectorPublisher + KafkaSink)
 * runs in this process while a child in its own network namespace holds N real loopback TCP
 * connections open (2N sockets = 2N flows, each with a byte sent so that each is reported).
 * Prints RSS and heap before and after, the cost per tracked flow, and the kernel memory of the
 * collector's BPF maps (preallocated: it does not grow with the flows). The default flow map holds
 * 131,072 entries, so the default 50,000 connections (100,000 flows) fit.
 *
 * Run as root: `node --expose-gc --require tsx/cjs bench/collector-memory.ts [connections]`
 * (default 50000; --expose-gc lets it collect garbage before each reading)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { CollectorPublisher, Enricher, FlowCollector } from '../collector';
import { KafkaSink, kafkaClientConfig, kafkaSettings } from '../kafka';
import { connectionUrls } from '../stack/stack-config';
import { SocketHolder } from '../test/helpers/socket-holder';

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
/** Kernel memory charged for this process's BPF maps (memlock in /proc/self/fdinfo). */
function bpfMapMemory(): number {
  let total = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (!fs.readlinkSync(`/proc/self/fd/${fd}`).includes('bpf-map')) continue;
      total += Number(/memlock:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? 0);
    } catch {
      // closed meanwhile
    }
  }
  return total;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function memory(label: string): { rss: number; heap: number } {
  global.gc?.();
  const m = process.memoryUsage();
  console.log(
    `${label.padEnd(34)} rss ${mib(m.rss).padStart(10)}  heap used ${mib(m.heapUsed).padStart(9)} of ${mib(m.heapTotal).padStart(9)}  external ${mib(m.external).padStart(9)}`,
  );
  return { rss: m.rss, heap: m.heapUsed };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 50000);
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
  const holders: SocketHolder[] = [];
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
    for (let i = 0; i * per < n; i++)
      holders.push(await SocketHolder.open(ns, Math.min(per, n - i * per), 21000 + i * 4));
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
      `kernel: BPF maps ${mib(bpfMapMemory())} (memlock, preallocated; flows map capacity ${stats?.flowsCapacity})`,
    );
    console.log(
      `${2 * n} tracked flows: rss ${mib(after.rss)} (idle ${mib(before.rss)}), per flow rss +${perFlow.toFixed(0)} B, heap +${((after.heap - before.heap) / (2 * n)).toFixed(0)} B`,
    );
  } finally {
    for (const h of holders) h.kill();
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

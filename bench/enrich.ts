/**
 * Enrichment cost on this machine: cached attributions (the hot path), cold /proc reads (once per
 * new process), and a full walk of the cgroup v2 hierarchy (at most once per second on misses).
 * Run as root: `npx tsx bench/enrich.ts`. Prints one line per figure.
 */
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { CgroupResolver, Enricher, ProcessResolver, readHostInfo } from '../collector';

function livePids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

function report(name: string, count: number, ms: number): void {
  const per = (ms * 1e6) / count;
  const unit = per >= 1000 ? `${(per / 1000).toFixed(2)} µs` : `${per.toFixed(0)} ns`;
  console.log(
    `${name.padEnd(46)} ${String(count).padStart(6)} in ${ms.toFixed(2).padStart(8)} ms  = ${unit} each`,
  );
}

const cgroups = new CgroupResolver();
const clockTicks = new ProcessResolver().clockTicks;
const bootTimeMs = new ProcessResolver().bootTimeMs;

// The cgroup walk, as found and with 1,000 extra cgroups (100 pods × 10 containers), removed after.
const walkStart = performance.now();
const count = cgroups.rescan();
report(`full cgroup v2 walk (${count} cgroups)`, 1, performance.now() - walkStart);
const benchTop = join(cgroups.mountPoint, `nettopo-bench-${process.pid}`);
const made: string[] = [benchTop];
try {
  mkdirSync(benchTop);
  for (let p = 0; p < 100; p++) {
    const pod = join(benchTop, `pod${p}`);
    mkdirSync(pod);
    made.push(pod);
    for (let c = 0; c < 10; c++) {
      mkdirSync(join(pod, `c${c}`));
      made.push(join(pod, `c${c}`));
    }
  }
  const t = performance.now();
  const n = cgroups.rescan();
  report(`full cgroup v2 walk (${n} cgroups)`, 1, performance.now() - t);
} finally {
  for (const dir of made.reverse()) rmdirSync(dir);
}

// Events as the kernel would give them: (tgid, comm, cgroup id) of live processes.
const events = livePids()
  .map((pid) => {
    const path = cgroups.unifiedPathOfPid(pid);
    const id = path === null ? null : cgroups.idOf(path);
    return id === null ? null : { pid, comm: 'x', cgroupId: id };
  })
  .filter((e): e is { pid: number; comm: string; cgroupId: number } => e !== null);

// Cold reads: each capture on a fresh resolver reads /proc/<pid>/{stat,status,cmdline,exe,cgroup}.
const COLD = 1000;
let coldMs = 0;
let done = 0;
const cpuBefore = process.cpuUsage();
while (done < COLD) {
  const fresh = new ProcessResolver({ clockTicks, bootTimeMs, maxColdReadsPerSecond: Infinity });
  for (const e of events) {
    if (done === COLD) break;
    const t = performance.now();
    fresh.capture(e.pid, e.comm, e.cgroupId);
    coldMs += performance.now() - t;
    done++;
  }
}
const cpu = process.cpuUsage(cpuBefore);
report(`cold /proc read (${events.length} live pids, cycled)`, COLD, coldMs);
console.log(
  `  cpu for the cold reads: user ${(cpu.user / 1000).toFixed(1)} ms, system ${(cpu.system / 1000).toFixed(1)} ms`,
);

const goneStart = performance.now();
const goneResolver = new ProcessResolver({ clockTicks, bootTimeMs, maxColdReadsPerSecond: Infinity });
for (let i = 0; i < COLD; i++) goneResolver.capture(4_000_000 - i, 'gone', 1);
report('cold read of an exited pid (ENOENT)', COLD, performance.now() - goneStart);

// Cached attribution, the hot path: process cache + cgroup cache + one object.
const enricher = new Enricher({
  host: readHostInfo(),
  cgroups,
  processes: new ProcessResolver({ clockTicks, bootTimeMs }),
});
for (const e of events) enricher.attribute(e.pid, e.comm, e.cgroupId);
const HOT = 10_000;
for (let round = 0; round < 3; round++) {
  const t = performance.now();
  for (let i = 0; i < HOT; i++) {
    const e = events[i % events.length] as { pid: number; comm: string; cgroupId: number };
    enricher.attribute(e.pid, e.comm, e.cgroupId);
  }
  report(`cached attribution, round ${round + 1}`, HOT, performance.now() - t);
}
const stats = enricher.processes.stats;
console.log(`  process cache: hits ${stats.hits}, cold reads ${stats.coldReads}, verifies ${stats.verifies}`);

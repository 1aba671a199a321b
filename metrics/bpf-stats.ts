import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Run count and total run time of one BPF program, as the kernel counts them. */
export interface BpfProgramStats {
  name: string;
  runs: number;
  runTimeNs: number;
}

/** Whether the kernel counts BPF run time (`sysctl kernel.bpf_stats_enabled=1`; it costs every program a little). */
export function bpfStatsEnabled(path = '/proc/sys/kernel/bpf_stats_enabled'): boolean {
  try {
    return readFileSync(path, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/**
 * The run counts and times of the BPF programs this process holds (bpftool names the processes
 * holding each program), summed by program name; empty when the stats are off or bpftool is
 * missing. Read at most every `cacheMs`.
 */
export class BpfProgramReader {
  private cached: { at: number; value: BpfProgramStats[] } | undefined;

  constructor(
    private readonly pid = process.pid,
    private readonly cacheMs = 5_000,
  ) {}

  async read(): Promise<BpfProgramStats[]> {
    if (!bpfStatsEnabled()) return [];
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return this.cached.value;
    let progs: { name?: string; run_cnt?: number; run_time_ns?: number; pids?: { pid: number }[] }[];
    try {
      const { stdout } = await run('bpftool', ['prog', 'show', '--json'], { maxBuffer: 64 * 1024 * 1024 });
      progs = JSON.parse(stdout) as typeof progs;
    } catch {
      return [];
    }
    const byName = new Map<string, BpfProgramStats>();
    for (const p of progs) {
      if (!p.name || !p.pids?.some((x) => x.pid === this.pid)) continue;
      const s = byName.get(p.name) ?? { name: p.name, runs: 0, runTimeNs: 0 };
      s.runs += p.run_cnt ?? 0;
      s.runTimeNs += p.run_time_ns ?? 0;
      byName.set(p.name, s);
    }
    const value = [...byName.values()];
    this.cached = { at: Date.now(), value };
    return value;
  }
}

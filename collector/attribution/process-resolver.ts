import { readFileSync, readlinkSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { bestCgroupPath, parseProcCgroup } from './cgroup-resolver';
import { CommandLineFilter } from './command-line';
import { FIELD_BOUNDS, utf8Length } from '../../contract/field-bounds';
import { createLogger } from '../../common/log';
import { LruCache } from '../../common/lru-cache';
import type { ProcessField, ProcessInfo } from './process-info';
import {
  parseBootTime,
  parseCmdline,
  parseProcStat,
  parseStatusUid,
  ProcFileReader,
  readClockTicks,
} from './proc-files';

export interface ProcessResolverOptions {
  /**
   * procfs of the host's pid namespace (`/host/proc` when the collector runs in a container).
   * @defaultValue `'/proc'`
   */
  procRoot?: string;
  /**
   * Most processes kept (LRU).
   * @defaultValue `16384`
   */
  capacity?: number;
  /**
   * When an event carries no start time, how long a cached entry is trusted before the next
   * event re-checks the pid's start time (one read of /proc/<pid>/stat) to detect pid reuse.
   * @defaultValue `2000`
   */
  verifyIntervalMs?: number;
  /**
   * How long a process stays cached after it was seen gone, for late events of its flows.
   * @defaultValue `30000`
   */
  exitedTtlMs?: number;
  /**
   * Cold /proc reads allowed per second; beyond, `capture` answers from the event alone
   * (marked unknown, not cached) rather than stall the event loop on a fork storm. A cold read
   * costs ~50 µs (bench/enrich.ts), so the default caps it at ~10 % of a core.
   * @defaultValue `2000`
   */
  maxColdReadsPerSecond?: number;
  /**
   * Clock ticks per second (USER_HZ) used to convert /proc/<pid>/stat field 22.
   * @defaultValue AT_CLKTCK from /proc/self/auxv (100 on x86_64 and arm64), else 100
   */
  clockTicks?: number;
  /**
   * How command lines are scrubbed and bounded before they are kept.
   * @defaultValue `new CommandLineFilter()`: scrubbing on, the default sensitive words
   */
  commandLines?: CommandLineFilter;
  /**
   * Most bytes of /proc/<pid>/cmdline read (a longer command line is cut, and marked so).
   * @defaultValue 65536
   */
  cmdlineReadBytes?: number;
  /**
   * Boot time, ms since the epoch.
   * @defaultValue `btime` of `<procRoot>/stat` × 1000 (whole seconds, so that start times, and
   * the Process identity built from them, are identical across collector restarts)
   */
  bootTimeMs?: number;
}

/** Counters for the heartbeat and the bench. */
export interface ProcessResolverStats {
  hits: number;
  coldReads: number;
  verifies: number;
  pidReuses: number;
  gone: number;
  throttled: number;
  evicted: number;
  /** Command lines cut to their bounds. */
  cmdlinesTruncated: number;
  /** Command lines with at least one value scrubbed. */
  cmdlinesScrubbed: number;
  /** Values scrubbed, in all. */
  valuesScrubbed: number;
}

interface Entry {
  info: ProcessInfo;
  /** performance.now() of the last read that confirmed the identity. */
  verifiedAt: number;
  /** performance.now() when seen gone; null while alive. */
  exitedAt: number | null;
}

const log = createLogger('process');

/**
 * pid → process facts from /proc, cached by (pid, start time) so that a reused pid is a new
 * process. `capture` is meant to be called when the event arrives, so that short-lived processes
 * are read before they vanish; when /proc/<pid> is already gone it still answers, with the
 * kernel's comm and cgroup id and the missing fields listed in `unknown` — it never throws.
 *
 * All reads are synchronous and small (stat, status, cmdline, exe, cgroup: ~5 syscalls
 * triples), done once per process; cached answers do no I/O.
 */
export class ProcessResolver {
  readonly clockTicks: number;
  readonly bootTimeMs: number;
  private readonly procRoot: string;
  private readonly verifyIntervalMs: number;
  private readonly exitedTtlMs: number;
  private readonly maxColdReadsPerSecond: number;
  private readonly cache: LruCache<number, Entry>;
  private readonly reader = new ProcFileReader();
  private readonly commandLines: CommandLineFilter;
  private readonly cmdlineReadBytes: number;
  private lastCutLog = -Infinity;
  private cutsNotLogged = 0;
  private windowStart = 0;
  private windowReads = 0;
  private readonly counters: ProcessResolverStats = {
    hits: 0,
    coldReads: 0,
    verifies: 0,
    pidReuses: 0,
    gone: 0,
    throttled: 0,
    evicted: 0,
    cmdlinesTruncated: 0,
    cmdlinesScrubbed: 0,
    valuesScrubbed: 0,
  };

  constructor(options: ProcessResolverOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.cache = new LruCache(options.capacity ?? 16384);
    this.verifyIntervalMs = options.verifyIntervalMs ?? 2000;
    this.exitedTtlMs = options.exitedTtlMs ?? 30_000;
    this.maxColdReadsPerSecond = options.maxColdReadsPerSecond ?? 2000;
    this.commandLines = options.commandLines ?? new CommandLineFilter();
    this.cmdlineReadBytes = options.cmdlineReadBytes ?? 65536;
    this.clockTicks = options.clockTicks ?? readClockTicks();
    this.bootTimeMs =
      options.bootTimeMs ?? (parseBootTime(readFileSync(`${this.procRoot}/stat`, 'utf8')) ?? 0) * 1000;
  }

  get stats(): Readonly<ProcessResolverStats> {
    return this.counters;
  }

  get size(): number {
    return this.cache.size;
  }

  /** ms since the epoch for a start time in clock ticks after boot. */
  ticksToEpochMs(ticks: number): number {
    return this.bootTimeMs + Math.round((ticks * 1000) / this.clockTicks);
  }

  /**
   * Clock ticks for a kernel `task->group_leader->start_boottime` in ns, the way procfs converts
   * it (`nsec_to_clock_t`), so that an event carrying it matches /proc/<pid>/stat field 22.
   */
  bootNsToTicks(ns: number | bigint): number {
    return Number(BigInt(ns) / BigInt(Math.round(1e9 / this.clockTicks)));
  }

  /**
   * The process behind an event, read from /proc at most once per (pid, start time).
   * @param pid - the event's tgid.
   * @param comm - the kernel's comm at event time (the calling thread's).
   * @param cgroupId - the kernel's cgroup v2 id at event time.
   * @param startBootNs - the group leader's `start_boottime` when the event carries it: then a
   *   cached process is recognised without any read, and a reused pid without a timer.
   */
  capture(pid: number, comm: string, cgroupId: number | null, startBootNs?: number | bigint): ProcessInfo {
    const entry = this.cache.get(pid);
    const now = performance.now();
    if (entry) {
      if (startBootNs !== undefined) {
        const ticks = this.bootNsToTicks(startBootNs);
        if (entry.info.startTicks === ticks) return this.hit(entry);
        if (entry.info.startTicks !== null && ticks < entry.info.startTicks) {
          // A late event of an older process with the same pid: answer from the event alone.
          return this.fromEvent(pid, comm, cgroupId, ticks);
        }
      } else if (now - entry.verifiedAt < this.verifyIntervalMs) {
        return this.hit(entry);
      } else {
        // Also for a process seen gone: its pid may have been given to a new process since.
        this.counters.verifies++;
        const ticks = this.readStartTicks(pid);
        if (ticks === null) {
          entry.exitedAt ??= now;
          entry.verifiedAt = now;
          return this.hit(entry);
        }
        if (ticks === entry.info.startTicks) {
          entry.verifiedAt = now;
          return this.hit(entry);
        }
      }
      this.counters.pidReuses++;
    }
    if (!this.takeColdRead(now)) {
      this.counters.throttled++;
      const ticks = startBootNs === undefined ? null : this.bootNsToTicks(startBootNs);
      return this.fromEvent(pid, comm, cgroupId, ticks);
    }
    const info = this.read(pid, comm, cgroupId);
    if (startBootNs !== undefined && info.exited) {
      const ticks = this.bootNsToTicks(startBootNs);
      info.startTicks = ticks;
      info.startTime = this.ticksToEpochMs(ticks);
      info.unknown = info.unknown.filter((f) => f !== 'startTime');
    }
    this.cache.set(pid, { info, verifiedAt: now, exitedAt: info.exited ? now : null });
    return info;
  }

  /** The cached process for `pid`, without any read; undefined when not cached. */
  peek(pid: number): ProcessInfo | undefined {
    return this.cache.peek(pid)?.info;
  }

  /** Marks `pid` as exited (from a process-exit event); it stays cached for `exitedTtlMs`. */
  markExited(pid: number): void {
    const entry = this.cache.peek(pid);
    if (entry && entry.exitedAt === null) entry.exitedAt = performance.now();
  }

  /**
   * Marks cached processes whose /proc entry is gone as exited (asynchronously, off the hot path)
   * and evicts those gone for longer than `exitedTtlMs`. Returns how many were evicted.
   * Run it on a timer (`setInterval(() => void resolver.sweep(), 5000).unref()`).
   */
  async sweep(): Promise<number> {
    const now = performance.now();
    const checks: Promise<void>[] = [];
    for (const [pid, entry] of this.cache.entries()) {
      if (entry.exitedAt !== null) continue;
      checks.push(
        access(`${this.procRoot}/${pid}/stat`).then(
          () => undefined,
          () => {
            entry.exitedAt = now;
          },
        ),
      );
    }
    await Promise.all(checks);
    const after = performance.now();
    let evicted = 0;
    for (const [pid, entry] of [...this.cache.entries()]) {
      if (entry.exitedAt !== null && after - entry.exitedAt >= this.exitedTtlMs) {
        this.cache.delete(pid);
        evicted++;
      }
    }
    this.counters.evicted += evicted;
    return evicted;
  }

  private hit(entry: Entry): ProcessInfo {
    this.counters.hits++;
    return entry.info;
  }

  private takeColdRead(now: number): boolean {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowReads = 0;
    }
    if (this.windowReads >= this.maxColdReadsPerSecond) return false;
    this.windowReads++;
    return true;
  }

  private readStartTicks(pid: number): number | null {
    try {
      return parseProcStat(this.reader.read(`${this.procRoot}/${pid}/stat`))?.startTicks ?? null;
    } catch {
      return null;
    }
  }

  private fromEvent(pid: number, comm: string, cgroupId: number | null, ticks: number | null): ProcessInfo {
    const unknown: ProcessField[] = ['exe', 'cmdline', 'uid', 'ppid', 'cgroupPath'];
    if (ticks === null) unknown.push('startTime');
    return {
      pid,
      comm,
      exe: null,
      cmdline: null,
      cmdlineTruncated: false,
      uid: null,
      ppid: null,
      startTime: ticks === null ? null : this.ticksToEpochMs(ticks),
      startTicks: ticks,
      cgroupId,
      cgroupPath: null,
      unknown,
      exited: true,
      capturedAt: Date.now(),
    };
  }

  /**
   * The command line as it may leave the collector: scrubbed, then bounded. A cut is logged (the
   * first at once, then at most one line a minute with the count), never its text.
   */
  private filterCommandLine(
    pid: number,
    comm: string,
    read: { text: string; complete: boolean },
    fullBytes: number | null,
  ): { args: string[]; truncated: boolean } {
    const args = parseCmdline(read.text, read.complete);
    const out = this.commandLines.apply(args, read.complete);
    if (out.scrubbed > 0) {
      this.counters.cmdlinesScrubbed++;
      this.counters.valuesScrubbed += out.scrubbed;
    }
    if (out.truncated) {
      this.counters.cmdlinesTruncated++;
      const now = performance.now();
      if (now - this.lastCutLog < 60_000) {
        this.cutsNotLogged++;
      } else {
        const size =
          fullBytes ?? (read.complete ? utf8Length(read.text) : `more than ${this.cmdlineReadBytes}`);
        const kept = out.args.reduce((n, a) => n + utf8Length(a) + 1, 0);
        const more = this.cutsNotLogged > 0 ? ` (${this.cutsNotLogged} more cut since the last note)` : '';
        log.info(
          `command line of pid ${pid} (${comm}) cut: ${size} bytes, ${read.complete ? args.length : 'more than ' + args.length} arguments; kept ${kept} bytes in ${out.args.length} arguments (bounds: ${FIELD_BOUNDS.cmdlineArgs} arguments, ${FIELD_BOUNDS.cmdlineArgBytes} bytes each, ${FIELD_BOUNDS.cmdlineBytes} in all)${more}`,
        );
        this.lastCutLog = now;
        this.cutsNotLogged = 0;
      }
    }
    return out;
  }

  /** One cold read of /proc/<pid>: stat first (identity), then the rest, each allowed to fail. */
  private read(pid: number, comm: string, cgroupId: number | null): ProcessInfo {
    this.counters.coldReads++;
    const dir = `${this.procRoot}/${pid}`;
    let stat;
    try {
      stat = parseProcStat(this.reader.read(`${dir}/stat`));
    } catch {
      stat = null;
    }
    if (stat === null) {
      this.counters.gone++;
      return this.fromEvent(pid, comm, cgroupId, null);
    }
    const unknown: ProcessField[] = [];
    const attempt = <T>(field: ProcessField, fn: () => T): T | null => {
      try {
        return fn();
      } catch {
        unknown.push(field);
        return null;
      }
    };
    const uid = attempt('uid', () => parseStatusUid(this.reader.read(`${dir}/status`)));
    if (uid === null && !unknown.includes('uid')) unknown.push('uid');
    const argv = attempt('cmdline', () => this.reader.readPrefix(`${dir}/cmdline`, this.cmdlineReadBytes));
    const filtered = argv && this.filterCommandLine(pid, stat.comm, argv, stat.cmdlineBytes);
    let cmdline = filtered?.args ?? null;
    let exe = attempt('exe', () => readlinkSync(`${dir}/exe`));
    if (exe !== null && utf8Length(exe) > FIELD_BOUNDS.exeBytes) {
      exe = null; // longer than the kernel's PATH_MAX allows: not a path
      unknown.push('exe');
    }
    const cgroupPath = attempt('cgroupPath', () =>
      bestCgroupPath(parseProcCgroup(this.reader.read(`${dir}/cgroup`))),
    );
    const zombie = stat.state === 'Z';
    if (zombie && cmdline !== null && cmdline.length === 0) {
      cmdline = null;
      unknown.push('cmdline');
    }
    return {
      pid,
      comm: stat.comm,
      exe,
      cmdline,
      cmdlineTruncated: cmdline !== null && (filtered?.truncated ?? false),
      uid,
      ppid: stat.ppid,
      startTime: this.ticksToEpochMs(stat.startTicks),
      startTicks: stat.startTicks,
      cgroupId,
      cgroupPath,
      unknown,
      exited: zombie,
      capturedAt: Date.now(),
    };
  }
}

/**
 * Pure parsers for the /proc files the enrichment reads, and a small synchronous reader that
 * reuses one buffer (procfs files report size 0, so `readFileSync` would stat and grow anyway).
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { utf8Boundary } from '../../contract/field-bounds';

/** The fields of /proc/<pid>/stat that the enrichment uses. */
export interface ProcStat {
  /** Main thread's comm (at most 15 bytes), without the parentheses. */
  comm: string;
  /** One-letter state: R, S, D, Z (zombie), … */
  state: string;
  ppid: number;
  /** Field 22: start time after boot in clock ticks (USER_HZ), the pid-reuse-safe identity. */
  startTicks: number;
  /** Bytes of the command line (fields 49 − 48, arg_end − arg_start); null when not shown to the reader. */
  cmdlineBytes: number | null;
}

/**
 * Parses /proc/<pid>/stat. comm may contain spaces and parentheses, so fields are counted after
 * the last `)`. Returns null when the text is not a stat line.
 */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field N is rest[N - 3].
  if (rest.length < 20) return null;
  const ppid = Number(rest[1]);
  const startTicks = Number(rest[19]);
  if (!Number.isFinite(ppid) || !Number.isFinite(startTicks)) return null;
  const argBytes = Number(rest[46]) - Number(rest[45]);
  const cmdlineBytes = Number.isSafeInteger(argBytes) && argBytes > 0 ? argBytes : null;
  return { comm: text.slice(open + 1, close), state: rest[0] ?? '?', ppid, startTicks, cmdlineBytes };
}

/** Real uid from /proc/<pid>/status (`Uid:` real, effective, saved, fs); null when absent. */
export function parseStatusUid(text: string): number | null {
  const m = /^Uid:\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * argv from /proc/<pid>/cmdline (NUL separated, trailing NUL). Empty for kernel threads and
 * zombies. `complete` false: the text is a prefix, its last argument (even empty) is partial.
 */
export function parseCmdline(text: string, complete = true): string[] {
  if (text.length === 0) return [];
  const args = text.split('\0');
  if (complete && args[args.length - 1] === '') args.pop();
  return args;
}

/** `btime` (boot time, seconds since the epoch) from /proc/stat. */
export function parseBootTime(procStat: string): number | null {
  const m = /^btime\s+(\d+)/m.exec(procStat);
  return m ? Number(m[1]) : null;
}

/** AT_CLKTCK in the ELF auxiliary vector: what glibc's sysconf(_SC_CLK_TCK) returns. */
const AT_CLKTCK = 17n;

/**
 * Clock ticks per second (USER_HZ) as the kernel told this process in its auxiliary vector
 * (/proc/self/auxv, pairs of native words) — the value `getconf CLK_TCK` prints, without
 * spawning it. USER_HZ is 100 on every mainstream Linux architecture (x86_64, arm64); 100 is
 * the fallback when auxv cannot be read.
 */
export function parseClockTicks(auxv: Buffer): number | null {
  const word = 8; // 64-bit Linux; a 32-bit auxv would not parse to a plausible value below.
  for (let off = 0; off + 2 * word <= auxv.length; off += 2 * word) {
    const type = auxv.readBigUInt64LE(off);
    if (type === 0n) break; // AT_NULL
    if (type === AT_CLKTCK) {
      const value = Number(auxv.readBigUInt64LE(off + word));
      return value > 0 && value <= 10_000 ? value : null;
    }
  }
  return null;
}

export function readClockTicks(auxvPath = '/proc/self/auxv'): number {
  try {
    return parseClockTicks(readFileSync(auxvPath)) ?? 100;
  } catch {
    return 100;
  }
}

/** Reads small pseudo-files synchronously into one growing buffer (one open, 1–2 reads, close). */
export class ProcFileReader {
  private buf = Buffer.allocUnsafe(16 * 1024);

  /** The file as UTF-8 text; throws the fs error (ENOENT when the process is gone). */
  read(path: string): string {
    return this.readPrefix(path, Infinity).text;
  }

  /**
   * At most the first `maxBytes` bytes of the file as UTF-8 text (cut at a character boundary);
   * `complete` is false when the file is longer. Reads `maxBytes + 1` bytes at most, so a huge
   * file (a 2 MiB command line) costs no more than its prefix.
   */
  readPrefix(path: string, maxBytes: number): { text: string; complete: boolean } {
    const fd = openSync(path, 'r');
    try {
      let len = 0;
      const limit = maxBytes + 1;
      while (len < limit) {
        if (len === this.buf.length) {
          const bigger = Buffer.allocUnsafe(Math.min(this.buf.length * 2, Math.max(limit, this.buf.length)));
          this.buf.copy(bigger, 0, 0, len);
          this.buf = bigger;
        }
        const n = readSync(fd, this.buf, len, Math.min(this.buf.length, limit) - len, null);
        if (n === 0) break;
        len += n;
      }
      const complete = len <= maxBytes;
      const end = complete ? len : utf8Boundary(this.buf.subarray(0, len), maxBytes);
      return { text: this.buf.toString('utf8', 0, end), complete };
    } finally {
      closeSync(fd);
    }
  }
}

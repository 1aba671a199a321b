import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined if gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after it follow the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * A pid file written by `stack up`: the pid on the first line and the process's start time on the second,
 * so that a pid reused by an unrelated process after a reboot or a crash is never taken for our server.
 */
export class PidFile {
  constructor(readonly path: string) {}

  write(pid: number): void {
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileSync(this.path, `${pid}\n${processStartTime(pid) ?? ''}\n`);
  }

  /** The pid of our server if it still runs; a stale file is removed. */
  livePid(): number | undefined {
    if (!existsSync(this.path)) return undefined;
    const [pidText, start] = readFileSync(this.path, 'utf8').split('\n');
    const pid = Number(pidText);
    if (Number.isInteger(pid) && pid > 0 && start && processStartTime(pid) === start && !isZombie(pid))
      return pid;
    this.remove();
    return undefined;
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Resident memory of a process in KiB (VmRSS), or undefined if gone. */
export function residentKib(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Test cgroups in the real v2 hierarchy, under one unique top folder per run
 * (`<v2 mount>/nettopo-test-<random>/…`), with child processes placed inside them, and a cleanup
 * that always leaves the hierarchy as it found it (processes killed or moved out, rmdir bottom-up).
 *
 * Needs root and a cgroup2 mount; {@link cgroupTestSkipReason} says why not when not.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findCgroup2Mount } from '../../collector';

/** Why cgroup tests cannot run here, or null when they can. */
export function cgroupTestSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (creates cgroups and moves processes into them)';
  const mount = findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
  if (mount === null) return 'no cgroup2 hierarchy mounted (see /proc/self/mountinfo)';
  return null;
}

export interface TestCgroup {
  /** Path relative to the v2 root, as in /proc/<pid>/cgroup (`/nettopo-test-…/kubepods/…`). */
  path: string;
  /** Absolute directory. */
  dir: string;
  /** cgroup id: the directory's inode, what bpf_get_current_cgroup_id() returns. */
  id: number;
}

export interface SpawnInOptions {
  /**
   * Run as this uid (and gid). The child is then started outside and moved in by the test
   * process, since an unprivileged wrapper could not write cgroup.procs.
   * @defaultValue the test's uid, and the child moves itself in before exec
   */
  uid?: number;
}

export class TestCgroups {
  readonly mountPoint: string;
  /** `/nettopo-test-<random>` relative to the v2 root. */
  readonly topPath: string;
  private readonly created: TestCgroup[] = [];
  private readonly children = new Set<ChildProcess>();

  private constructor(mountPoint: string) {
    this.mountPoint = mountPoint;
    this.topPath = `/nettopo-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  }

  static create(): TestCgroups {
    const reason = cgroupTestSkipReason();
    if (reason) throw new Error(`cannot create test cgroups: ${reason}`);
    const mount = findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8')) as string;
    const cgroups = new TestCgroups(mount);
    cgroups.mkdir('');
    return cgroups;
  }

  /** Creates `<top>/<rel>` and its missing parents; returns the deepest. */
  mkdir(rel: string): TestCgroup {
    const parts = rel.split('/').filter((p) => p.length > 0);
    let path = this.topPath;
    let last: TestCgroup | undefined = this.created.find((c) => c.path === path);
    if (!last) last = this.add(path);
    for (const part of parts) {
      path = `${path}/${part}`;
      last = this.created.find((c) => c.path === path) ?? this.add(path);
    }
    return last;
  }

  private add(path: string): TestCgroup {
    const dir = join(this.mountPoint, path);
    mkdirSync(dir);
    const cgroup = { path, dir, id: statSync(dir).ino };
    this.created.push(cgroup);
    return cgroup;
  }

  /**
   * Starts `command args…` inside `cgroup` and resolves once it runs there (after exec, so its
   * comm and exe are the command's).
   */
  async spawnIn(
    cgroup: TestCgroup,
    command: string,
    args: string[],
    options: SpawnInOptions = {},
  ): Promise<ChildProcess> {
    let child: ChildProcess;
    if (options.uid === undefined) {
      // The wrapper moves itself, then execs: the command never runs outside the cgroup.
      child = spawn(
        '/bin/sh',
        ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup.dir, command, ...args],
        {
          stdio: 'ignore',
        },
      );
    } else {
      child = spawn(command, args, { stdio: 'ignore', uid: options.uid, gid: options.uid });
    }
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    const pid = child.pid;
    if (pid === undefined) throw new Error(`spawn ${command} failed`);
    if (options.uid !== undefined) writeFileSync(join(cgroup.dir, 'cgroup.procs'), String(pid));
    const deadline = Date.now() + 5000;
    const comm = command.split('/').pop()?.slice(0, 15);
    const expectedCmdline = [command, ...args].map((a) => `${a}\0`).join('');
    for (;;) {
      let inPlace = false;
      try {
        inPlace =
          readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm &&
          // exec sets comm before the new argv is in place: wait for the whole command line too.
          readFileSync(`/proc/${pid}/cmdline`, 'utf8') === expectedCmdline &&
          readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`0::${cgroup.path}\n`);
      } catch {
        // not yet, or already gone
      }
      if (inPlace) return child;
      if (child.exitCode !== null || child.signalCode !== null) return child;
      if (Date.now() > deadline) throw new Error(`${command} (pid ${pid}) did not start in ${cgroup.path}`);
      await sleep(2);
    }
  }

  /** Kills the children, moves strays to the root cgroup, removes the cgroups deepest first. */
  async cleanup(): Promise<void> {
    await Promise.all(
      [...this.children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    const rootProcs = join(this.mountPoint, 'cgroup.procs');
    const deepestFirst = [...this.created].sort((a, b) => b.path.length - a.path.length);
    const errors: string[] = [];
    for (const cgroup of deepestFirst) {
      if (!existsSync(cgroup.dir)) continue;
      for (let attempt = 0; ; attempt++) {
        try {
          for (const pid of readFileSync(join(cgroup.dir, 'cgroup.procs'), 'utf8')
            .split('\n')
            .filter(Boolean)) {
            try {
              writeFileSync(rootProcs, pid);
            } catch {
              try {
                process.kill(Number(pid), 'SIGKILL');
              } catch {
                // already gone
              }
            }
          }
          rmdirSync(cgroup.dir);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
          if (attempt >= 100) {
            errors.push(`${cgroup.dir}: ${(err as Error).message}`);
            break;
          }
          await sleep(20); // EBUSY while a killed task is still exiting
        }
      }
    }
    this.created.length = 0;
    if (errors.length > 0) throw new Error(`test cgroups left behind: ${errors.join('; ')}`);
  }
}

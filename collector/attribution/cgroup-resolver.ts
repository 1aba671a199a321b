import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CgroupV2NotMountedError } from '../errors';
import { ProcFileReader } from './proc-files';

/** One process's memberships, from /proc/<pid>/cgroup. */
export interface ProcCgroups {
  /** Path in the v2 hierarchy (the `0::` line); null when the line is absent (pure v1 host). */
  unified: string | null;
  /** v1 hierarchies: controller list (`cpu,cpuacct`, `name=systemd`) → path. */
  v1: Map<string, string>;
}

/** Parses /proc/<pid>/cgroup: `hierarchy-id:controllers:path` lines. */
export function parseProcCgroup(text: string): ProcCgroups {
  const result: ProcCgroups = { unified: null, v1: new Map() };
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const hierarchy = line.slice(0, first);
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (hierarchy === '0' && controllers === '') result.unified = path;
    else result.v1.set(controllers, path);
  }
  return result;
}

/** v1 hierarchies in the order their paths are trusted to name the container (systemd's first). */
const V1_PREFERENCE = ['name=systemd', 'pids', 'memory', 'cpu,cpuacct', 'cpu', 'devices', 'freezer', 'blkio'];

/**
 * The path that best names the process's container: the v2 path unless it is the root (on hybrid
 * hosts runtimes may only place processes in v1 hierarchies), else the first non-root v1 path.
 */
export function bestCgroupPath(cgroups: ProcCgroups): string | null {
  if (cgroups.unified !== null && cgroups.unified !== '/') return cgroups.unified;
  for (const key of V1_PREFERENCE) {
    const path = cgroups.v1.get(key);
    if (path !== undefined && path !== '/') return path;
  }
  for (const path of cgroups.v1.values()) if (path !== '/') return path;
  return cgroups.unified ?? (cgroups.v1.size > 0 ? '/' : null);
}

/** Undoes mountinfo's octal escapes (`\040` for a space, …). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * The mount point of the cgroup v2 hierarchy in a mountinfo text (/proc/self/mountinfo):
 * `/sys/fs/cgroup` on unified hosts, `/sys/fs/cgroup/unified` on hybrid ones; null when absent.
 * Prefers a mount of the hierarchy's root (`/` in field 4) over a bind mount of a subtree.
 */
export function findCgroup2Mount(mountinfo: string): string | null {
  let fallback: string | null = null;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fsType = line.slice(sep + 3).split(' ')[0];
    if (fsType !== 'cgroup2') continue;
    const fields = line.slice(0, sep).split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if (mountPoint === undefined) continue;
    if (root === '/') return unescapeMountPath(mountPoint);
    fallback ??= unescapeMountPath(mountPoint);
  }
  return fallback;
}

export interface CgroupResolverOptions {
  /**
   * Where the cgroup v2 hierarchy is mounted.
   * @defaultValue found in `mountinfoPath` (the first `cgroup2` mount)
   */
  mountPoint?: string;
  /**
   * mountinfo used to find the v2 mount.
   * @defaultValue `'/proc/self/mountinfo'`
   */
  mountinfoPath?: string;
  /**
   * procfs of the host's pid namespace (`/host/proc` when the collector runs in a container).
   * @defaultValue `'/proc'`
   */
  procRoot?: string;
  /**
   * Least time between two full walks of the hierarchy triggered by unknown ids. Ids created in
   * between resolve through the pid hint of {@link CgroupResolver.pathOf} or at the next walk.
   * @defaultValue `1000`
   */
  minRescanIntervalMs?: number;
}

/** Counters for the heartbeat and for tests. */
export interface CgroupResolverStats {
  walks: number;
  lastWalkMs: number;
  cgroups: number;
  hits: number;
  misses: number;
  pidHintHits: number;
}

/**
 * Resolves cgroup v2 ids (what `bpf_get_current_cgroup_id()` returns: the inode number of the
 * cgroup's directory in the v2 hierarchy) to cgroup paths relative to the hierarchy's root, in
 * the format of the `0::` line of /proc/<pid>/cgroup (`/kubepods.slice/…`, root = `/`).
 *
 * A full walk of the hierarchy builds the id → path map; an unknown id first tries the pid hint
 * (one read of /proc/<pid>/cgroup and one stat) and then a walk, at most one per
 * `minRescanIntervalMs`. Each walk rebuilds the map, so removed cgroups do not accumulate.
 *
 * Paths are relative to the collector's cgroup namespace: run it in the host's (`--cgroupns=host`).
 */
export class CgroupResolver {
  readonly mountPoint: string;
  private readonly procRoot: string;
  private readonly minRescanIntervalMs: number;
  private byId = new Map<number, string>();
  private lastWalkAt = -Infinity;
  private readonly reader = new ProcFileReader();
  private readonly counters: CgroupResolverStats = {
    walks: 0,
    lastWalkMs: 0,
    cgroups: 0,
    hits: 0,
    misses: 0,
    pidHintHits: 0,
  };

  /** @throws CgroupV2NotMountedError when no v2 hierarchy is mounted and none was given. */
  constructor(options: CgroupResolverOptions = {}) {
    const mountinfoPath = options.mountinfoPath ?? '/proc/self/mountinfo';
    const mountPoint = options.mountPoint ?? findCgroup2Mount(readFileSync(mountinfoPath, 'utf8'));
    if (mountPoint === null) {
      throw new CgroupV2NotMountedError(
        `no cgroup2 mount in ${mountinfoPath}; cgroup ids cannot be resolved`,
      );
    }
    this.mountPoint = mountPoint;
    this.procRoot = options.procRoot ?? '/proc';
    this.minRescanIntervalMs = options.minRescanIntervalMs ?? 1000;
  }

  get stats(): Readonly<CgroupResolverStats> {
    return this.counters;
  }

  /**
   * The path of cgroup `id`, or null when it is unknown even after a pid hint and a (rate-limited)
   * walk — typically a cgroup already removed.
   * @param pidHint - a process that was in that cgroup at event time; makes new cgroups cheap.
   */
  pathOf(id: number | bigint, pidHint?: number): string | null {
    const key = Number(id);
    const known = this.byId.get(key);
    if (known !== undefined) {
      this.counters.hits++;
      return known;
    }
    this.counters.misses++;
    if (pidHint !== undefined && pidHint > 0) {
      const path = this.unifiedPathOfPid(pidHint);
      if (path !== null && this.idOf(path) === key) {
        this.byId.set(key, path);
        this.counters.pidHintHits++;
        return path;
      }
    }
    if (performance.now() - this.lastWalkAt < this.minRescanIntervalMs) return null;
    this.rescan();
    return this.byId.get(key) ?? null;
  }

  /** The id (directory inode) of a cgroup path, or null when it does not exist. */
  idOf(path: string): number | null {
    try {
      return statSync(join(this.mountPoint, path)).ino;
    } catch {
      return null;
    }
  }

  /** Walks the whole v2 hierarchy and replaces the id → path map; returns the number of cgroups. */
  rescan(): number {
    const started = performance.now();
    const next = new Map<number, string>();
    const walk = (rel: string): void => {
      let entries;
      try {
        entries = readdirSync(join(this.mountPoint, rel), { withFileTypes: true });
      } catch {
        return; // removed while walking
      }
      for (const entry of entries) {
        if (!entry.isDirectory()) continue;
        const child = rel === '/' ? `/${entry.name}` : `${rel}/${entry.name}`;
        try {
          next.set(statSync(join(this.mountPoint, child)).ino, child);
        } catch {
          continue;
        }
        walk(child);
      }
    };
    try {
      next.set(statSync(this.mountPoint).ino, '/');
    } catch {
      // mount vanished: keep an empty map
    }
    walk('/');
    this.byId = next;
    this.lastWalkAt = performance.now();
    this.counters.walks++;
    this.counters.lastWalkMs = this.lastWalkAt - started;
    this.counters.cgroups = next.size;
    return next.size;
  }

  /** The memberships of `pid` from /proc/<pid>/cgroup; null when the process is gone. */
  cgroupsOfPid(pid: number): ProcCgroups | null {
    try {
      return parseProcCgroup(this.reader.read(`${this.procRoot}/${pid}/cgroup`));
    } catch {
      return null;
    }
  }

  /** The v2 path of `pid` (the `0::` line); null when the process is gone or the line absent. */
  unifiedPathOfPid(pid: number): string | null {
    return this.cgroupsOfPid(pid)?.unified ?? null;
  }

  /** The path that best names `pid`'s container (see {@link bestCgroupPath}); null when gone. */
  pathOfPid(pid: number): string | null {
    const cgroups = this.cgroupsOfPid(pid);
    return cgroups === null ? null : bestCgroupPath(cgroups);
  }
}

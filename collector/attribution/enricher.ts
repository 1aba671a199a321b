import { createLogger } from '../../common/log';
import { CgroupResolver } from './cgroup-resolver';
import { type ContainerInfo, parseCgroupPath } from './container-info';
import { CgroupV2NotMountedError } from '../errors';
import type { FlowRecord } from '../../contract/flow-record';
import { type HostInfo, readHostInfo } from './host-info';
import { LruCache } from '../../common/lru-cache';
import type { ProcessInfo } from './process-info';
import { ProcessResolver } from './process-resolver';

/** The FlowRecord fields the enrichment fills. */
export type FlowAttribution = Pick<
  FlowRecord,
  'hostId' | 'pid' | 'processStartTime' | 'comm' | 'cgroupId' | 'containerId' | 'containerRuntime' | 'podUid'
>;

/** Everything known about the owner of one event. */
export interface Attribution extends ContainerInfo {
  hostId: string;
  pid: number;
  /** ms since the epoch; 0 when unknown (FlowRecord's convention). */
  processStartTime: number;
  /** The kernel's comm at event time (the calling thread's name). */
  comm: string;
  cgroupId: number;
  /** Path the container fields were parsed from; null when neither the id nor /proc gave one. */
  cgroupPath: string | null;
  process: ProcessInfo;
}

export interface EnricherOptions {
  /** @defaultValue `readHostInfo()` */
  host?: HostInfo;
  /** @defaultValue `new ProcessResolver()` */
  processes?: ProcessResolver;
  /**
   * cgroup id resolver; null on hosts without a cgroup v2 mount (then the process's
   * /proc/<pid>/cgroup path is used).
   * @defaultValue `new CgroupResolver()`, or null when no v2 hierarchy is mounted
   */
  cgroups?: CgroupResolver | null;
  /**
   * cgroup ids whose container info is kept (LRU).
   * @defaultValue `8192`
   */
  cgroupCacheSize?: number;
  /**
   * How long an unresolvable cgroup id is not retried (it was removed, or is outside the walk).
   * @defaultValue `5000`
   */
  negativeTtlMs?: number;
}

interface CgroupEntry {
  path: string;
  info: ContainerInfo;
}

const log = createLogger('enrich');

/**
 * Attribution of an event (tgid, comm, cgroup id) to host, process, container and pod. The hot
 * path is two Map lookups and one object; /proc is read once per new process and the cgroup
 * hierarchy walked at most once per `minRescanIntervalMs` of the {@link CgroupResolver}.
 *
 * The container comes from the event's cgroup id (where the thread was when it acted), not from
 * the pid's current cgroup; when the id's path is the v2 root (hybrid hosts whose runtimes only
 * use v1) or unknown, the process's path read from /proc at capture is used instead.
 */
export class Enricher {
  readonly host: HostInfo;
  readonly processes: ProcessResolver;
  readonly cgroups: CgroupResolver | null;
  private readonly byCgroup: LruCache<number, CgroupEntry>;
  private readonly unresolved: LruCache<number, number>;
  private readonly negativeTtlMs: number;
  private readonly byPath = new Map<string, ContainerInfo>();

  constructor(options: EnricherOptions = {}) {
    this.host = options.host ?? readHostInfo();
    this.processes = options.processes ?? new ProcessResolver();
    this.cgroups = options.cgroups === undefined ? defaultCgroupResolver() : options.cgroups;
    this.byCgroup = new LruCache(options.cgroupCacheSize ?? 8192);
    this.unresolved = new LruCache(options.cgroupCacheSize ?? 8192);
    this.negativeTtlMs = options.negativeTtlMs ?? 5000;
  }

  /**
   * Attributes one event. Never throws for a vanished process: the answer then carries the
   * kernel's comm and cgroup id, with `process.unknown` listing what could not be read.
   * @param startBootNs - the group leader's `start_boottime`, when the event carries it.
   */
  attribute(tgid: number, comm: string, cgroupId: number, startBootNs?: number | bigint): Attribution {
    const process = this.processes.capture(tgid, comm, cgroupId, startBootNs);
    let cgroup = this.containerOfCgroup(cgroupId, tgid);
    if (
      (cgroup === null || cgroup.path === '/') &&
      process.cgroupPath !== null &&
      process.cgroupPath !== '/'
    ) {
      cgroup = { path: process.cgroupPath, info: this.containerOfPath(process.cgroupPath) };
    }
    const info = cgroup?.info;
    return {
      hostId: this.host.hostId,
      pid: tgid,
      processStartTime: process.startTime ?? 0,
      comm,
      cgroupId,
      cgroupPath: cgroup?.path ?? null,
      containerId: info?.containerId ?? null,
      runtime: info?.runtime ?? null,
      podUid: info?.podUid ?? null,
      qosClass: info?.qosClass ?? null,
      unit: info?.unit ?? null,
      process,
    };
  }

  /** The FlowRecord fields of an attribution. */
  static flowFields(a: Attribution): FlowAttribution {
    return {
      hostId: a.hostId,
      pid: a.pid,
      processStartTime: a.processStartTime,
      comm: a.comm,
      cgroupId: a.cgroupId,
      containerId: a.containerId,
      containerRuntime: a.runtime,
      podUid: a.podUid,
    };
  }

  private containerOfCgroup(cgroupId: number, pidHint: number): CgroupEntry | null {
    const cached = this.byCgroup.get(cgroupId);
    if (cached) return cached;
    if (this.cgroups === null || cgroupId <= 0) return null;
    const failedAt = this.unresolved.peek(cgroupId);
    const now = performance.now();
    if (failedAt !== undefined && now - failedAt < this.negativeTtlMs) return null;
    const path = this.cgroups.pathOf(cgroupId, pidHint);
    if (path === null) {
      this.unresolved.set(cgroupId, now);
      return null;
    }
    this.unresolved.delete(cgroupId);
    const entry = { path, info: this.containerOfPath(path) };
    this.byCgroup.set(cgroupId, entry);
    return entry;
  }

  private containerOfPath(path: string): ContainerInfo {
    let info = this.byPath.get(path);
    if (!info) {
      info = parseCgroupPath(path);
      if (this.byPath.size >= 8192) this.byPath.clear();
      this.byPath.set(path, info);
    }
    return info;
  }
}

function defaultCgroupResolver(): CgroupResolver | null {
  try {
    return new CgroupResolver();
  } catch (err) {
    if (err instanceof CgroupV2NotMountedError) {
      log.warn(`${err.message}; containers are attributed from /proc/<pid>/cgroup only`);
      return null;
    }
    throw err;
  }
}

import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { createLogger } from '../../common/log';
import { packageVersion } from '../../common/paths';
import {
  containerIdToAvro,
  flowToAvro,
  ipToBytes,
  machineIdToBytes,
  podUidToAvro,
  uuidToBytes,
  type CollectorKind,
  type ContractRecords,
  type HeartbeatV1,
  type HostV2,
  type ListenerV1,
  type ProcessV2,
} from '../../contract';
import { Enricher } from '../attribution/enricher';
import type { FlowCollector, ListenerInfo } from '../flows/flow-collector';
import type { FlowRecord } from '../../contract/flow-record';
import type { NativeCapability, NativeStats } from '../kernel/native';
import { readNetnsAddresses, type NetnsAddressList } from '../attribution/netns-addresses';
import { cutUtf8, FIELD_BOUNDS } from '../../contract/field-bounds';
import { parseProcStat } from '../attribution/proc-files';
import type { RecordSink } from '../../contract/record-sink';

/** Options of {@link CollectorPublisher}. */
export interface CollectorPublisherOptions {
  /** The collector whose records are published; its sequence numbers every record. */
  collector: FlowCollector;
  /** The enricher given to the collector (process facts for process records). */
  enricher: Enricher;
  sink: RecordSink;
  /**
   * Heartbeat period, ms; exited processes are detected at the same pace.
   * @defaultValue `10000`
   */
  heartbeatIntervalMs?: number;
  /**
   * Host record period (addresses of every network namespace), ms.
   * @defaultValue `60000`
   */
  hostIntervalMs?: number;
  /**
   * Period of the reconciliation with the collector's listener table, ms (listen events are
   * published as they arrive; this catches anything missed).
   * @defaultValue `5000`
   */
  listenerIntervalMs?: number;
  /**
   * Whether the host record lists every namespace's addresses (one `nsenter … ip` per namespace).
   * @defaultValue `true`
   */
  namespaces?: boolean;
  /**
   * Only these namespaces (inode numbers) are listed in the host record (the collector's
   * `FlowFilter.netns` scope).
   * @defaultValue every namespace
   */
  netns?: number[];
  /** @defaultValue `'/proc'` */
  procRoot?: string;
}

interface TrackedProcess {
  record: ProcessV2;
}

const log = createLogger('publish');

const listenerKey = (l: ListenerInfo): string => `${l.netns}/${l.addr}/${l.port}`;

/** The heartbeat's drop counters: what a run lost so far, by cause (the metrics show the same). */
export function heartbeatDrops(
  stats: NativeStats | undefined,
  kafkaDropped: number,
): { ringBufferFull: number; mapFull: number; kafkaBufferFull: number } {
  return {
    ringBufferFull: stats?.ringbufFull ?? 0,
    mapFull: (stats?.flowUpdateFailed ?? 0) + (stats?.listenersFull ?? 0),
    kafkaBufferFull: kafkaDropped,
  };
}

/**
 * The namespaces of a host record within FIELD_BOUNDS (`hostNamespaces`, `hostAddresses`, and
 * `ifnameBytes` per interface name); `truncated` when anything was left out.
 */
export function boundedNamespaces(found: readonly NetnsAddressList[]): {
  namespaces: HostV2['namespaces'];
  truncated: boolean;
} {
  let truncated = found.length > FIELD_BOUNDS.hostNamespaces;
  let room = FIELD_BOUNDS.hostAddresses;
  const namespaces = found.slice(0, FIELD_BOUNDS.hostNamespaces).map((n) => {
    const addresses = n.addresses.flatMap((a) => {
      try {
        const ifname = a.ifname === null ? null : cutUtf8(a.ifname, FIELD_BOUNDS.ifnameBytes).text;
        return [{ address: ipToBytes(a.address), prefixLength: a.prefixLength, ifname }];
      } catch {
        return []; // zone ids, anything not a plain address
      }
    });
    if (addresses.length > room) {
      truncated = true;
      addresses.length = room;
    }
    room -= addresses.length;
    return { netns: n.netns, addresses };
  });
  return { namespaces, truncated };
}

/**
 * Turns a running {@link FlowCollector} into the contract's records and hands them to a
 * {@link RecordSink}: flow records as the collector reports them; a process record when a process
 * is first seen (owning a flow or a listener) and one more, `exited`, when it is gone; a listener
 * record when a socket starts listening and a `closed` one when it stops; a host record at start
 * and every `hostIntervalMs` with each network namespace's addresses; a heartbeat every
 * `heartbeatIntervalMs` with capabilities, drop counters, records/s and flows tracked.
 * Every record carries the host id, the run id and the run's one sequence.
 */
export class CollectorPublisher {
  private readonly collector: FlowCollector;
  private readonly enricher: Enricher;
  private readonly sink: RecordSink;
  private readonly heartbeatIntervalMs: number;
  private readonly hostIntervalMs: number;
  private readonly listenerIntervalMs: number;
  private readonly withNamespaces: boolean;
  private readonly netnsScope: number[] | undefined;
  private readonly procRoot: string;
  private readonly version = packageVersion();
  private readonly processes = new Map<string, TrackedProcess>();
  private readonly listeners = new Map<string, ListenerV1>();
  private readonly timers: NodeJS.Timeout[] = [];
  private hostBytes!: Buffer;
  private runBytes!: Buffer;
  private startedAt = 0;
  private sent = 0;
  private sentAtLastHeartbeat = 0;
  private lastHeartbeatAt = 0;
  private hostInFlight: Promise<void> | undefined;
  private started = false;
  private lastStats: NativeStats | undefined;
  private lastCapabilities: NativeCapability[] = [];
  private namespacesCutLogged = false;

  constructor(options: CollectorPublisherOptions) {
    this.collector = options.collector;
    this.enricher = options.enricher;
    this.sink = options.sink;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 10000;
    this.hostIntervalMs = options.hostIntervalMs ?? 60000;
    this.listenerIntervalMs = options.listenerIntervalMs ?? 5000;
    this.withNamespaces = options.namespaces ?? true;
    this.netnsScope = options.netns;
    this.procRoot = options.procRoot ?? '/proc';
  }

  /** Records handed to the sink so far. */
  get recordsSent(): number {
    return this.sent;
  }

  /**
   * Starts publishing: call after `collector.start(...)` (whose callback calls {@link onFlows}).
   * Sends the listeners known now, a first heartbeat, and the host record.
   */
  start(): void {
    this.hostBytes = machineIdToBytes(this.collector.hostId);
    this.runBytes = uuidToBytes(this.collector.runId);
    this.startedAt = Date.now();
    this.lastHeartbeatAt = this.startedAt;
    this.collector.watchListeners((l, listening) => {
      if (this.started) this.listenerChanged(l, listening);
    });
    this.started = true;
    this.checkListeners();
    this.heartbeat();
    this.publishHost();
    this.timers.push(
      setInterval(() => this.checkListeners(), this.listenerIntervalMs),
      setInterval(() => {
        this.checkExits();
        this.heartbeat();
      }, this.heartbeatIntervalMs),
      setInterval(() => this.publishHost(), this.hostIntervalMs),
    );
  }

  /** Publishes a batch of flow records (and the processes seen for the first time in it). */
  onFlows(records: FlowRecord[]): void {
    for (const r of records) {
      if (r.pid !== 0) this.seeProcess(r.pid, r.processStartTime, r);
      this.emit('flow', flowToAvro(r));
    }
  }

  /**
   * Stops the timers and sends the last records: listeners and exits seen since the last check,
   * and a final heartbeat (whose drop counters then cover the whole run).
   */
  async stop(): Promise<void> {
    this.timers.splice(0).forEach((t) => clearInterval(t));
    this.started = false;
    await this.hostInFlight;
    this.checkExits();
    this.heartbeat();
  }

  private emit<K extends CollectorKind>(kind: K, record: ContractRecords[K]): void {
    this.sent++;
    this.sink.send(kind, record);
  }

  private base(): { hostId: Buffer; runId: Buffer; seq: number } {
    return { hostId: this.hostBytes, runId: this.runBytes, seq: this.collector.nextSeq() };
  }

  private seeProcess(
    pid: number,
    startTime: number,
    owner?: Pick<FlowRecord, 'comm' | 'cgroupId' | 'containerId' | 'containerRuntime' | 'podUid'>,
  ): void {
    const key = `${pid}/${startTime}`;
    if (this.processes.has(key)) return;
    const info = this.enricher.processes.peek(pid);
    const same = info && (info.startTime ?? 0) === startTime ? info : undefined;
    const record: ProcessV2 = {
      ...this.base(),
      pid,
      startTime,
      comm: same?.comm ?? owner?.comm ?? '',
      exe: same?.exe ?? null,
      cmdline: same?.cmdline ?? [],
      cmdlineTruncated: same?.cmdlineTruncated ?? false,
      uid: same?.uid ?? null,
      ppid: same?.ppid ?? null,
      cgroupId: owner?.cgroupId || same?.cgroupId || null,
      containerId: containerIdToAvro(owner?.containerId ?? null),
      containerRuntime: owner?.containerRuntime ?? null,
      podUid: podUidToAvro(owner?.podUid ?? null),
      exited: false,
      observedAt: Date.now(),
    };
    this.processes.set(key, { record });
    this.emit('process', record);
  }

  /** Sends an `exited` record for every tracked process whose /proc entry is gone or reused. */
  private checkExits(): void {
    for (const [key, tracked] of this.processes) {
      const { pid, startTime } = tracked.record;
      if (this.alive(pid, startTime)) continue;
      this.processes.delete(key);
      this.emit('process', { ...tracked.record, ...this.base(), exited: true, observedAt: Date.now() });
    }
  }

  private alive(pid: number, startTime: number): boolean {
    let text: string;
    try {
      text = readFileSync(`${this.procRoot}/${pid}/stat`, 'utf8');
    } catch {
      return false;
    }
    const stat = parseProcStat(text);
    if (!stat || stat.state === 'Z') return false;
    // Start time unknown at first sight: the pid existing is all that can be checked.
    return startTime === 0 || this.enricher.processes.ticksToEpochMs(stat.startTicks) === startTime;
  }

  /** Reconciles with the collector's listener table (the events do the work; this is the safety net). */
  private checkListeners(): void {
    const current = new Map<string, ListenerInfo>();
    for (const l of this.collector.listeners()) current.set(listenerKey(l), l);
    for (const l of current.values()) this.listenerChanged(l, true);
    for (const [key, record] of this.listeners) {
      if (!current.has(key)) this.closeListener(key, record);
    }
  }

  private listenerChanged(l: ListenerInfo, listening: boolean): void {
    const key = listenerKey(l);
    const known = this.listeners.get(key);
    if (!listening) {
      if (known) this.closeListener(key, known);
      return;
    }
    if (known && known.pid === (l.pid === 0 ? null : l.pid)) return;
    let startTime = 0;
    if (l.pid !== 0) {
      const owner = Enricher.flowFields(
        this.enricher.attribute(l.pid, l.comm, this.enricher.processes.peek(l.pid)?.cgroupId ?? 0),
      );
      startTime = owner.processStartTime;
      this.seeProcess(l.pid, startTime, owner);
    }
    let address: Buffer;
    try {
      address = ipToBytes(l.addr);
    } catch (err) {
      log.debug(`listener ${l.addr}:${l.port} skipped: ${(err as Error).message}`);
      return;
    }
    const record: ListenerV1 = {
      ...this.base(),
      netns: l.netns,
      family: address.length === 4 ? 'ipv4' : 'ipv6',
      address,
      port: l.port,
      pid: l.pid === 0 ? null : l.pid,
      processStartTime: startTime === 0 ? null : startTime,
      state: 'listening',
      observedAt: Date.now(),
    };
    this.listeners.set(key, record);
    this.emit('listener', record);
  }

  private closeListener(key: string, record: ListenerV1): void {
    this.listeners.delete(key);
    this.emit('listener', { ...record, ...this.base(), state: 'closed', observedAt: Date.now() });
  }

  private heartbeat(): void {
    const now = Date.now();
    // After collector.stop() the native side is gone: the final heartbeat reports the last known.
    const stats = this.collector.stats() ?? this.lastStats;
    this.lastStats = stats;
    const capabilities = this.collector.capabilities();
    if (capabilities.length > 0) this.lastCapabilities = capabilities;
    const seconds = Math.max((now - this.lastHeartbeatAt) / 1000, 0.001);
    const record: HeartbeatV1 = {
      ...this.base(),
      collectorVersion: this.version,
      startedAt: this.startedAt,
      capabilities: this.lastCapabilities.map((c) => ({
        name: c.section,
        attached: c.attached,
        error: c.attached ? null : cutUtf8(c.error ?? 'not attached', FIELD_BOUNDS.capabilityErrorBytes).text,
      })),
      drops: heartbeatDrops(stats, this.sink.dropped),
      recordsPerSecond: (this.sent - this.sentAtLastHeartbeat) / seconds,
      flowsTracked: stats?.flowsPresent ?? 0,
      observedAt: now,
    };
    this.sentAtLastHeartbeat = this.sent;
    this.lastHeartbeatAt = now;
    this.emit('heartbeat', record);
  }

  private publishHost(): void {
    if (this.hostInFlight) return;
    this.hostInFlight = (async () => {
      const found = this.withNamespaces
        ? await readNetnsAddresses({
            procRoot: this.procRoot,
            only: this.netnsScope,
            limit: FIELD_BOUNDS.hostNamespaces + 1,
          })
        : [];
      const { namespaces, truncated } = boundedNamespaces(found);
      if (truncated && !this.namespacesCutLogged) {
        this.namespacesCutLogged = true;
        log.warn(
          `host record: more than ${FIELD_BOUNDS.hostNamespaces} network namespaces or ${FIELD_BOUNDS.hostAddresses} addresses; the list is cut (namespacesTruncated)`,
        );
      }
      const record: HostV2 = {
        ...this.base(),
        hostname: cutUtf8(this.enricher.host.hostname, FIELD_BOUNDS.hostnameBytes).text,
        kernel: cutUtf8(release(), FIELD_BOUNDS.kernelBytes).text,
        collectorVersion: this.version,
        namespaces,
        namespacesTruncated: truncated,
        observedAt: Date.now(),
      };
      this.emit('host', record);
    })()
      .catch((err) => log.warn(`host record not sent: ${(err as Error).message}`))
      .finally(() => (this.hostInFlight = undefined));
  }
}

import { randomUUID } from 'node:crypto';
import { createLogger } from '../../common/log';
import { Enricher, type Attribution, type FlowAttribution } from '../attribution/enricher';
import type { FlowRecord, FlowRole } from '../../contract/flow-record';
import {
  loadNative,
  openNativeCollector,
  type NativeCapability,
  type NativeCollector,
  type NativeStats,
} from '../kernel/native';
import { decodeEvents, decodeFlows, type NativeEvent, type NativeFlow } from '../kernel/native-records';

/** Which flows a collector reports; empty lists mean "all". */
export interface FlowFilter {
  /** Owning process ids. */
  pids?: number[];
  /** Local or remote ports. */
  ports?: number[];
  /** Container id prefixes (as `docker ps` shows, 12 characters are enough). */
  containers?: string[];
  /** Flows with one of these local or remote ports are left out (e.g. nettopo's own servers). */
  excludePorts?: number[];
  /**
   * Network namespaces (inode numbers): only their sockets and listeners are reported, as if the
   * collector ran on a host made of these namespaces (one collector per namespace simulates a fleet).
   */
  netns?: number[];
}

/** A listening socket (for the listener table and listener records). */
export interface ListenerInfo {
  netns: number;
  addr: string;
  port: number;
  pid: number;
  comm: string;
}

/** Options of {@link FlowCollector}. */
export interface FlowCollectorOptions {
  /**
   * How often open flows are read from the kernel and reported, ms.
   * @defaultValue 5000
   */
  intervalMs?: number;
  /** @defaultValue no filter */
  filter?: FlowFilter;
  /**
   * Process whose sockets are not traced (the collector's own Kafka connections).
   * @defaultValue the current process
   */
  ignorePid?: number;
  /** @defaultValue a new Enricher */
  enricher?: Enricher;
  /**
   * Open sockets the kernel tracks at once (the `flows` map is preallocated: ~200 B of kernel memory each).
   * @defaultValue 131072
   */
  maxFlows?: number;
}

const log = createLogger('collector');

/**
 * The collector: loads the eBPF programs, snapshots pre-existing sockets, and every interval turns
 * the kernel's per-socket counters into attributed, cumulative {@link FlowRecord}s — one per flow
 * that changed since it was last reported, and one final record when a flow closes or fails.
 *
 * Attribution happens at event time (connect, accept, first byte), so a process that lives only a
 * few milliseconds is still named with its container and pod.
 */
export class FlowCollector {
  readonly runId = randomUUID();
  private readonly intervalMs: number;
  private readonly filter: FlowFilter;
  private readonly ignorePid: number;
  private readonly maxFlows: number | undefined;
  private readonly enricher: Enricher;
  private native: NativeCollector | undefined;
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private bootOffsetMs = 0;
  /** Whether socket destruction is traced (then a flow is final when destroyed, not at TCP_CLOSE). */
  private destroyTracked = false;
  /** Last reported counters per cookie, to report only flows that changed. */
  private readonly reported = new Map<number, string>();
  /** Listening sockets per `netns/port`. */
  private readonly listenerTable = new Map<string, ListenerInfo>();
  private sink: ((records: FlowRecord[]) => void) | undefined;
  private listenerWatch: ((listener: ListenerInfo, listening: boolean) => void) | undefined;

  constructor(options: FlowCollectorOptions = {}) {
    this.intervalMs = options.intervalMs ?? 5000;
    this.filter = options.filter ?? {};
    this.ignorePid = options.ignorePid ?? process.pid;
    this.maxFlows = options.maxFlows;
    this.enricher = options.enricher ?? new Enricher();
  }

  get hostId(): string {
    return this.enricher.host.hostId;
  }

  /**
   * The next record sequence number of this run. Flow records take theirs here too, so one
   * sequence numbers every record of the run, across all topics.
   */
  nextSeq(): number {
    return ++this.seq;
  }

  /** The last sequence number given out (0 before any). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Which eBPF programs are active here; empty before start(). */
  capabilities(): NativeCapability[] {
    return this.native?.capabilities() ?? [];
  }

  stats(): NativeStats | undefined {
    return this.native?.stats();
  }

  /** Listening sockets known now (from the snapshot and live listen events). */
  listeners(): ListenerInfo[] {
    return [...this.listenerTable.values()];
  }

  /**
   * Calls `watch` whenever a socket starts (`listening` true) or stops listening, as the events
   * arrive, so that a listener that lives less than a flush interval is still seen.
   */
  watchListeners(watch: (listener: ListenerInfo, listening: boolean) => void): void {
    this.listenerWatch = watch;
  }

  /**
   * Loads and attaches the programs, then snapshots what existed before (attach first, so no
   * connection falls between the two), and starts reporting every interval to `sink`.
   */
  start(sink: (records: FlowRecord[]) => void): void {
    this.sink = sink;
    this.bootOffsetMs = loadNative().bootTimeOffsetMs();
    this.native = openNativeCollector({ ignorePid: this.ignorePid, maxFlows: this.maxFlows });
    this.destroyTracked = this.native.capabilities().some((c) => c.name === 'handle_destroy' && c.attached);
    const caps = this.native.capabilities();
    const missing = caps.filter((c) => !c.attached);
    log.info(
      `run ${this.runId}: ${caps.length - missing.length}/${caps.length} programs attached` +
        (missing.length
          ? `; degraded: ${missing.map((c) => `${c.name} (${c.error ?? 'not attached'})`).join(', ')}`
          : ''),
    );
    this.native.start((batch) => this.onEvents(decodeEvents(batch)));
    let preexisting = 0;
    for (const f of decodeFlows(this.native.snapshot())) {
      if (f.role === 'listener') this.addListener(f);
      else preexisting++;
    }
    log.info(`snapshot: ${preexisting} pre-existing connections, ${this.listenerTable.size} listeners`);
    this.timer = setInterval(() => this.flush(), this.intervalMs);
  }

  /** Reads the kernel's counters now and reports what changed. */
  flush(): void {
    if (!this.native || !this.sink) return;
    const records: FlowRecord[] = [];
    const now = Date.now();
    const seen = new Set<number>();
    for (const f of decodeFlows(this.native.readFlows())) {
      if (f.role === 'listener') continue;
      seen.add(f.cookie);
      // Final once the socket is freed (TCP_CLOSE alone may come before the application's last read).
      const ended = this.destroyTracked ? f.destroyed : f.closed || f.failed;
      const signature = `${f.bytesSent}/${f.bytesReceived}/${f.retransmits}/${f.srttUs}/${f.pid}/${f.flags}`;
      if (!ended && this.reported.get(f.cookie) === signature) continue;
      if (ended) this.reported.delete(f.cookie);
      else this.reported.set(f.cookie, signature);
      const record = this.toRecord(f, now);
      // Numbered only when reported: a gap in the run's sequence then always means a lost record.
      if (this.matches(record)) records.push({ ...record, seq: this.nextSeq() });
    }
    // A flow the kernel map no longer holds (evicted, or never destroyed in sight) is forgotten here too.
    for (const cookie of this.reported.keys()) if (!seen.has(cookie)) this.reported.delete(cookie);
    if (records.length) this.sink(records);
  }

  /** Reports the last counters, detaches everything. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.native) return;
    this.native.stop();
    this.flush();
    this.native.close();
    this.native = undefined;
  }

  private onEvents(events: NativeEvent[]): void {
    for (const e of events) {
      const f = e.flow;
      // Capture the owner now: the process may be gone by the next flush.
      if (f.pid !== 0) this.attribute(f);
      if (e.type === 'listen') this.addListener(f);
      else if (e.type === 'unlisten' && this.inScope(f.netns)) {
        const key = `${f.netns}/${f.localPort}`;
        const gone = this.listenerTable.get(key);
        this.listenerTable.delete(key);
        if (gone) this.listenerWatch?.(gone, false);
      }
    }
  }

  /** The owner of f; with its start time a known process costs no /proc read, a reused pid shows. */
  private attribute(f: NativeFlow): Attribution {
    return this.enricher.attribute(f.pid, f.comm, f.cgroupId, f.startBootNs || undefined);
  }

  /** Whether a namespace is one this collector reports (see {@link FlowFilter.netns}). */
  private inScope(netns: number): boolean {
    const scope = this.filter.netns;
    return !scope?.length || scope.includes(netns);
  }

  private addListener(f: NativeFlow): void {
    if (!this.inScope(f.netns)) return;
    if (f.pid !== 0) this.attribute(f);
    const listener: ListenerInfo = {
      netns: f.netns,
      addr: f.localAddr,
      port: f.localPort,
      pid: f.pid,
      comm: f.comm,
    };
    this.listenerTable.set(`${f.netns}/${f.localPort}`, listener);
    this.listenerWatch?.(listener, true);
  }

  private role(f: NativeFlow): FlowRole {
    if (f.role === 'client' || f.role === 'server') return f.role;
    return this.listenerTable.has(`${f.netns}/${f.localPort}`) ? 'server' : 'unknown';
  }

  private toRecord(f: NativeFlow, now: number): FlowRecord {
    const who = f.pid === 0 ? unattributed(this.hostId) : Enricher.flowFields(this.attribute(f));
    return {
      ...who,
      hostId: this.hostId,
      runId: this.runId,
      seq: 0,
      cookie: f.cookie,
      netns: f.netns,
      role: this.role(f),
      state: f.failed ? 'failed' : f.closed ? 'closed' : 'open',
      family: f.family,
      localAddr: f.localAddr,
      localPort: f.localPort,
      remoteAddr: f.remoteAddr,
      remotePort: f.remotePort,
      bytesSent: f.bytesSent,
      bytesReceived: f.bytesReceived,
      retransmits: f.retransmits,
      srttUs: f.srttUs,
      connectLatencyUs: f.connectUs > 0 ? f.connectUs : null,
      openedAt: Math.round(this.bootOffsetMs + f.openedNs / 1e6),
      closedAt: f.closedNs > 0 ? Math.round(this.bootOffsetMs + f.closedNs / 1e6) : null,
      observedAt: now,
      preexisting: f.preexisting,
    };
  }

  private matches(r: FlowRecord): boolean {
    const { pids, ports, containers, excludePorts } = this.filter;
    if (!this.inScope(r.netns)) return false;
    if (excludePorts?.length && (excludePorts.includes(r.localPort) || excludePorts.includes(r.remotePort)))
      return false;
    if (pids?.length && !pids.includes(r.pid)) return false;
    if (ports?.length && !ports.includes(r.localPort) && !ports.includes(r.remotePort)) return false;
    if (containers?.length && !containers.some((c) => r.containerId?.startsWith(c))) return false;
    return true;
  }
}

/** Owner fields of a socket no process was attributed to yet (a passive open seen in softirq). */
function unattributed(hostId: string): FlowAttribution {
  return {
    hostId,
    pid: 0,
    processStartTime: 0,
    comm: '',
    cgroupId: 0,
    containerId: null,
    containerRuntime: null,
    podUid: null,
  };
}

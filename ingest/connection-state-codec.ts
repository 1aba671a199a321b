/*
 * How a Connection node stores its correlation state. Each slot and the applied contribution is
 * one string property holding a positional JSON array (no field names; the host id is not repeated
 * where the flow key already holds it; the edges of a contribution share its port and protocol).
 * Measured on the ingest bench: ~2.5 KB of state per connection as keyed JSON objects, which was
 * most of what a batch transaction wrote, read back, parsed and committed; positional arrays are
 * about half of that. States stored as keyed objects by earlier versions are still read.
 */
import type { FlowRole, FlowState } from '../collector/flow-record';
import type { Contribution, EdgeLevel, EdgeRef, EndSlot } from './connection-model';

const FORMAT = 2;
const ROLES: FlowRole[] = ['client', 'server', 'unknown'];
const STATES: FlowState[] = ['open', 'closed', 'failed'];
const LEVELS: EdgeLevel[] = ['process', 'container', 'pod', 'host'];
const LABELS = ['Process', 'Container', 'Pod', 'Host', 'ExternalEndpoint'];

type Cell = string | number | null;

function index<T>(list: readonly T[], value: T, what: string): number {
  const i = list.indexOf(value);
  if (i < 0) throw new TypeError(`connection state: unknown ${what} ${String(value)}`);
  return i;
}

/** One end's slot as stored on its Connection node. */
export function encodeSlot(s: EndSlot): string {
  const b = s.base;
  const cells: Cell[] = [
    FORMAT,
    s.flowKey,
    s.seq,
    s.observedAt,
    s.netns,
    index(ROLES, s.role, 'role'),
    index(STATES, s.state, 'state'),
    s.localAddr,
    s.localPort,
    s.remoteAddr,
    s.remotePort,
    s.pid,
    s.startTime,
    s.comm,
    s.containerId,
    s.containerRuntime,
    s.podUid,
    s.sent,
    s.recv,
    s.retrans,
    s.srttUs,
    s.connectLatencyUs,
    s.openedAt,
    s.closedAt,
    b.sent,
    b.recv,
    b.retrans,
    b.ok,
    b.fail,
    b.latSum,
    b.latCount,
  ];
  // The host id is the flow key's first part (`hostId/runId/cookie`).
  if (s.flowKey.slice(0, s.flowKey.indexOf('/')) !== s.hostId) cells.push(s.hostId);
  return JSON.stringify(cells);
}

/** The inverse of {@link encodeSlot}; also reads the keyed-object form of earlier versions. */
export function decodeSlot(text: string): EndSlot {
  const v = JSON.parse(text) as unknown;
  if (!Array.isArray(v)) return v as EndSlot;
  const c = v as Cell[];
  const flowKey = c[1] as string;
  const n = (i: number): number => c[i] as number;
  const str = (i: number): string | null => c[i] as string | null;
  return {
    flowKey,
    seq: n(2),
    observedAt: n(3),
    hostId: c.length > 31 ? (c[31] as string) : flowKey.slice(0, flowKey.indexOf('/')),
    netns: n(4),
    role: ROLES[n(5)],
    state: STATES[n(6)],
    localAddr: c[7] as string,
    localPort: n(8),
    remoteAddr: c[9] as string,
    remotePort: n(10),
    pid: n(11),
    startTime: n(12),
    comm: str(13),
    containerId: str(14),
    containerRuntime: str(15),
    podUid: str(16),
    sent: n(17),
    recv: n(18),
    retrans: n(19),
    srttUs: n(20),
    connectLatencyUs: c[21] as number | null,
    openedAt: n(22),
    closedAt: c[23] as number | null,
    base: {
      sent: n(24),
      recv: n(25),
      retrans: n(26),
      ok: n(27),
      fail: n(28),
      latSum: n(29),
      latCount: n(30),
    },
  };
}

/** What a connection adds to its edges, as stored on its Connection node. */
export function encodeContribution(k: Contribution): string {
  const cells: Cell[] = [
    FORMAT,
    k.connections,
    k.failedConnects,
    k.bytesToServer,
    k.bytesToClient,
    k.retransmits,
    k.connectLatencyUsSum,
    k.connectLatencyCount,
    k.srttUs,
    k.firstSeen,
    k.lastSeen,
  ];
  // Every edge of one contribution has its port and protocol; they are kept per edge all the same
  // (cheap: numbers), so that decoding never has to assume it.
  for (const e of k.edges) {
    const kind =
      index(LEVELS, e.level, 'level') * 100 +
      index(LABELS, e.fromLabel, 'label') * 10 +
      index(LABELS, e.toLabel, 'label');
    cells.push(kind, e.fromKey, e.toKey, e.port, e.protocol === 'tcp' ? 0 : e.protocol);
  }
  return JSON.stringify(cells);
}

/** The inverse of {@link encodeContribution}; also reads the keyed-object form of earlier versions. */
export function decodeContribution(text: string): Contribution {
  const v = JSON.parse(text) as unknown;
  if (!Array.isArray(v)) return v as Contribution;
  const c = v as Cell[];
  const edges: EdgeRef[] = [];
  for (let i = 11; i + 4 < c.length; i += 5) {
    const kind = c[i] as number;
    edges.push({
      level: LEVELS[Math.floor(kind / 100)],
      fromLabel: LABELS[Math.floor(kind / 10) % 10],
      fromKey: c[i + 1] as string,
      toLabel: LABELS[kind % 10],
      toKey: c[i + 2] as string,
      port: c[i + 3] as number,
      protocol: (c[i + 4] === 0 ? 'tcp' : c[i + 4]) as 'tcp',
    });
  }
  return {
    edges,
    connections: c[1] as number,
    failedConnects: c[2] as number,
    bytesToServer: c[3] as number,
    bytesToClient: c[4] as number,
    retransmits: c[5] as number,
    connectLatencyUsSum: c[6] as number,
    connectLatencyCount: c[7] as number,
    srttUs: c[8] as number | null,
    firstSeen: c[9] as number,
    lastSeen: c[10] as number,
  };
}

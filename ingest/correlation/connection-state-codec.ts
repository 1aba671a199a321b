/*
 * How a Connection node stores its correlation state. Each slot and the applied contribution is
 * one string property holding a positional JSON array (no field names; the host id is not repeated
 * where the flow key already holds it; the edges of a contribution share its port and protocol).
 * Measured on the ingest bench: ~2.5 KB of state per connection as keyed JSON objects, which was
 * most of what a batch transaction wrote, read back, parsed and committed; positional arrays are
 * about half of that. States stored as keyed objects by earlier versions are still read.
 *
 * Format 3 (contributions only): instead of up to four edges with full keys (about 40 % of the
 * state), the two endpoints the edges are derived from, each as `'a'` / `'b'` when it is the
 * process of that slot (the usual case: nothing but a letter), else `[processKey, containerId,
 * podUid]` or `[ip]`; and the port once. An encoding is kept only if decoding it gives back exactly
 * the same edges, else format 2 is written; formats 2 and 1 (keyed objects) are still read. A
 * contribution is always stored together with the slots it refers to (one transaction).
 */
import type { FlowRole, FlowState } from '../../contract/flow-record';
import type { Contribution, EdgeLevel, EdgeRef, EndSlot } from './connection-model';
import { isOpen } from './connection-correlator';

/** The slots of the Connection a contribution is stored with (what `'a'` / `'b'` refer to). */
export interface StoredSlots {
  a?: EndSlot;
  b?: EndSlot;
}

/** An endpoint as format 3 stores it. */
type EndpointCell = 'a' | 'b' | [string] | [string, string | null, string | null];

/** An endpoint's node at each level, as the correlator derives them. */
interface EndpointNodes {
  external: boolean;
  key: string;
  containerId: string | null;
  podUid: string | null;
  hostId: string;
}

const FORMAT = 2;
const ENDPOINT_FORMAT = 3;
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

/** What a connection adds to its edges, as stored on its Connection node (format 3 when it fits, see above). */
export function encodeContribution(k: Contribution, slots: StoredSlots = {}): string {
  const compact = encodeEndpoints(k, slots);
  if (compact) return compact;
  return encodeEdges(k);
}

/** Format 2: every edge with its keys. */
function encodeEdges(k: Contribution): string {
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

/**
 * The inverse of {@link encodeContribution}; also reads the keyed-object form of earlier versions.
 * `open` is not stored: it is derived from the slots the contribution is stored with (the slots
 * it was computed from).
 */
export function decodeContribution(text: string, slots: StoredSlots = {}): Contribution {
  return { ...decodeFigures(text, slots), open: isOpen(slots) };
}

function decodeFigures(text: string, slots: StoredSlots): Contribution {
  const v = JSON.parse(text) as unknown;
  if (!Array.isArray(v)) return v as Contribution;
  if (v[0] === ENDPOINT_FORMAT) return decodeEndpoints(v, slots);
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

function figures(k: Contribution): Cell[] {
  return [
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
}

function slotNodes(s: EndSlot): EndpointNodes {
  // As the correlator's process endpoint of a slot: pid 0 is the host's unattributed process.
  const known = s.pid !== 0;
  return {
    external: false,
    key: `${s.hostId}/${known ? s.pid : 0}/${known ? s.startTime : 0}`,
    containerId: s.containerId,
    podUid: s.podUid,
    hostId: s.hostId,
  };
}

function cellNodes(cell: EndpointCell, slots: StoredSlots): EndpointNodes | undefined {
  if (cell === 'a' || cell === 'b') {
    const slot = slots[cell];
    return slot ? slotNodes(slot) : undefined;
  }
  if (cell.length === 1) return { external: true, key: cell[0], containerId: null, podUid: null, hostId: '' };
  const [key, containerId, podUid] = cell;
  return { external: false, key, containerId, podUid, hostId: key.slice(0, key.indexOf('/')) };
}

function nodeAt(ep: EndpointNodes, level: EdgeLevel): { label: string; key: string } | undefined {
  if (ep.external) return { label: 'ExternalEndpoint', key: ep.key };
  if (level === 'process') return { label: 'Process', key: ep.key };
  if (level === 'container') return ep.containerId ? { label: 'Container', key: ep.containerId } : undefined;
  if (level === 'pod') return ep.podUid ? { label: 'Pod', key: ep.podUid } : undefined;
  return { label: 'Host', key: ep.hostId };
}

function deriveEdges(client: EndpointNodes, server: EndpointNodes, port: number): EdgeRef[] {
  const out: EdgeRef[] = [];
  for (const level of LEVELS) {
    const from = nodeAt(client, level);
    const to = nodeAt(server, level);
    if (from && to)
      out.push({
        level,
        fromLabel: from.label,
        fromKey: from.key,
        toLabel: to.label,
        toKey: to.key,
        port,
        protocol: 'tcp',
      });
  }
  return out;
}

function sameEdges(x: EdgeRef[], y: EdgeRef[]): boolean {
  return (
    x.length === y.length &&
    x.every(
      (e, i) =>
        e.level === y[i].level &&
        e.fromLabel === y[i].fromLabel &&
        e.fromKey === y[i].fromKey &&
        e.toLabel === y[i].toLabel &&
        e.toKey === y[i].toKey &&
        e.port === y[i].port &&
        e.protocol === y[i].protocol,
    )
  );
}

/** The ways one end of the edges can be written, shortest first. */
function candidates(edges: EdgeRef[], end: 'from' | 'to'): EndpointCell[] {
  const at = (level: EdgeLevel): EdgeRef | undefined => edges.find((e) => e.level === level);
  const p = at('process');
  if (!p) return [];
  const label = end === 'from' ? p.fromLabel : p.toLabel;
  const key = end === 'from' ? p.fromKey : p.toKey;
  const keyAt = (level: EdgeLevel): string | null => {
    const e = at(level);
    return e ? (end === 'from' ? e.fromKey : e.toKey) : null;
  };
  const explicit: EndpointCell =
    label === 'ExternalEndpoint' ? [key] : [key, keyAt('container'), keyAt('pod')];
  return ['a', 'b', explicit];
}

/** Format 3, or undefined when the edges are not exactly what two endpoints give. */
function encodeEndpoints(k: Contribution, slots: StoredSlots): string | undefined {
  const port = k.edges[0]?.port;
  if (port === undefined) return undefined;
  for (const c of candidates(k.edges, 'from')) {
    const client = cellNodes(c, slots);
    if (!client) continue;
    for (const s of candidates(k.edges, 'to')) {
      const server = cellNodes(s, slots);
      if (server && sameEdges(deriveEdges(client, server, port), k.edges))
        return JSON.stringify([ENDPOINT_FORMAT, ...figures(k), port, c, s]);
    }
  }
  return undefined;
}

function decodeEndpoints(c: unknown[], slots: StoredSlots): Contribution {
  const client = cellNodes(c[12] as EndpointCell, slots);
  const server = cellNodes(c[13] as EndpointCell, slots);
  if (!client || !server)
    throw new TypeError('connection state: a contribution refers to a slot that is not stored');
  const n = (i: number): number => c[i] as number;
  return {
    edges: deriveEdges(client, server, n(11)),
    connections: n(1),
    failedConnects: n(2),
    bytesToServer: n(3),
    bytesToClient: n(4),
    retransmits: n(5),
    connectLatencyUsSum: n(6),
    connectLatencyCount: n(7),
    srttUs: c[8] as number | null,
    firstSeen: n(9),
    lastSeen: n(10),
  };
}

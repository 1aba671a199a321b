import type { FlowRole, FlowState } from '../../contract/flow-record';
import type { Side } from './address';

/*
 * The ingest's correlation model (types only). A Connection is one TCP connection as the two
 * ends see it; each end (a flow of one collector) has a slot holding the last record applied.
 */

/** One end of a connection: the newest applied flow record of that end, plus what superseded flows left. */
export interface EndSlot {
  /** `hostId/runId/cookie`. */
  flowKey: string;
  seq: number;
  observedAt: number;
  hostId: string;
  netns: number;
  role: FlowRole;
  state: FlowState;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  /** 0 when unknown. */
  pid: number;
  /** 0 when unknown. */
  startTime: number;
  comm: string | null;
  containerId: string | null;
  containerRuntime: string | null;
  podUid: string | null;
  sent: number;
  recv: number;
  retrans: number;
  /** 0 when unknown. */
  srttUs: number;
  connectLatencyUs: number | null;
  openedAt: number;
  closedAt: number | null;
  /** Totals of earlier flows on the same end and 4-tuple (collector restart, port reuse). */
  base: {
    sent: number;
    recv: number;
    retrans: number;
    ok: number;
    fail: number;
    latSum: number;
    latCount: number;
  };
}

/** The correlation state of one connection as stored on its `Connection` node. */
export interface ConnectionState {
  key: string;
  a?: EndSlot;
  b?: EndSlot;
  /** What this connection currently adds to the CONNECTS_TO edges (to take back when it changes). */
  applied?: Contribution;
}

/** A resolved endpoint of a connection. */
export type Endpoint =
  | {
      kind: 'process';
      key: string;
      hostId: string;
      pid: number;
      startTime: number;
      comm: string | null;
      containerId: string | null;
      containerRuntime: string | null;
      podUid: string | null;
    }
  | { kind: 'external'; ip: string };

/** Rollup levels at which CONNECTS_TO is materialised. */
export type EdgeLevel = 'process' | 'container' | 'pod' | 'host';

/** One CONNECTS_TO relationship: (from)-[:CONNECTS_TO {port, protocol, level}]->(to). */
export interface EdgeRef {
  level: EdgeLevel;
  fromLabel: string;
  fromKey: string;
  toLabel: string;
  toKey: string;
  port: number;
  protocol: 'tcp';
}

/** The figures one connection adds to each of its edges. */
export interface Contribution {
  edges: EdgeRef[];
  connections: number;
  failedConnects: number;
  bytesToServer: number;
  bytesToClient: number;
  retransmits: number;
  connectLatencyUsSum: number;
  connectLatencyCount: number;
  srttUs: number | null;
  firstSeen: number;
  lastSeen: number;
  /**
   * Whether the connection is open now (every end seen is open). Never stored: it follows from
   * the slots a contribution is stored with, so `decodeContribution` derives it from them.
   */
  open?: boolean;
}

/** The change to apply to one edge in a batch (sums of contribution differences). */
export interface EdgeDelta extends EdgeRef {
  connections: number;
  failedConnects: number;
  bytesToServer: number;
  bytesToClient: number;
  retransmits: number;
  connectLatencyUsSum: number;
  connectLatencyCount: number;
  /** Only set by contributions added (not by those taken back). */
  srttUs: number | null;
  firstSeen: number | null;
  lastSeen: number | null;
  /** Change in the edge's open connections (the topology history counts them per bucket). */
  open: number;
}

/** A network namespace owning an address (from host records). */
export interface AddressOwner {
  hostId: string;
  netns: number;
}

/** A listening socket found for a (host, netns, port) (from listener records). */
export interface ListenerHit {
  addr: string;
  pid: number;
  startTime: number;
  comm: string | null;
  containerId: string | null;
  containerRuntime: string | null;
  podUid: string | null;
}

/** Read-only facts the correlator resolves with. */
export interface ResolutionFacts {
  /** addr → owners. */
  owners: Map<string, AddressOwner[]>;
  /** `hostId/netns/port` → listeners. */
  listeners: Map<string, ListenerHit[]>;
  /** The `hostId/netns/port` keys that were read (when set, consulting another one is a bug and throws). */
  read?: Set<string>;
}

/** A (host, netns, port) whose listeners may be needed. */
export interface ListenerKey {
  hostId: string;
  netns: number;
  port: number;
}

/** A key and a side, for a record that goes into a connection. */
export interface Placement {
  key: string;
  side: Side;
}

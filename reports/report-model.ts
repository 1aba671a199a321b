/**
 * The shapes of a topology report (types only): what the history reader returns for a window,
 * what the diff finds, and the report written as JSON (`topology-report.schema.json` describes it,
 * and a test validates every report against it).
 */
import type { EdgeFiguresV1 } from '../contract';

/** A time window [from, to), ms since the epoch. */
export interface TimeWindow {
  from: number;
  to: number;
}

/** An edge's figures summed over a window (`open`: its open connections at the end): the change record's. */
export type EdgeFigures = EdgeFiguresV1;

/** One end of an edge. */
export interface NodeRef {
  label: string;
  key: string;
}

/** An edge present in a window, with its figures there. */
export interface WindowEdge extends EdgeFigures {
  /** The history's edge id (`level|fromLabel|fromKey|toLabel|toKey|port|protocol`). */
  id: string;
  from: NodeRef;
  to: NodeRef;
  port: number;
  protocol: string;
}

/** A listening port in a window: one (host, netns, port), whatever addresses it is bound to. */
export interface WindowListener {
  /** `hostId/netns/port`. */
  id: string;
  hostId: string;
  netns: number;
  port: number;
  addrs: string[];
  processKey: string | null;
  /** When its earliest period in the window began (ms). */
  since: number;
}

/** What the history says about one window at one level. */
export interface WindowSnapshot {
  level: string;
  window: TimeWindow;
  edges: Map<string, WindowEdge>;
  listeners: Map<string, WindowListener>;
}

/** A node as a report names it. */
export interface NodeDescription extends NodeRef {
  /** A readable name: `comm[pid]@host`, a hostname, `namespace/pod`, an ip. */
  name: string;
  hostId: string | null;
  namespace: string | null;
  /** `namespace/kind/name` of the workload it belongs to, when known. */
  workload: string | null;
}

/** The rates a diff compares (per window; null when the window holds too little to say). */
export interface EdgeMetrics {
  /** Bytes both ways per minute. */
  trafficBytesPerMin: number;
  /** Established connections per minute. */
  connectionsPerMin: number;
  /** Failed connects per 100 attempts. */
  failedConnectPct: number | null;
  /** Retransmitted segments per 100 segments (segments estimated as bytes ÷ 1448 + 3 per connection). */
  retransmitPct: number | null;
  /** Mean SYN → ESTABLISHED, µs. */
  connectLatencyUs: number | null;
}

export type MetricName = keyof EdgeMetrics;

/** One metric that moved beyond its threshold. */
export interface MetricChange {
  metric: MetricName;
  before: number | null;
  after: number | null;
}

export const CHANGE_KINDS = [
  'edge-appeared',
  'edge-vanished',
  'edge-changed',
  'node-appeared',
  'node-vanished',
  'external-endpoint-appeared',
  'external-endpoint-vanished',
  'listener-appeared',
] as const;

export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** One change a report lists (and publishes on the change topic). */
export interface TopologyChange {
  /** `<report id>/<n>`, stable for a report. */
  id: string;
  kind: ChangeKind;
  /** The changed entity: an edge id, `Label:key` of a node, or `listener:hostId/netns/port`. */
  entity: string;
  /** Edge changes: the client end; node changes: the node. */
  from: NodeDescription | null;
  /** Edge changes: the server end. */
  to: NodeDescription | null;
  port: number | null;
  before: EdgeFigures | null;
  after: EdgeFigures | null;
  /** edge-changed: the metrics beyond their thresholds. */
  metrics: MetricChange[];
}

/** What the report knows about the quality of its windows. */
export interface WindowHealth {
  /** The earlier and later windows hold no history at all. */
  emptyBefore: boolean;
  emptyAfter: boolean;
  /** Something may be missing (history began late, retention, ingest lag, silent collectors). */
  partial: boolean;
  /** Sentences for the summary, one per finding. */
  notes: string[];
}

/** A topology report: two windows at one level compared. */
export interface TopologyReport {
  /** Stable for (schedule, level, scope, windows): the same report is never made twice. */
  id: string;
  schedule: string | null;
  level: string;
  createdAt: number;
  before: TimeWindow;
  after: TimeWindow;
  scope: { hosts: string[] };
  thresholds: Record<string, number>;
  health: WindowHealth;
  summary: {
    edgesBefore: number;
    edgesAfter: number;
    counts: Record<ChangeKind, number>;
  };
  changes: TopologyChange[];
}

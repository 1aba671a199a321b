import type {
  ChangeKind,
  EdgeFigures,
  MetricChange,
  NodeRef,
  WindowEdge,
  WindowListener,
  WindowSnapshot,
} from './report-model';
import { figuresOf } from './edge-figures';
import { changedMetrics, metricsOf, type Thresholds } from './thresholds';

/** A change before its nodes are described (what the diff itself finds). */
export interface FoundChange {
  kind: ChangeKind;
  entity: string;
  from: NodeRef | null;
  to: NodeRef | null;
  port: number | null;
  before: EdgeFigures | null;
  after: EdgeFigures | null;
  metrics: MetricChange[];
}

/** The order changes are listed in: by kind as below, then by entity. */
const KIND_ORDER: Record<ChangeKind, number> = {
  'edge-appeared': 0,
  'edge-vanished': 1,
  'edge-changed': 2,
  'external-endpoint-appeared': 3,
  'external-endpoint-vanished': 4,
  'node-appeared': 5,
  'node-vanished': 6,
  'listener-appeared': 7,
};

const refId = (r: NodeRef): string => `${r.label}:${r.key}`;

/** The nodes at the ends of a window's edges. */
function nodesOf(s: WindowSnapshot): Map<string, NodeRef> {
  const out = new Map<string, NodeRef>();
  for (const e of s.edges.values()) {
    out.set(refId(e.from), e.from);
    out.set(refId(e.to), e.to);
  }
  return out;
}

function edgeChange(
  kind: ChangeKind,
  e: WindowEdge,
  before: WindowEdge | null,
  after: WindowEdge | null,
  metrics: MetricChange[] = [],
): FoundChange {
  return {
    kind,
    entity: e.id,
    from: e.from,
    to: e.to,
    port: e.port,
    before: before ? figuresOf(before) : null,
    after: after ? figuresOf(after) : null,
    metrics,
  };
}

function nodeChange(kind: ChangeKind, n: NodeRef): FoundChange {
  return { kind, entity: refId(n), from: n, to: null, port: null, before: null, after: null, metrics: [] };
}

/**
 * Compares two windows of the history at one level: edges that appeared, vanished or changed
 * beyond the thresholds, nodes (and external endpoints apart) that appeared or vanished with
 * them, and listening ports that opened. Pure: the same snapshots give the same changes, in the
 * same order.
 */
export function diffWindows(before: WindowSnapshot, after: WindowSnapshot, t: Thresholds): FoundChange[] {
  const out: FoundChange[] = [];
  for (const [id, e] of after.edges) {
    const old = before.edges.get(id);
    if (!old) {
      out.push(edgeChange('edge-appeared', e, null, e));
      continue;
    }
    const metrics = changedMetrics(metricsOf(old, before.window, t), metricsOf(e, after.window, t), t);
    if (metrics.length > 0) out.push(edgeChange('edge-changed', e, old, e, metrics));
  }
  for (const [id, e] of before.edges)
    if (!after.edges.has(id)) out.push(edgeChange('edge-vanished', e, e, null));

  const nodesBefore = nodesOf(before);
  const nodesAfter = nodesOf(after);
  const external = (n: NodeRef): boolean => n.label === 'ExternalEndpoint';
  for (const [id, n] of nodesAfter)
    if (!nodesBefore.has(id))
      out.push(nodeChange(external(n) ? 'external-endpoint-appeared' : 'node-appeared', n));
  for (const [id, n] of nodesBefore)
    if (!nodesAfter.has(id))
      out.push(nodeChange(external(n) ? 'external-endpoint-vanished' : 'node-vanished', n));

  for (const [id, l] of after.listeners) if (!before.listeners.has(id)) out.push(listenerChange(l));

  return out.sort(
    (x, y) =>
      KIND_ORDER[x.kind] - KIND_ORDER[y.kind] || (x.entity < y.entity ? -1 : x.entity > y.entity ? 1 : 0),
  );
}

function listenerChange(l: WindowListener): FoundChange {
  const node: NodeRef = l.processKey
    ? { label: 'Process', key: l.processKey }
    : { label: 'Host', key: l.hostId };
  return {
    kind: 'listener-appeared',
    entity: `listener:${l.id}`,
    from: node,
    to: null,
    port: l.port,
    before: null,
    after: null,
    metrics: [],
  };
}

/** Keeps the edges with an end on one of `hosts` (per node, `hostsOf`), and the listeners of those hosts. */
export function scopeSnapshot(
  s: WindowSnapshot,
  hosts: ReadonlySet<string>,
  hostsOf: ReadonlyMap<string, string[]>,
): WindowSnapshot {
  const inScope = (n: NodeRef): boolean => (hostsOf.get(refId(n)) ?? []).some((h) => hosts.has(h));
  return {
    ...s,
    edges: new Map([...s.edges].filter(([, e]) => inScope(e.from) || inScope(e.to))),
    listeners: new Map([...s.listeners].filter(([, l]) => hosts.has(l.hostId))),
  };
}

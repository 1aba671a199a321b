import type { ManagedTransaction } from 'neo4j-driver';
import {
  CLUSTER_TOPICS,
  ipFromBytes,
  podUidFromAvro,
  type ClusterKind,
  type EndpointSliceV1,
  type PodV1,
  type ServiceV1,
} from '../../contract';
import type { EndpointSliceMetaRow, GoneRow, PodMetaRow, ServiceMetaRow } from './cluster-rows';
import {
  CLUSTER_PODS,
  CLUSTER_PODS_GONE,
  CLUSTER_SERVICES,
  CLUSTER_SERVICES_GONE,
  CLUSTER_SLICES,
  CLUSTER_SLICES_GONE,
} from './cluster-statements';
import type { ClusterMessage } from './decoded-message';
import type { GraphWriter } from './graph-writer';
import { int64Params } from './neo4j-params';

/** `{a: '1', b: '2'}` → `['a=1', 'b=2']` (sorted: one order for comparisons). */
function pairs(map: Record<string, string>): string[] {
  return Object.entries(map)
    .map(([k, v]) => `${k}=${v}`)
    .sort();
}

/**
 * Keeps the last record of each key (one key's records come in order: one partition); a tombstone
 * only when the batch has no record of its key. A deletion record followed by its tombstone keeps
 * the record: it carries the final state and when it was deleted, and an object created and
 * deleted within one batch still gets its node.
 */
function lastPerKey(messages: ClusterMessage[]): ClusterMessage[] {
  const out = new Map<string, ClusterMessage>();
  for (const m of messages) {
    const id = `${m.kind}/${m.key}`;
    if (m.record === null && out.get(id)?.record) continue;
    out.set(id, m);
  }
  return [...out.values()];
}

export function podRow(r: PodV1): PodMetaRow {
  const top = r.owners.length ? r.owners[r.owners.length - 1] : null;
  return {
    uid: podUidFromAvro(r.uid) as string,
    cluster: r.cluster,
    namespace: r.namespace,
    name: r.name,
    labels: pairs(r.labels),
    nodeName: r.nodeName,
    hostNetwork: r.hostNetwork,
    phase: r.phase,
    ips: r.ips.map(ipFromBytes),
    owners: r.owners.map((o) => `${o.kind}/${o.name}`),
    workloadKey: top ? `${r.cluster}/${r.namespace}/${top.kind}/${top.name}` : null,
    workloadKind: top?.kind ?? null,
    workloadName: top?.name ?? null,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    deletionRequestedAt: r.deletionRequestedAt,
    deletedAt: r.deletedAt,
    observedAt: r.observedAt,
    ipFrom: r.startedAt ?? r.observedAt,
  };
}

/** What the rows of a Service and of an EndpointSlice share: identity and time. */
function identity(kind: 'service' | 'endpointslice', r: ServiceV1 | EndpointSliceV1) {
  return {
    key: (CLUSTER_TOPICS[kind].keyOf as (x: typeof r) => string)(r),
    cluster: r.cluster,
    namespace: r.namespace,
    name: r.name,
    uid: podUidFromAvro(r.uid) as string,
    observedAt: r.observedAt,
  };
}

export function serviceRow(r: ServiceV1): ServiceMetaRow {
  return {
    ...identity('service', r),
    type: r.type,
    ips: r.clusterIPs.map(ipFromBytes),
    headless: r.headless,
    externalName: r.externalName,
    ports: r.ports.map(
      (p) => `${p.name ? `${p.name} ` : ''}${p.port}/${p.protocol} → ${p.targetPort ?? p.port}`,
    ),
    portNumbers: r.ports.map((p) => p.port),
    selector: pairs(r.selector),
    labels: pairs(r.labels),
    createdAt: r.createdAt,
    deletedAt: r.deletedAt,
    ipFrom: r.createdAt,
  };
}

export function endpointSliceRow(r: EndpointSliceV1): EndpointSliceMetaRow {
  return {
    ...identity('endpointslice', r),
    serviceName: r.serviceName,
    addressType: r.addressType,
    ports: r.ports.map((p) => `${p.name ? `${p.name} ` : ''}${p.port ?? '*'}/${p.protocol ?? 'TCP'}`),
    endpointPodUids: r.endpoints.map((e) => (e.targetKind === 'Pod' && e.targetUid ? e.targetUid : '')),
    endpointAddresses: r.endpoints.map((e) => e.addresses.join(',')),
    endpointReady: r.endpoints.map((e) => e.ready ?? true),
    endpointServing: r.endpoints.map((e) => e.serving ?? e.ready ?? true),
    endpointTerminating: r.endpoints.map((e) => e.terminating ?? false),
  };
}

/**
 * The ingest side of `nettopo k8s-watch`: pod, Service and EndpointSlice records (and tombstones)
 * → metadata upserts, inside the batch's transaction. Sends its statements through the
 * GraphWriter (in the order of the transaction's other statements) without waiting for them.
 */
export class ClusterMetadata {
  constructor(private readonly writer: GraphWriter) {}

  /** Sends the upserts of these messages; the returned promises settle with the statements. */
  apply(tx: ManagedTransaction, messages: ClusterMessage[]): Promise<unknown>[] {
    const pods: PodMetaRow[] = [];
    const services: ServiceMetaRow[] = [];
    const slices: EndpointSliceMetaRow[] = [];
    const gone: Record<ClusterKind, GoneRow[]> = { pod: [], service: [], endpointslice: [] };
    for (const m of lastPerKey(messages)) {
      if (m.record === null) {
        // pod keys are cluster/uid: the node is keyed by uid
        gone[m.kind].push({ key: m.kind === 'pod' ? m.key.slice(m.key.indexOf('/') + 1) : m.key, at: m.at });
      } else if (m.kind === 'pod') pods.push(podRow(m.record as PodV1));
      else if (m.kind === 'service') services.push(serviceRow(m.record as ServiceV1));
      else if ((m.record as EndpointSliceV1).deletedAt !== null)
        gone.endpointslice.push({ key: m.key, at: (m.record as EndpointSliceV1).deletedAt as number });
      else slices.push(endpointSliceRow(m.record as EndpointSliceV1));
    }
    const sent: Promise<unknown>[] = [];
    const send = (query: string, rows: unknown[]): void => {
      if (rows.length) sent.push(this.writer.runStatement(tx, query, int64Params({ rows })));
    };
    // One lock order for concurrent writers: each kind's rows sorted by key.
    const byKey =
      <T>(key: (t: T) => string) =>
      (x: T, y: T) =>
        key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0;
    send(CLUSTER_PODS, pods.sort(byKey((r: PodMetaRow) => r.uid)));
    send(CLUSTER_SERVICES, services.sort(byKey((r: ServiceMetaRow) => r.key)));
    send(CLUSTER_SLICES, slices.sort(byKey((r: EndpointSliceMetaRow) => r.key)));
    send(CLUSTER_PODS_GONE, gone.pod);
    send(CLUSTER_SERVICES_GONE, gone.service);
    send(CLUSTER_SLICES_GONE, gone.endpointslice);
    return sent;
  }
}

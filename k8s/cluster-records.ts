import {
  ipToBytes,
  podUidToAvro,
  type EndpointSliceV1,
  type OwnerRefV1,
  type PodV1,
  type ServiceV1,
} from '../contract';
import type { KubeObject } from './kube-client';
import {
  SERVICE_NAME_LABEL,
  type EndpointSliceObject,
  type PodObject,
  type ServiceObject,
} from './kube-objects';

/** What every record of one watcher run carries. */
export interface RecordContext {
  cluster: string;
  /** The run id as its 16 bytes. */
  runId: Buffer;
  /** The next sequence number of the run. */
  seq(): number;
  /** Now, ms since the epoch. */
  now(): number;
}

/** An RFC 3339 time → ms since the epoch; null when absent or unreadable. */
function millis(text: string | undefined | null): number | null {
  if (!text) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

/** Addresses as bytes, leaving out any that is not an IP address (none should be). */
function ipBytes(texts: readonly string[]): Buffer[] {
  const out: Buffer[] = [];
  for (const t of texts) {
    try {
      out.push(ipToBytes(t));
    } catch {
      /* not an address: left out */
    }
  }
  return out;
}

function common(o: KubeObject, ctx: RecordContext) {
  return {
    cluster: ctx.cluster,
    runId: ctx.runId,
    seq: 0,
    uid: podUidToAvro(o.metadata.uid) as Buffer | string,
    namespace: o.metadata.namespace ?? '',
    name: o.metadata.name,
    resourceVersion: o.metadata.resourceVersion,
    createdAt: millis(o.metadata.creationTimestamp) ?? 0,
    deletedAt: null as number | null,
    observedAt: 0,
  };
}

/**
 * A pod → its record (seq and observedAt are set when it is published). `owners` is the resolved
 * controller chain (see OwnerChains).
 */
export function podRecord(pod: PodObject, owners: OwnerRefV1[], ctx: RecordContext): PodV1 {
  const status = pod.status ?? {};
  const ips = status.podIPs?.length ? status.podIPs.map((p) => p.ip) : status.podIP ? [status.podIP] : [];
  return {
    ...common(pod, ctx),
    labels: { ...(pod.metadata.labels ?? {}) },
    nodeName: pod.spec?.nodeName ?? null,
    hostNetwork: pod.spec?.hostNetwork ?? false,
    ips: ipBytes(ips),
    phase: status.phase ?? null,
    owners,
    startedAt: millis(status.startTime),
    deletionRequestedAt: millis(pod.metadata.deletionTimestamp),
  };
}

export function serviceRecord(svc: ServiceObject, ctx: RecordContext): ServiceV1 {
  const spec = svc.spec ?? {};
  const headless = spec.clusterIP === 'None';
  const ips = headless
    ? []
    : spec.clusterIPs?.length
      ? spec.clusterIPs
      : spec.clusterIP
        ? [spec.clusterIP]
        : [];
  return {
    ...common(svc, ctx),
    labels: { ...(svc.metadata.labels ?? {}) },
    type: spec.type ?? 'ClusterIP',
    clusterIPs: ipBytes(ips),
    headless,
    externalName: spec.externalName ?? null,
    ports: (spec.ports ?? []).map((p) => ({
      name: p.name ?? null,
      protocol: p.protocol ?? 'TCP',
      port: p.port,
      targetPort: p.targetPort === undefined ? null : String(p.targetPort),
      nodePort: p.nodePort ?? null,
    })),
    selector: { ...(spec.selector ?? {}) },
  };
}

export function endpointSliceRecord(slice: EndpointSliceObject, ctx: RecordContext): EndpointSliceV1 {
  return {
    ...common(slice, ctx),
    serviceName: slice.metadata.labels?.[SERVICE_NAME_LABEL] ?? null,
    addressType: slice.addressType ?? 'IPv4',
    ports: (slice.ports ?? []).map((p) => ({
      name: p.name ?? null,
      protocol: p.protocol ?? null,
      port: p.port ?? null,
    })),
    endpoints: (slice.endpoints ?? []).map((e) => ({
      addresses: [...(e.addresses ?? [])],
      ready: e.conditions?.ready ?? null,
      serving: e.conditions?.serving ?? null,
      terminating: e.conditions?.terminating ?? null,
      nodeName: e.nodeName ?? null,
      targetKind: e.targetRef?.kind ?? null,
      targetName: e.targetRef?.name ?? null,
      targetUid: e.targetRef?.uid ?? null,
    })),
  };
}

/** Fields that change without the state changing: the run, the sequence, the time, and the object's version (a kubelet's status heartbeat bumps it). */
const NOT_CONTENT = new Set(['runId', 'seq', 'observedAt', 'resourceVersion']);

/**
 * What a record says, without what changes at every publication or every write of the object
 * (see NOT_CONTENT): two records with the same content describe the same state, and the second
 * is not published.
 */
export function contentOf(record: { runId: Buffer; seq: number; observedAt: number }): string {
  return JSON.stringify(record, (k, v: unknown) => {
    if (NOT_CONTENT.has(k)) return undefined;
    // Buffers (ids, addresses) as hex; map keys (labels, selectors) sorted.
    if (
      v &&
      typeof v === 'object' &&
      (v as { type?: string }).type === 'Buffer' &&
      Array.isArray((v as { data?: unknown }).data)
    )
      return Buffer.from((v as { data: number[] }).data).toString('hex');
    if (v && typeof v === 'object' && !Array.isArray(v))
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    return v;
  });
}

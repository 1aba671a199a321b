import { randomUUID } from 'node:crypto';
import type { Driver } from 'neo4j-driver';
import {
  Codec,
  ipToBytes,
  podUidToAvro,
  uuidToBytes,
  type EndpointSliceV1,
  type PodV1,
  type ServiceV1,
  type TopicMessage,
} from '../../contract';

/*
 * Cluster records as `nettopo k8s-watch` writes them, for tests of the ingest alone (the tests of
 * the watcher itself use the real API server: test/k8s-*.test.ts).
 */

const runId = uuidToBytes(randomUUID());
let seq = 0;

/** What every cluster record starts with: cluster, run, sequence, a new uid, namespace, name, version. */
function head(cluster: string, namespace: string, name: string) {
  seq += 1;
  return {
    cluster,
    runId,
    seq,
    uid: uuidToBytes(randomUUID()),
    namespace,
    name,
    resourceVersion: String(seq),
  };
}

export interface PodSpec {
  cluster: string;
  uid?: string;
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  ips?: string[];
  owners?: { kind: string; name: string }[];
  startedAt?: number | null;
  deletedAt?: number | null;
  hostNetwork?: boolean;
  observedAt?: number;
}

export function podV1(s: PodSpec): PodV1 {
  const now = s.observedAt ?? Date.now();
  return {
    ...head(s.cluster, s.namespace, s.name),
    uid: podUidToAvro(s.uid ?? randomUUID()) as Buffer | string,
    labels: s.labels ?? {},
    nodeName: 'node-1',
    hostNetwork: s.hostNetwork ?? false,
    ips: (s.ips ?? []).map(ipToBytes),
    phase: 'Running',
    owners: (s.owners ?? []).map((o) => ({ ...o, uid: randomUUID() })),
    createdAt: now - 60_000,
    startedAt: s.startedAt === undefined ? now - 50_000 : s.startedAt,
    deletionRequestedAt: null,
    deletedAt: s.deletedAt ?? null,
    observedAt: now,
  };
}

export interface ServiceSpec {
  cluster: string;
  namespace: string;
  name: string;
  clusterIPs?: string[];
  selector?: Record<string, string>;
  ports?: { name: string; port: number; targetPort: string }[];
  deletedAt?: number | null;
}

export function serviceV1(s: ServiceSpec): ServiceV1 {
  const now = Date.now();
  return {
    ...head(s.cluster, s.namespace, s.name),
    labels: {},
    type: 'ClusterIP',
    clusterIPs: (s.clusterIPs ?? []).map(ipToBytes),
    headless: false,
    externalName: null,
    ports: (s.ports ?? []).map((p) => ({ ...p, protocol: 'TCP', nodePort: null })),
    selector: s.selector ?? {},
    createdAt: now - 120_000,
    deletedAt: s.deletedAt ?? null,
    observedAt: now,
  };
}

export interface SliceSpec {
  cluster: string;
  namespace: string;
  name: string;
  serviceName: string;
  endpoints: { address: string; podUid: string; ready?: boolean }[];
  port?: number;
}

export function endpointSliceV1(s: SliceSpec): EndpointSliceV1 {
  const now = Date.now();
  return {
    ...head(s.cluster, s.namespace, s.name),
    serviceName: s.serviceName,
    addressType: 'IPv4',
    ports: [{ name: 'http', protocol: 'TCP', port: s.port ?? 8080 }],
    endpoints: s.endpoints.map((e) => ({
      addresses: [e.address],
      ready: e.ready ?? true,
      serving: null,
      terminating: null,
      nodeName: 'node-1',
      targetKind: 'Pod',
      targetName: null,
      targetUid: e.podUid,
    })),
    createdAt: now - 30_000,
    deletedAt: null,
    observedAt: now,
  };
}

/** The messages of some cluster records, keyed as the watcher keys them. */
export function clusterMessages(records: {
  pods?: PodV1[];
  services?: ServiceV1[];
  slices?: EndpointSliceV1[];
}): TopicMessage[] {
  const codec = new Codec();
  return [
    ...(records.pods ?? []).map((r) => codec.message('pod', r)),
    ...(records.services ?? []).map((r) => codec.message('service', r)),
    ...(records.slices ?? []).map((r) => codec.message('endpointslice', r)),
  ];
}

/** Removes every node a test's cluster left in Neo4j. */
export async function cleanUpCluster(driver: Driver, cluster: string): Promise<void> {
  await driver.executeQuery(
    `MATCH (n) WHERE (n:Pod OR n:Workload OR n:Service OR n:EndpointSlice OR n:IpLease) AND n.cluster = $cluster
     DETACH DELETE n`,
    { cluster },
  );
}

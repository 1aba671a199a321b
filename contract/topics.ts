import { machineIdFromBytes, podUidFromAvro } from './ids';
import { ipFromBytes } from './ip-address';
import type { TopicSpec } from './topic-spec';
import { LATEST_SCHEMA, type RecordKind } from './types.generated';

/** The kinds `nettopo k8s-watch` produces: a cluster's state as its API server describes it. */
export type ClusterKind = 'pod' | 'service' | 'endpointslice';

/** The kinds the collectors produce (every kind but the ingest's dead letters, the cluster kinds and the reports' changes). */
export type CollectorKind = Exclude<RecordKind, 'deadletter' | 'topology-change' | ClusterKind>;

/** The kinds the ingest consumes: the collectors' and the clusters'. */
export type IngestKind = CollectorKind | ClusterKind;

/**
 * The contract's topics. Traffic (flows, heartbeats) is keyed by host so that one host's records
 * stay in one partition, in order; state (processes, listeners, hosts) is compacted and keyed by
 * identity, so the topic keeps the newest record of each process, listener and host.
 */
export const TOPICS: { readonly [K in CollectorKind]: TopicSpec<K> } = {
  flow: {
    topic: 'nettopo.flows.v1',
    kind: 'flow',
    schema: LATEST_SCHEMA.flow,
    compacted: false,
    keyDescription: 'hostId',
    keyOf: (r) => machineIdFromBytes(r.hostId),
  },
  process: {
    topic: 'nettopo.processes.v1',
    kind: 'process',
    schema: LATEST_SCHEMA.process,
    compacted: true,
    keyDescription: 'hostId/pid/startTime',
    keyOf: (r) => `${machineIdFromBytes(r.hostId)}/${r.pid}/${r.startTime}`,
  },
  listener: {
    topic: 'nettopo.listeners.v1',
    kind: 'listener',
    schema: LATEST_SCHEMA.listener,
    compacted: true,
    keyDescription: 'hostId/netns/address/port',
    keyOf: (r) => `${machineIdFromBytes(r.hostId)}/${r.netns}/${ipFromBytes(r.address)}/${r.port}`,
  },
  host: {
    topic: 'nettopo.hosts.v1',
    kind: 'host',
    schema: LATEST_SCHEMA.host,
    compacted: true,
    keyDescription: 'hostId',
    keyOf: (r) => machineIdFromBytes(r.hostId),
  },
  heartbeat: {
    topic: 'nettopo.heartbeats.v1',
    kind: 'heartbeat',
    schema: LATEST_SCHEMA.heartbeat,
    compacted: false,
    keyDescription: 'hostId',
    keyOf: (r) => machineIdFromBytes(r.hostId),
  },
};

/**
 * The topics of `nettopo k8s-watch` (one per cluster): compacted, keyed by identity within the
 * cluster. A deleted object gets a last record with `deletedAt`, then a tombstone for its key.
 */
export const CLUSTER_TOPICS: { readonly [K in ClusterKind]: TopicSpec<K> } = {
  pod: {
    topic: 'nettopo.k8s.pods.v1',
    kind: 'pod',
    schema: LATEST_SCHEMA.pod,
    compacted: true,
    keyDescription: 'cluster/uid',
    keyOf: (r) => `${r.cluster}/${podUidFromAvro(r.uid) as string}`,
  },
  service: {
    topic: 'nettopo.k8s.services.v1',
    kind: 'service',
    schema: LATEST_SCHEMA.service,
    compacted: true,
    keyDescription: 'cluster/namespace/name',
    keyOf: (r) => `${r.cluster}/${r.namespace}/${r.name}`,
  },
  endpointslice: {
    topic: 'nettopo.k8s.endpointslices.v1',
    kind: 'endpointslice',
    schema: LATEST_SCHEMA.endpointslice,
    compacted: true,
    keyDescription: 'cluster/namespace/name',
    keyOf: (r) => `${r.cluster}/${r.namespace}/${r.name}`,
  },
};

/** Where the ingest puts messages it cannot process (unknown schema, malformed bytes, poison records). */
export const DEAD_LETTER_TOPIC: TopicSpec<'deadletter'> = {
  topic: 'nettopo.deadletter.v1',
  kind: 'deadletter',
  schema: LATEST_SCHEMA.deadletter,
  compacted: false,
  keyDescription: 'sourceTopic/partition/offset',
  keyOf: (r) => `${r.sourceTopic}/${r.partition}/${r.offset}`,
};

/**
 * Where the topology reports publish every change they find (reports/README.md), for alerting
 * consumers (`nettopo alerts`). Keyed by the changed entity, so the changes of one edge or node
 * stay in order in one partition.
 */
export const TOPOLOGY_CHANGE_TOPIC: TopicSpec<'topology-change'> = {
  topic: 'nettopo.topology-changes.v1',
  kind: 'topology-change',
  schema: LATEST_SCHEMA['topology-change'],
  compacted: false,
  keyDescription: 'the changed entity (edge id, Label:key, listener:hostId/netns/port)',
  keyOf: (r) => r.entity,
};

/** Every topic of the contract, dead-letter and change topics included. */
export const ALL_TOPICS: readonly TopicSpec[] = [
  ...Object.values(TOPICS),
  ...Object.values(CLUSTER_TOPICS),
  DEAD_LETTER_TOPIC,
  TOPOLOGY_CHANGE_TOPIC,
] as TopicSpec[];

/** True for the kinds `nettopo k8s-watch` writes. */
export function isClusterKind(kind: string): kind is ClusterKind {
  return Object.prototype.hasOwnProperty.call(CLUSTER_TOPICS, kind);
}

/** The topic configuration entries for kafkajs' `admin.createTopics` (`configEntries`). */
export function topicConfigEntries(spec: TopicSpec): { name: string; value: string }[] {
  return [{ name: 'cleanup.policy', value: spec.compacted ? 'compact' : 'delete' }];
}

/** The topic a kind is produced to. */
export function topicOf<K extends RecordKind>(kind: K): TopicSpec<K> {
  if (kind === 'deadletter') return DEAD_LETTER_TOPIC as unknown as TopicSpec<K>;
  if (isClusterKind(kind)) return CLUSTER_TOPICS[kind] as unknown as TopicSpec<K>;
  if (kind === 'topology-change') return TOPOLOGY_CHANGE_TOPIC as unknown as TopicSpec<K>;
  return TOPICS[kind as CollectorKind] as unknown as TopicSpec<K>;
}

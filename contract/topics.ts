import { machineIdFromBytes } from './ids';
import { ipFromBytes } from './ip-address';
import type { TopicSpec } from './topic-spec';
import { LATEST_SCHEMA, type RecordKind } from './types.generated';

/** The kinds the collectors produce (every kind but the ingest's dead letters). */
export type CollectorKind = Exclude<RecordKind, 'deadletter'>;

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

/** Where the ingest puts messages it cannot process (unknown schema, malformed bytes, poison records). */
export const DEAD_LETTER_TOPIC: TopicSpec<'deadletter'> = {
  topic: 'nettopo.deadletter.v1',
  kind: 'deadletter',
  schema: LATEST_SCHEMA.deadletter,
  compacted: false,
  keyDescription: 'sourceTopic/partition/offset',
  keyOf: (r) => `${r.sourceTopic}/${r.partition}/${r.offset}`,
};

/** Every topic of the contract, dead-letter topic included. */
export const ALL_TOPICS: readonly TopicSpec[] = [...Object.values(TOPICS), DEAD_LETTER_TOPIC] as TopicSpec[];

/** The topic configuration entries for kafkajs' `admin.createTopics` (`configEntries`). */
export function topicConfigEntries(spec: TopicSpec): { name: string; value: string }[] {
  return [{ name: 'cleanup.policy', value: spec.compacted ? 'compact' : 'delete' }];
}

/** The topic a kind is produced to. */
export function topicOf<K extends RecordKind>(kind: K): TopicSpec<K> {
  return (kind === 'deadletter'
    ? DEAD_LETTER_TOPIC
    : TOPICS[kind as CollectorKind]) as unknown as TopicSpec<K>;
}

import type { FlowRecord } from '../../contract/flow-record';
import type {
  ClusterKind,
  ContractRecords,
  HeartbeatV1,
  HostV2,
  ListenerV1,
  ProcessV2,
} from '../../contract';

/**
 * A record of `nettopo k8s-watch` (pod, Service, EndpointSlice) with its message key, or a
 * tombstone for that key (`record` null: the object is gone).
 */
export interface ClusterMessage {
  offset: number;
  kind: ClusterKind;
  key: string;
  record: ContractRecords[ClusterKind] | null;
  /** The message's timestamp (ms since the epoch): when a tombstone's object was known gone. */
  at: number;
}

/** A message that passed validation, with its source offset. */
export type DecodedMessage =
  | { offset: number; kind: 'flow'; record: FlowRecord }
  | { offset: number; kind: 'process'; record: ProcessV2 }
  | { offset: number; kind: 'listener'; record: ListenerV1 }
  | { offset: number; kind: 'host'; record: HostV2 }
  | { offset: number; kind: 'heartbeat'; record: HeartbeatV1 }
  | ClusterMessage;

/** What one transaction did for one topic-partition. */
export interface PartitionResult {
  topic: string;
  partition: number;
  /** Next offset to consume, now stored in Neo4j. */
  nextOffset: number;
  /** Valid records applied (offsets below the stored progress are skipped). */
  records: number;
  /** Records rejected to the dead-letter topic and counted. */
  deadLetters: number;
}

/** What one committed transaction did (it may cover batches of several topic-partitions). */
export interface TransactionResult {
  partitions: PartitionResult[];
  /** Valid records applied, all partitions together. */
  records: number;
  /** Records rejected to the dead-letter topic and counted by this transaction. */
  deadLetters: number;
  /** Flow records left after keeping the newest record of each flow. */
  flows: number;
  /** Connections whose state changed. */
  connections: number;
  /** CONNECTS_TO rows upserted (all levels). */
  edgeUpserts: number;
  /** closedAt of every flow record applied that ends a flow (for visibility measurements). */
  closedAt: number[];
  /** When the transaction committed (ms since the epoch). */
  committedAt: number;
  /** How long Neo4j took, from the transaction's start to its commit (the attempt that committed), ms. */
  durationMs: number;
}

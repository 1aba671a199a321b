import type { ContractRecords, RecordKind, SchemaName } from './types.generated';

/** One Kafka topic of the contract. */
export interface TopicSpec<K extends RecordKind = RecordKind> {
  /** Topic name; its `.vN` suffix changes only on an incompatible contract change. */
  readonly topic: string;
  /** The record kind every message of the topic carries. */
  readonly kind: K;
  /** The newest schema written to it; readers also accept older versions of the kind. */
  readonly schema: SchemaName;
  /** `cleanup.policy=compact` (state keyed by identity) rather than `delete` (time retention). */
  readonly compacted: boolean;
  /** What the message key is, in words. */
  readonly keyDescription: string;
  /** The message key of a record. */
  keyOf(record: ContractRecords[K]): string;
}

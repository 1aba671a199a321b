import type { CollectorKind } from './topics';
import type { ContractRecords } from './types.generated';

/**
 * Where a collector's contract records go (Kafka, a test's array). `send` never blocks and never
 * throws for a full or unreachable destination: it buffers or counts a drop.
 */
export interface RecordSink {
  send<K extends CollectorKind>(kind: K, record: ContractRecords[K]): void;
  /** Records dropped because the destination's buffer was full, since the start. */
  readonly dropped: number;
}

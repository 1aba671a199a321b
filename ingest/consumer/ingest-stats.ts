/** Counters of one ingest process since it started (the exactly-once figures are in Neo4j's IngestProgress). */
export interface IngestStats {
  /** Transactions committed (each may cover batches of several partitions). */
  transactions: number;
  /** Kafka batches applied. */
  batches: number;
  records: number;
  flows: number;
  edgeUpserts: number;
  deadLetters: number;
  /** Transactions retried because Neo4j was unreachable. */
  graphRetries: number;
  /** Whether consumption is paused waiting for Neo4j. */
  waitingForGraph: boolean;
}

import type { Logger } from '../../common/log';
import type { IngestKind } from '../../contract';
import type { GraphConnection } from '../../graph-schema/graph-driver';
import type { HistoryOptions } from '../history/history-writer';
import type { KafkaSettings } from '../../kafka/kafka-config';

/** Options of {@link IngestService}. */
export interface IngestOptions {
  /** How to reach Kafka: brokers, SASL, TLS (`kafkaSettings()`); wins over {@link IngestOptions.brokers}. */
  kafka?: KafkaSettings;
  /** Kafka brokers, plaintext. @defaultValue `[connectionUrls().kafkaBroker]` (NETTOPO_KAFKA_PORT) */
  brokers?: string[];
  /** Consumer group; progress in Neo4j is kept per group. @defaultValue `'nettopo-ingest'` */
  groupId?: string;
  /** Prepended to every topic name (tests, several fleets on one cluster). @defaultValue `''` */
  topicPrefix?: string;
  /** Which record kinds to consume. @defaultValue every collector kind (flow, process, listener, host, heartbeat) and every cluster kind (pod, service, endpointslice) */
  kinds?: IngestKind[];
  /** Neo4j to write to. @defaultValue the local stack's (see `createGraphDriver`) */
  neo4j?: GraphConnection;
  /** Apply the graph schema's migrations at start. @defaultValue `true` */
  migrate?: boolean;
  /** Create missing topics at start (the dead-letter topic included). @defaultValue `true` */
  createTopics?: boolean;
  /** Partitions of topics the ingest creates. @defaultValue `3` */
  topicPartitions?: number;
  /**
   * Records one transaction takes at most. Batches fetched and decoded while a transaction runs
   * wait for the next one, which takes them all (every partition) up to this bound.
   * @defaultValue `50000`
   */
  maxTransactionRecords?: number;
  /** Fetch size per partition (a Kafka batch). @defaultValue `4 MiB` */
  maxBytesPerPartition?: number;
  /** First back-off while Neo4j is unreachable; doubles up to {@link IngestOptions.maxBackoffMs}. @defaultValue `250` */
  initialBackoffMs?: number;
  /** @defaultValue `5000` */
  maxBackoffMs?: number;
  /** Apply each record in its own transaction (the naive baseline of the bench; never in production). @defaultValue `false` */
  oneRecordPerTransaction?: boolean;
  /** The topology history recorded with the edges (bucket size, retention). @defaultValue 5-minute buckets kept 7 days */
  history?: HistoryOptions;
  /** @defaultValue a logger named `ingest` */
  logger?: Logger;
}

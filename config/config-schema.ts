import { z } from 'zod';
import { LOG_FORMATS, LOG_LEVELS } from '../common/log';

/**
 * The config file (`--config <file>` or NETTOPO_CONFIG): one YAML document for every command, so a
 * fleet ships one file per role (a collector host, an ingest instance). Every object is strict: a
 * key this build does not know is an error naming it, as is a value of the wrong type.
 *
 * Precedence for every setting: command-line flags, then environment variables, then this file,
 * then the defaults. The command sections hold the same settings as the command's flags, under
 * the flag's camelCase name (`--max-transaction-records` → `maxTransactionRecords`), and each value
 * goes through the flag's own check (a bad number is refused the same way on either path).
 */

const text = z.string().min(1);
const positive = z.number().positive();
const count = z.number().int().positive();

/** A password in the file, or (better) the path of a file holding it. Never both. */
const secret = {
  /** Discouraged: the config file then holds a secret. Prefer `passwordFile` or the environment. */
  password: z.string().optional(),
  /** A file holding the password (a mounted Secret); one trailing newline is ignored. */
  passwordFile: text.optional(),
};

export const kafkaSection = z.strictObject({
  /** `host:port` of the bootstrap brokers: a list, or one comma-separated string. */
  brokers: z.union([text, z.array(text).min(1)]).optional(),
  clientId: text.optional(),
  /** Prefix of every topic name (each command's `--topic-prefix`). */
  topicPrefix: z.string().optional(),
  connectTimeoutMs: count.optional(),
  sasl: z
    .strictObject({
      mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
      username: text,
      ...secret,
    })
    .optional(),
  tls: z
    .strictObject({
      /** TLS with the system's CAs (implied by any of the files below). */
      enabled: z.boolean().optional(),
      /** PEM file of the CA(s) to trust. */
      caFile: text.optional(),
      /** Client certificate and key (PEM files), for mutual TLS. */
      certFile: text.optional(),
      keyFile: text.optional(),
      /** Skip verifying the broker's certificate. */
      insecure: z.boolean().optional(),
    })
    .optional(),
});

export const neo4jSection = z.strictObject({
  /** `bolt://`, `neo4j://`, or with `+s` (TLS, system CAs) / `+ssc` (TLS, any certificate). */
  uri: z
    .string()
    .regex(
      /^(bolt|neo4j)(\+s|\+ssc)?:\/\/[^/\s]+\/?$/,
      'must be bolt://host:port or neo4j://host:port (+s, +ssc)',
    )
    .optional(),
  user: text.optional(),
  ...secret,
  database: text.optional(),
  connectTimeoutMs: count.optional(),
  tls: z
    .strictObject({
      /** PEM file of the CA to trust (with a `bolt://` or `neo4j://` URI: turns TLS on). */
      caFile: text.optional(),
    })
    .optional(),
});

export const redisSection = z.strictObject({
  /** `redis://host:port[/db]` or `rediss://` (TLS). */
  url: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, 'must be redis://host:port or rediss://host:port')
    .optional(),
  username: text.optional(),
  ...secret,
});

export const logSection = z.strictObject({
  level: z.enum(LOG_LEVELS as [string, ...string[]]).optional(),
  format: z.enum(LOG_FORMATS as [string, ...string[]]).optional(),
});

export const metricsSection = z.strictObject({
  /** `host:port`, a port (on 127.0.0.1), or `off`. */
  address: z.union([z.string(), z.number().int()]).optional(),
});

/** `nettopo collect`: the settings of a collector host (flags of the same names). */
export const collectSection = z.strictObject({
  interval: positive.optional(),
  format: z.enum(['json', 'table', 'none']).optional(),
  /** true: produce to Kafka (the brokers of `kafka:`), as `--kafka` without a value. */
  kafka: z.boolean().optional(),
  partitions: count.optional(),
  retentionHours: positive.optional(),
  bufferMb: positive.optional(),
  compression: z.enum(['gzip', 'none']).optional(),
  maxRecordBytes: count.optional(),
  heartbeat: positive.optional(),
  hostInterval: positive.optional(),
  stopTimeout: positive.optional(),
  maxFlows: count.optional(),
  hostId: text.optional(),
  netns: z.array(text).optional(),
  scrubWords: z.array(text).optional(),
  scrub: z.boolean().optional(),
});

/** `nettopo ingest`. */
export const ingestSection = z.strictObject({
  group: text.optional(),
  maxTransactionRecords: count.optional(),
  maxBatchBytes: count.optional(),
  migrate: z.boolean().optional(),
  statsInterval: count.optional(),
});

/** `nettopo k8s-watch`. */
export const k8sWatchSection = z.strictObject({
  kubeconfig: text.optional(),
  cluster: text.optional(),
  partitions: count.optional(),
  watchTimeout: count.optional(),
});

/**
 * `nettopo reports` and `nettopo alerts` — left for that work to fill: their settings go here, one
 * key per flag as in the sections above (schedules and rules may stay in their own files, named
 * here). Until then the sections must be empty, so a key put in them is reported, not ignored.
 */
export const reportsSection = z.strictObject({});
export const alertsSection = z.strictObject({});

export const configSchema = z.strictObject({
  log: logSection.optional(),
  metrics: metricsSection.optional(),
  kafka: kafkaSection.optional(),
  neo4j: neo4jSection.optional(),
  redis: redisSection.optional(),
  collect: collectSection.optional(),
  ingest: ingestSection.optional(),
  k8sWatch: k8sWatchSection.optional(),
  reports: reportsSection.optional(),
  alerts: alertsSection.optional(),
});

export type NettopoConfig = z.infer<typeof configSchema>;
export type KafkaFileSettings = z.infer<typeof kafkaSection>;
export type Neo4jFileSettings = z.infer<typeof neo4jSection>;
export type RedisFileSettings = z.infer<typeof redisSection>;

/** The command sections, by command name, and the key each has in the file. */
export const COMMAND_SECTIONS = {
  collect: { key: 'collect', schema: collectSection },
  ingest: { key: 'ingest', schema: ingestSection },
  'k8s-watch': { key: 'k8sWatch', schema: k8sWatchSection },
} as const;

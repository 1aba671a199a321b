import type { Command } from 'commander';
import {
  describeGraphConnection,
  graphConnection,
  graphError,
  type GraphConnection,
} from '../../graph-schema/graph-driver';
import { kafkaConnectError } from '../../kafka/errors';
import { kafkaSettings, type KafkaSettings } from '../../kafka/kafka-config';
import { redisSettings, type RedisSettings } from '../../config/redis-settings';
import { connectionUrls } from '../../stack/stack-config';
import { configOf } from '../command-config';

/**
 * The flags that say where the servers are, shared by every command that talks to them. Secrets
 * are never flags (a flag shows in `ps`): a password comes from a file (`--…-password-file`),
 * the environment or the config file.
 */

/** Adds the Kafka flags; `brokers` false leaves `--brokers` out (`collect` has `--kafka [brokers]`). */
export function kafkaOptions(command: Command, { brokers = true } = {}): Command {
  if (brokers)
    command.option(
      '-b, --brokers <list>',
      'Kafka host:port,... (default NETTOPO_KAFKA_BROKERS, kafka.brokers, else the local stack)',
    );
  return command
    .option(
      '--kafka-sasl-mechanism <m>',
      'plain, scram-sha-256 or scram-sha-512 (NETTOPO_KAFKA_SASL_MECHANISM)',
    )
    .option('--kafka-sasl-username <user>', 'SASL user (NETTOPO_KAFKA_SASL_USERNAME)')
    .option(
      '--kafka-sasl-password-file <file>',
      'file holding the SASL password (NETTOPO_KAFKA_SASL_PASSWORD or _FILE)',
    )
    .option('--kafka-tls', 'TLS with the system CAs (NETTOPO_KAFKA_TLS=1)')
    .option('--kafka-tls-ca <file>', 'PEM of the CA to trust (NETTOPO_KAFKA_TLS_CA)')
    .option('--kafka-tls-cert <file>', 'client certificate PEM (NETTOPO_KAFKA_TLS_CERT)')
    .option('--kafka-tls-key <file>', 'client key PEM (NETTOPO_KAFKA_TLS_KEY)')
    .option('--kafka-tls-insecure', "do not verify the broker's certificate (NETTOPO_KAFKA_TLS_INSECURE=1)");
}

/** The values of {@link kafkaOptions}. */
export interface KafkaOptionValues {
  brokers?: string;
  kafkaSaslMechanism?: string;
  kafkaSaslUsername?: string;
  kafkaSaslPasswordFile?: string;
  kafkaTls?: boolean;
  kafkaTlsCa?: string;
  kafkaTlsCert?: string;
  kafkaTlsKey?: string;
  kafkaTlsInsecure?: boolean;
}

/** Kafka settings of a command: its flags, NETTOPO_KAFKA_*, its config file, the local stack's Kafka. */
export function kafkaSettingsOf(
  command: Command,
  flags: KafkaOptionValues,
  extra: { brokers?: string; clientId?: string } = {},
): KafkaSettings {
  const loaded = configOf(command);
  const file = loaded?.config.kafka;
  return kafkaSettings(
    {
      brokers: extra.brokers ?? flags.brokers,
      clientId: extra.clientId,
      saslMechanism: flags.kafkaSaslMechanism,
      saslUsername: flags.kafkaSaslUsername,
      saslPasswordFile: flags.kafkaSaslPasswordFile,
      tls: flags.kafkaTls,
      tlsCa: flags.kafkaTlsCa,
      tlsCert: flags.kafkaTlsCert,
      tlsKey: flags.kafkaTlsKey,
      tlsInsecure: flags.kafkaTlsInsecure,
    },
    process.env,
    { ...file, brokers: file?.brokers ?? connectionUrls().kafkaBroker, source: loaded?.file },
  );
}

/** Adds the Neo4j flags. */
export function neo4jOptions(command: Command): Command {
  return command
    .option(
      '--neo4j-uri <uri>',
      'Bolt URI, e.g. neo4j+s://graph:7687 (default NETTOPO_NEO4J_URI, neo4j.uri, else the local stack)',
    )
    .option('--neo4j-user <user>', 'Neo4j user (NETTOPO_NEO4J_USER; default neo4j)')
    .option(
      '--neo4j-password-file <file>',
      'file holding the Neo4j password (NETTOPO_NEO4J_PASSWORD or _FILE)',
    )
    .option('--neo4j-database <name>', 'database (NETTOPO_NEO4J_DATABASE; default neo4j)');
}

/** The values of {@link neo4jOptions}. */
export interface Neo4jOptionValues {
  neo4jUri?: string;
  neo4jUser?: string;
  neo4jPasswordFile?: string;
  neo4jDatabase?: string;
}

/** The Neo4j connection of a command: its flags, NETTOPO_NEO4J_*, its config file, the local stack's. */
export function graphConnectionOf(command: Command, flags: Neo4jOptionValues): GraphConnection {
  const loaded = configOf(command);
  return graphConnection(flags, process.env, { ...loaded?.config.neo4j, source: loaded?.file });
}

export { describeGraphConnection };

/** Redis settings of a command (for `reports`): NETTOPO_REDIS_*, its config file, the local stack's. */
export function redisSettingsOf(
  command: Command,
  flags: { redisUrl?: string; redisPasswordFile?: string } = {},
): RedisSettings {
  const loaded = configOf(command);
  return redisSettings(flags, process.env, loaded?.config.redis, connectionUrls().redis, loaded?.file);
}

/**
 * What a server threw, as one line naming the server and the cause: Neo4j's driver errors through
 * `graphError`, kafkajs' through `kafkaConnectError` (refused credentials, out of reach).
 */
export function serverError(
  err: unknown,
  servers: { kafka?: KafkaSettings; graph?: GraphConnection },
): unknown {
  const e = err as Error & { code?: unknown };
  if (
    servers.graph &&
    typeof e.code === 'string' &&
    (e.code.startsWith('Neo.') || /^(ServiceUnavailable|SessionExpired)$/.test(e.code))
  )
    return graphError(err, servers.graph);
  for (let c: unknown = err; c instanceof Error; c = c.cause)
    if (servers.kafka && c.name.startsWith('KafkaJS'))
      return kafkaConnectError(c, servers.kafka.brokers.join(','));
  return err;
}

/** Brokers of a command that takes only `--brokers`: the flag, NETTOPO_KAFKA_BROKERS, else the local stack. */
export function brokersOf(flag: string | undefined): string {
  return flag || process.env.NETTOPO_KAFKA_BROKERS || connectionUrls().kafkaBroker;
}

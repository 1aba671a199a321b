import '../patches/kafkajs'; // before kafkajs: see the module
import { readFileSync } from 'node:fs';
import { type KafkaConfig, logLevel, type LogEntry, type SASLOptions } from 'kafkajs';
import { ConfigError } from '../common/errors';
import { resolvePassword } from '../common/secret';
import { kafkajsLogSummary } from './kafka-log';

/** SASL mechanisms kafkajs supports without plugins. */
export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/**
 * How to reach Kafka: brokers, client id, SASL and TLS. Built by {@link kafkaSettings} from
 * command-line values and NETTOPO_KAFKA_* environment variables; turned into a kafkajs
 * `KafkaConfig` by {@link kafkaClientConfig}. Secrets are read here and never logged
 * ({@link describeKafkaSettings} prints a redacted view).
 */
export interface KafkaSettings {
  /** `host:port` of each bootstrap broker (NETTOPO_KAFKA_BROKERS, comma separated). */
  brokers: string[];
  /**
   * kafkajs client id (NETTOPO_KAFKA_CLIENT_ID).
   * @defaultValue `'nettopo'`
   */
  clientId: string;
  /** SASL authentication; undefined when NETTOPO_KAFKA_SASL_MECHANISM is unset. */
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  /**
   * TLS; undefined for plaintext. On when NETTOPO_KAFKA_TLS=1 or any of the CA/cert/key files is given.
   */
  tls?: {
    /** PEM of the CA(s) to trust (NETTOPO_KAFKA_TLS_CA, a file); the system's when absent. */
    ca?: string;
    /** Client certificate PEM (NETTOPO_KAFKA_TLS_CERT, a file), for mutual TLS. */
    cert?: string;
    /** Client key PEM (NETTOPO_KAFKA_TLS_KEY, a file). */
    key?: string;
    /**
     * Verify the broker's certificate (NETTOPO_KAFKA_TLS_INSECURE=1 turns it off).
     * @defaultValue `true`
     */
    rejectUnauthorized: boolean;
  };
  /**
   * Connection timeout, ms (NETTOPO_KAFKA_CONNECT_TIMEOUT_MS).
   * @defaultValue `3000`
   */
  connectionTimeoutMs: number;
}

/** Values from the command line; they win over the environment. */
export interface KafkaFlags {
  /** Comma-separated `host:port` list. */
  brokers?: string;
  clientId?: string;
  saslMechanism?: string;
  saslUsername?: string;
  /** A file holding the SASL password (a password is never a flag: it would show in `ps`). */
  saslPasswordFile?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsInsecure?: boolean;
}

/**
 * The `kafka:` section of a config file (see config/config-schema.ts), the layer under the
 * environment; `brokers` there may also carry the caller's default (the local stack's Kafka).
 */
export interface KafkaFileLayer {
  brokers?: string | string[];
  clientId?: string;
  connectTimeoutMs?: number;
  sasl?: { mechanism: string; username: string; password?: string; passwordFile?: string };
  tls?: { enabled?: boolean; caFile?: string; certFile?: string; keyFile?: string; insecure?: boolean };
  /** Where this layer came from, for errors. @defaultValue `'the config file'` */
  source?: string;
}

const MECHANISMS: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];

/** The PEM file named by the first layer that names one. */
function readPem(from: [string, string] | undefined): string | undefined {
  if (!from) return undefined;
  const [file, name] = from;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}

/** Parses a comma-separated broker list; every entry must be `host:port`. */
export function parseBrokers(list: string): string[] {
  const brokers = list
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0)
    throw new ConfigError('no Kafka broker given (--brokers, NETTOPO_KAFKA_BROKERS or kafka.brokers)');
  for (const b of brokers) {
    const m = /^(.+):(\d+)$/.exec(b);
    if (!m || !Number.isInteger(Number(m[2])) || Number(m[2]) < 1 || Number(m[2]) > 65535)
      throw new ConfigError(`Kafka broker '${b}' is not host:port`);
  }
  return brokers;
}

/** The first of the values that is set (not undefined, not ''), with the name of its layer. */
function first<T>(...candidates: [T | undefined | '', string][]): [T, string] | undefined {
  for (const [value, name] of candidates) if (value !== undefined && value !== '') return [value as T, name];
  return undefined;
}

/**
 * Kafka settings from flags, then NETTOPO_KAFKA_* variables, then a config file's `kafka:` section.
 * Secrets: NETTOPO_KAFKA_SASL_PASSWORD or NETTOPO_KAFKA_SASL_PASSWORD_FILE, the file's
 * `sasl.password` or `sasl.passwordFile`, or `--kafka-sasl-password-file`.
 * @throws ConfigError on a missing broker list, an unknown SASL mechanism, a SASL mechanism without
 * user or password, or an unreadable TLS or password file — naming the flag, variable or key.
 */
export function kafkaSettings(
  flags: KafkaFlags = {},
  env: NodeJS.ProcessEnv = process.env,
  file: KafkaFileLayer = {},
): KafkaSettings {
  const src = file.source ?? 'the config file';
  const fileBrokers = Array.isArray(file.brokers) ? file.brokers.join(',') : file.brokers;
  const timeout = first<string | number>(
    [env.NETTOPO_KAFKA_CONNECT_TIMEOUT_MS, 'NETTOPO_KAFKA_CONNECT_TIMEOUT_MS'],
    [file.connectTimeoutMs, `kafka.connectTimeoutMs in ${src}`],
  ) ?? [3000, ''];
  const settings: KafkaSettings = {
    brokers: parseBrokers(flags.brokers || env.NETTOPO_KAFKA_BROKERS || fileBrokers || ''),
    clientId: flags.clientId || env.NETTOPO_KAFKA_CLIENT_ID || file.clientId || 'nettopo',
    connectionTimeoutMs: Number(timeout[0]),
  };
  if (!Number.isInteger(settings.connectionTimeoutMs) || settings.connectionTimeoutMs <= 0)
    throw new ConfigError(`${timeout[1]} must be a positive number of ms, got '${timeout[0]}'`);
  const mechanism = first<string>(
    [flags.saslMechanism, '--kafka-sasl-mechanism'],
    [env.NETTOPO_KAFKA_SASL_MECHANISM, 'NETTOPO_KAFKA_SASL_MECHANISM'],
    [file.sasl?.mechanism, `kafka.sasl.mechanism in ${src}`],
  );
  if (mechanism) {
    const [value, name] = mechanism;
    if (!(MECHANISMS as readonly string[]).includes(value.toLowerCase()))
      throw new ConfigError(`${name} must be one of ${MECHANISMS.join(', ')}, got '${value}'`);
    const username = flags.saslUsername || env.NETTOPO_KAFKA_SASL_USERNAME || file.sasl?.username;
    const password = resolvePassword(
      { value: flags.saslPasswordFile, flag: '--kafka-sasl-password-file' },
      env,
      'NETTOPO_KAFKA_SASL_PASSWORD',
      { ...file.sasl, key: 'kafka.sasl', source: file.source },
    );
    if (!username || password === undefined)
      throw new ConfigError(
        `SASL (${name}) needs a user and a password: NETTOPO_KAFKA_SASL_USERNAME and NETTOPO_KAFKA_SASL_PASSWORD(_FILE), or kafka.sasl.username and kafka.sasl.passwordFile (the password is never logged)`,
      );
    settings.sasl = { mechanism: value.toLowerCase() as SaslMechanism, username, password };
  }
  const ca = readPem(
    first<string>(
      [flags.tlsCa, '--kafka-tls-ca'],
      [env.NETTOPO_KAFKA_TLS_CA, 'NETTOPO_KAFKA_TLS_CA'],
      [file.tls?.caFile, `kafka.tls.caFile in ${src}`],
    ),
  );
  const cert = readPem(
    first<string>(
      [flags.tlsCert, '--kafka-tls-cert'],
      [env.NETTOPO_KAFKA_TLS_CERT, 'NETTOPO_KAFKA_TLS_CERT'],
      [file.tls?.certFile, `kafka.tls.certFile in ${src}`],
    ),
  );
  const key = readPem(
    first<string>(
      [flags.tlsKey, '--kafka-tls-key'],
      [env.NETTOPO_KAFKA_TLS_KEY, 'NETTOPO_KAFKA_TLS_KEY'],
      [file.tls?.keyFile, `kafka.tls.keyFile in ${src}`],
    ),
  );
  const tlsOn = flags.tls || env.NETTOPO_KAFKA_TLS === '1' || file.tls?.enabled === true;
  if (tlsOn || ca || cert || key) {
    if (!!cert !== !!key) throw new ConfigError('a Kafka TLS client certificate and its key go together');
    const insecure =
      flags.tlsInsecure || env.NETTOPO_KAFKA_TLS_INSECURE === '1' || file.tls?.insecure === true;
    settings.tls = { rejectUnauthorized: !insecure };
    if (ca) settings.tls.ca = ca;
    if (cert) settings.tls.cert = cert;
    if (key) settings.tls.key = key;
  }
  return settings;
}

/** A one-line description for logs: brokers, client id, SASL mechanism and user, TLS — never a secret. */
export function describeKafkaSettings(s: KafkaSettings): string {
  const parts = [`brokers ${s.brokers.join(',')}`, `client id ${s.clientId}`];
  parts.push(s.sasl ? `SASL ${s.sasl.mechanism} as ${s.sasl.username}` : 'no SASL');
  parts.push(
    s.tls
      ? `TLS${s.tls.ca ? ' (own CA)' : ''}${s.tls.cert ? ' (client cert)' : ''}${s.tls.rejectUnauthorized ? '' : ' (unverified)'}`
      : 'plaintext',
  );
  return parts.join(', ');
}

/**
 * kafkajs' `logCreator`: its messages go through common/log, its retries summarised
 * ({@link KafkajsLogSummary}: one line per complaint, then a count).
 */
export function kafkaLogCreator(): (entry: LogEntry) => void {
  return kafkajsLogSummary().logCreator();
}

/** The kafkajs client configuration of some settings. */
export function kafkaClientConfig(s: KafkaSettings): KafkaConfig {
  const config: KafkaConfig = {
    clientId: s.clientId,
    brokers: s.brokers,
    connectionTimeout: s.connectionTimeoutMs,
    logLevel: logLevel.INFO,
    logCreator: kafkaLogCreator,
    retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: 5 },
  };
  if (s.sasl) config.sasl = { ...s.sasl } as SASLOptions;
  if (s.tls) config.ssl = { ...s.tls };
  return config;
}

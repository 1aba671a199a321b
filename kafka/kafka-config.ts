import '../patches/kafkajs'; // before kafkajs: see the module
import { readFileSync } from 'node:fs';
import { type KafkaConfig, logLevel, type LogEntry, type SASLOptions } from 'kafkajs';
import { ConfigError } from '../common/errors';
import { createLogger } from '../common/log';

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
}

const MECHANISMS: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];

function readPem(name: string, file: string | undefined): string | undefined {
  if (!file) return undefined;
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
  if (brokers.length === 0) throw new ConfigError('no Kafka broker given (--kafka or NETTOPO_KAFKA_BROKERS)');
  for (const b of brokers) {
    const m = /^(.+):(\d+)$/.exec(b);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
      throw new ConfigError(`Kafka broker '${b}' is not host:port`);
  }
  return brokers;
}

/**
 * Kafka settings from flags, then NETTOPO_KAFKA_* variables.
 * @throws ConfigError on a missing broker list, an unknown SASL mechanism, a SASL mechanism without
 * user or password, or an unreadable TLS file.
 */
export function kafkaSettings(flags: KafkaFlags = {}, env: NodeJS.ProcessEnv = process.env): KafkaSettings {
  const settings: KafkaSettings = {
    brokers: parseBrokers(flags.brokers || env.NETTOPO_KAFKA_BROKERS || ''),
    clientId: flags.clientId || env.NETTOPO_KAFKA_CLIENT_ID || 'nettopo',
    connectionTimeoutMs: Number(env.NETTOPO_KAFKA_CONNECT_TIMEOUT_MS || 3000),
  };
  if (!Number.isFinite(settings.connectionTimeoutMs) || settings.connectionTimeoutMs <= 0)
    throw new ConfigError('NETTOPO_KAFKA_CONNECT_TIMEOUT_MS must be a positive number of ms');
  const mechanism = env.NETTOPO_KAFKA_SASL_MECHANISM?.toLowerCase();
  if (mechanism) {
    if (!(MECHANISMS as readonly string[]).includes(mechanism))
      throw new ConfigError(
        `NETTOPO_KAFKA_SASL_MECHANISM must be one of ${MECHANISMS.join(', ')}, got '${mechanism}'`,
      );
    const username = env.NETTOPO_KAFKA_SASL_USERNAME;
    const password = env.NETTOPO_KAFKA_SASL_PASSWORD;
    if (!username || password === undefined)
      throw new ConfigError(
        'SASL needs NETTOPO_KAFKA_SASL_USERNAME and NETTOPO_KAFKA_SASL_PASSWORD (the password is never logged)',
      );
    settings.sasl = { mechanism: mechanism as SaslMechanism, username, password };
  }
  const ca = readPem('NETTOPO_KAFKA_TLS_CA', env.NETTOPO_KAFKA_TLS_CA);
  const cert = readPem('NETTOPO_KAFKA_TLS_CERT', env.NETTOPO_KAFKA_TLS_CERT);
  const key = readPem('NETTOPO_KAFKA_TLS_KEY', env.NETTOPO_KAFKA_TLS_KEY);
  if (env.NETTOPO_KAFKA_TLS === '1' || ca || cert || key) {
    if (!!cert !== !!key)
      throw new ConfigError('NETTOPO_KAFKA_TLS_CERT and NETTOPO_KAFKA_TLS_KEY go together');
    settings.tls = { rejectUnauthorized: env.NETTOPO_KAFKA_TLS_INSECURE !== '1' };
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

const kafkaLog = createLogger('kafkajs');

/**
 * kafkajs' `logCreator`: its messages go through common/log. kafkajs is chatty at info (every
 * connect, every group rebalance), so its info becomes our debug; its errors become warnings,
 * since the callers retry and report what matters themselves.
 */
export function kafkaLogCreator(): (entry: LogEntry) => void {
  return ({ namespace, level, log }) => {
    const { message, ...extra } = log as { message: string; timestamp?: string; logger?: string };
    delete extra.timestamp;
    delete extra.logger;
    const detail = Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : '';
    const line = `${namespace}: ${message}${detail}`;
    if (level === logLevel.ERROR || level === logLevel.WARN) kafkaLog.warn(line);
    else kafkaLog.debug(line);
  };
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

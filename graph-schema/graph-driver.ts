import neo4j, { type Config, type Driver } from 'neo4j-driver';
import { ConfigError, NettopoError, UnauthorizedError, UnreachableError } from '../common/errors';
import { resolvePassword } from '../common/secret';
import { connectionUrls, stackConfig } from '../stack/stack-config';
import { enableBoltTcpNoDelay, installBoltChunking, installBoltPrimitives } from '../patches/neo4j-driver';

/** Where and how to reach Neo4j. */
export interface GraphConnection {
  /** Bolt URL. @defaultValue `connectionUrls().neo4jBolt` (NETTOPO_NEO4J_BOLT_PORT) */
  url?: string;
  /** @defaultValue `stackConfig().neo4j.user` (NETTOPO_NEO4J_USER) */
  user?: string;
  /** @defaultValue `stackConfig().neo4j.password` (NETTOPO_NEO4J_PASSWORD) */
  password?: string;
  /** Database name; Community Edition has only `neo4j`. @defaultValue `'neo4j'` */
  database?: string;
  /** PEM file of a CA to trust; with a `bolt://` or `neo4j://` URL it turns TLS on. */
  trustedCaFile?: string;
  /** How long one connection attempt may take. @defaultValue `5000` */
  connectTimeoutMs?: number;
}

/** Values from the command line; they win over the environment. */
export interface GraphFlags {
  neo4jUri?: string;
  neo4jUser?: string;
  /** A file holding the password (a password is never a flag: it would show in `ps`). */
  neo4jPasswordFile?: string;
  neo4jDatabase?: string;
}

/** A config file's `neo4j:` section (see config/config-schema.ts), the layer under the environment. */
export interface GraphFileLayer {
  uri?: string;
  user?: string;
  password?: string;
  passwordFile?: string;
  database?: string;
  connectTimeoutMs?: number;
  tls?: { caFile?: string };
  /** Where this layer came from, for errors. @defaultValue `'the config file'` */
  source?: string;
}

const URL_PATTERN = /^(bolt|neo4j)(\+s|\+ssc)?:\/\/[^/\s]+\/?$/;

/**
 * The Neo4j connection from flags, then NETTOPO_NEO4J_URI / _USER / _PASSWORD (or _PASSWORD_FILE) /
 * _DATABASE / _TLS_CA, then a config file's `neo4j:` section, then the local stack's.
 * @throws ConfigError on a URL that is not Bolt, or an unreadable password file.
 */
export function graphConnection(
  flags: GraphFlags = {},
  env: NodeJS.ProcessEnv = process.env,
  file: GraphFileLayer = {},
): GraphConnection {
  const url =
    flags.neo4jUri || env.NETTOPO_NEO4J_URI || file.uri || connectionUrls(stackConfig({}, env)).neo4jBolt;
  if (!URL_PATTERN.test(url))
    throw new ConfigError(
      `Neo4j URI '${url}' must be bolt://host:port or neo4j://host:port (+s for TLS, +ssc for TLS with any certificate)`,
    );
  const connection: GraphConnection = {
    url,
    user: flags.neo4jUser || env.NETTOPO_NEO4J_USER || file.user || 'neo4j',
    database: flags.neo4jDatabase || env.NETTOPO_NEO4J_DATABASE || file.database || 'neo4j',
  };
  const password = resolvePassword(
    { value: flags.neo4jPasswordFile, flag: '--neo4j-password-file' },
    env,
    'NETTOPO_NEO4J_PASSWORD',
    {
      ...file,
      key: 'neo4j',
    },
  );
  if (password !== undefined) connection.password = password;
  const ca = env.NETTOPO_NEO4J_TLS_CA || file.tls?.caFile;
  if (ca) {
    if (/\+s{1,2}c?:/.test(url))
      throw new ConfigError(
        `Neo4j URI '${url}' already chooses its certificate check (+s, +ssc): a CA file goes with bolt:// or neo4j://`,
      );
    connection.trustedCaFile = ca;
  }
  if (file.connectTimeoutMs) connection.connectTimeoutMs = file.connectTimeoutMs;
  return connection;
}

/** For logs: URL, user, database, TLS — never the password. */
export function describeGraphConnection(c: GraphConnection): string {
  return `${c.url} as ${c.user ?? 'neo4j'}, database ${c.database ?? 'neo4j'}${c.trustedCaFile ? ', TLS (own CA)' : ''}`;
}

/** A driver for the configured Neo4j (the local stack's unless told otherwise). */
export function createGraphDriver(connection: GraphConnection = {}): Driver {
  const config = stackConfig();
  const url = connection.url ?? connectionUrls(config).neo4jBolt;
  enableBoltTcpNoDelay(url);
  installBoltChunking();
  installBoltPrimitives();
  const options: Config = {
    disableLosslessIntegers: false,
    maxTransactionRetryTime: 5_000,
    connectionAcquisitionTimeout: 10_000,
    connectionTimeout: connection.connectTimeoutMs ?? 5_000,
  };
  if (connection.trustedCaFile) {
    options.encrypted = 'ENCRYPTION_ON';
    options.trust = 'TRUST_CUSTOM_CA_SIGNED_CERTIFICATES';
    options.trustedCertificates = [connection.trustedCaFile];
  }
  return neo4j.driver(
    url,
    neo4j.auth.basic(connection.user ?? config.neo4j.user, connection.password ?? config.neo4j.password),
    options,
  );
}

/**
 * One line for what the driver threw: refused credentials, a server out of reach (with the
 * socket's own reason, not the driver's hint about Neo4j 4.0 encryption defaults), or the error.
 */
export function graphError(err: unknown, connection: GraphConnection = {}): NettopoError {
  if (err instanceof NettopoError) return err;
  const e = err as Error & { code?: string };
  const url = connection.url ?? connectionUrls().neo4jBolt;
  const code = e.code ?? '';
  if (/Security\.(Unauthorized|AuthenticationRateLimit|CredentialsExpired)/.test(code))
    return new UnauthorizedError(
      `Neo4j at ${url} refused user '${connection.user ?? 'neo4j'}': ${/RateLimit/.test(code) ? 'too many failed logins, wait a moment' : /Expired/.test(code) ? 'the password has expired and must be changed' : 'wrong user or password'}`,
      { cause: err },
    );
  if (code === 'ServiceUnavailable' || code === 'SessionExpired') {
    const cause = /Caused by: (.*)$/s.exec(e.message)?.[1]?.trim();
    const reason = cause ?? e.message.split('.')[0];
    return new UnreachableError(`Neo4j at ${url} is not reachable: ${reason}`, { cause: err });
  }
  return new NettopoError(`Neo4j at ${url}: ${e.message}`, { cause: err });
}

/**
 * A driver that has reached the server: connects and logs in once (no retries) so that an
 * unreachable server or a wrong password is one line at once, not a retried query later.
 * @throws UnreachableError, UnauthorizedError (see {@link graphError})
 */
export async function connectGraph(connection: GraphConnection = {}): Promise<Driver> {
  const driver = createGraphDriver(connection);
  try {
    await driver.verifyConnectivity({ database: connection.database ?? 'neo4j' });
    return driver;
  } catch (err) {
    await driver.close().catch(() => undefined);
    throw graphError(err, connection);
  }
}

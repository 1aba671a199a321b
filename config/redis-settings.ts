import { ConfigError } from '../common/errors';
import { resolvePassword } from '../common/secret';
import type { RedisFileSettings } from './config-schema';

/** How to reach Redis (the reports worker's BullMQ queues). */
export interface RedisSettings {
  /** `redis://host:port[/db]` or `rediss://…` (TLS). */
  url: string;
  username?: string;
  /** Never logged ({@link describeRedisSettings}). */
  password?: string;
}

/** Values from the command line; they win over the environment. */
export interface RedisFlags {
  redisUrl?: string;
  redisPasswordFile?: string;
}

/**
 * Redis settings: flags, then NETTOPO_REDIS_URL / NETTOPO_REDIS_USERNAME / NETTOPO_REDIS_PASSWORD
 * (or NETTOPO_REDIS_PASSWORD_FILE), then the config file's `redis:`, then `fallbackUrl` (the local
 * stack's).
 */
export function redisSettings(
  flags: RedisFlags,
  env: NodeJS.ProcessEnv,
  file: RedisFileSettings | undefined,
  fallbackUrl: string,
  configFile = 'the config file',
): RedisSettings {
  const url = flags.redisUrl || env.NETTOPO_REDIS_URL || file?.url || fallbackUrl;
  if (!/^rediss?:\/\/[^\s]+$/.test(url))
    throw new ConfigError(`Redis URL '${url}' must be redis://host:port or rediss://host:port`);
  const settings: RedisSettings = { url };
  const username = env.NETTOPO_REDIS_USERNAME || file?.username;
  if (username) settings.username = username;
  const password = resolvePassword(
    { value: flags.redisPasswordFile, flag: '--redis-password-file' },
    env,
    'NETTOPO_REDIS_PASSWORD',
    { ...file, key: 'redis', source: configFile },
  );
  if (password !== undefined) settings.password = password;
  return settings;
}

/** For logs: the URL without credentials, and whether a password is set — never the password. */
export function describeRedisSettings(s: RedisSettings): string {
  const url = new URL(s.url);
  url.username = '';
  url.password = '';
  return `${url.toString()}${s.username ? ` as ${s.username}` : ''}${s.password ? ' (password set)' : ''}`;
}

import IORedis, { type Redis } from 'ioredis';
import type { Logger } from '../common/log';
import { stackConfig } from '../stack/stack-config';

/** Where the scheduler's Redis is. */
export interface RedisSettings {
  host: string;
  port: number;
  /** Never logged. */
  password?: string;
}

/**
 * The local stack's Redis (NETTOPO_REDIS_PORT), or NETTOPO_REDIS_HOST / NETTOPO_REDIS_PORT, with
 * NETTOPO_REDIS_PASSWORD when the server wants one; `port` overrides.
 */
export function redisSettings(port?: number, env: NodeJS.ProcessEnv = process.env): RedisSettings {
  return {
    host: env.NETTOPO_REDIS_HOST || '127.0.0.1',
    port: port ?? stackConfig({}, env).redis.port,
    ...(env.NETTOPO_REDIS_PASSWORD ? { password: env.NETTOPO_REDIS_PASSWORD } : {}),
  };
}

/**
 * A connection for a long-running BullMQ queue or worker: it never gives up (commands wait while
 * Redis is away, and it reconnects with a back-off up to 5 s), and it says so: one warning when
 * Redis becomes unreachable, naming the cause and that it retries, and one line when it is back.
 */
export function durableRedis(s: RedisSettings, log: Logger, what: string): Redis {
  const redis = new IORedis({
    host: s.host,
    port: s.port,
    password: s.password,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(250 * 2 ** Math.min(times, 5), 5_000),
  });
  let down = false;
  redis.on('error', (err: Error & { code?: string }) => {
    if (down) return;
    down = true;
    log.warn(
      `${what}: Redis at ${s.host}:${s.port} is unreachable (${err.code ?? err.message}); retrying every ≤5 s until it is back`,
    );
  });
  redis.on('ready', () => {
    if (down) log.info(`${what}: Redis at ${s.host}:${s.port} is reachable again`);
    down = false;
  });
  return redis;
}

/** A connection for one short command (`reports status`): fails fast with a clear error when Redis is away. */
export function briefRedis(s: RedisSettings): Redis {
  return new IORedis({
    host: s.host,
    port: s.port,
    password: s.password,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 3_000,
    retryStrategy: (times) => (times > 2 ? null : 200),
  });
}

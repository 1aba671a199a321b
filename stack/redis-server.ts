import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LaunchCommand, ManagedServer, PortSpec } from './managed-server';
import { probeRedis } from './probes';
import { stackPaths, type StackConfig } from './stack-config';
import { findRedisServer } from './tools';

/** Debian's redis-server on 127.0.0.1, in the foreground, configured for BullMQ (noeviction). */
export class RedisServer implements ManagedServer {
  readonly name = 'redis' as const;
  readonly logFile: string;
  private readonly home: string;

  constructor(private readonly config: StackConfig) {
    this.logFile = join(stackPaths(config).logs, 'redis.log');
    this.home = stackPaths(config).server('redis');
  }

  ports(): PortSpec[] {
    return [{ port: this.config.redis.port, what: 'Redis', envVar: 'NETTOPO_REDIS_PORT' }];
  }

  async fetch(): Promise<void> {
    findRedisServer();
  }

  url(): string {
    return `redis://${this.config.host}:${this.config.redis.port}`;
  }

  async prepare(): Promise<LaunchCommand> {
    const redis = findRedisServer();
    const data = join(this.home, 'data');
    mkdirSync(data, { recursive: true });
    const conf = join(this.home, 'redis.conf');
    writeFileSync(
      conf,
      [
        '# Written by `nettopo stack up` on every start; edit stack/redis-server.ts instead.',
        `bind ${this.config.host}`,
        `port ${this.config.redis.port}`,
        'protected-mode yes',
        'daemonize no',
        'supervised no',
        'logfile ""',
        `dir ${data}`,
        'dbfilename dump.rdb',
        'save 300 1',
        'appendonly no',
        `maxmemory ${this.config.redis.maxMemory}`,
        'maxmemory-policy noeviction',
        '',
      ].join('\n'),
    );
    return { command: redis, args: [conf], cwd: this.home };
  }

  probe(): Promise<void> {
    return probeRedis(this.config.redis.port, this.config.host);
  }
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionUrls, isPortFree, LocalStack, stackConfig, type StackConfig } from '../../stack';

/**
 * A second local stack for one test file: Kafka with SASL/PLAIN and Neo4j with auth on, on ports
 * 100 above this worktree's own (NETTOPO_*_PORT), in a data dir of its own that is removed after.
 */
export class AuthStack {
  readonly config: StackConfig;
  readonly stack: LocalStack;
  readonly dir: string;
  readonly kafkaUser = 'nettopo-fleet';
  readonly kafkaPassword = `k-${Math.random().toString(36).slice(2)}`;
  readonly neo4jPassword = `n-${Math.random().toString(36).slice(2)}`;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'nettopo-auth-stack-'));
    const own = stackConfig();
    this.config = stackConfig(
      {
        dataDir: join(this.dir, 'data'),
        kafkaPort: own.kafka.port + 100,
        kafkaControllerPort: own.kafka.controllerPort + 100,
        neo4jBoltPort: own.neo4j.boltPort + 100,
        neo4jHttpPort: own.neo4j.httpPort + 100,
        kafkaHeap: '256m',
        neo4jHeap: '256m',
        neo4jPageCache: '32m',
        kafkaSasl: { username: this.kafkaUser, password: this.kafkaPassword },
        neo4jPassword: this.neo4jPassword,
      },
      { ...process.env, NETTOPO_REDIS_PORT: String(own.redis.port + 100) },
    );
    this.stack = new LocalStack(this.config);
  }

  get broker(): string {
    return connectionUrls(this.config).kafkaBroker;
  }

  get bolt(): string {
    return connectionUrls(this.config).neo4jBolt;
  }

  /** Writes a file in the stack's folder (a password file, a config file); returns its path. */
  file(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  }

  async up(servers: ('kafka' | 'neo4j')[] = ['kafka', 'neo4j']): Promise<void> {
    for (const port of [this.config.kafka.port, this.config.neo4j.boltPort])
      if (servers.length === 2 && !(await isPortFree(port)))
        throw new Error(`port ${port} for the auth test stack is taken`);
    await this.stack.up(servers, () => undefined);
  }

  async down(servers?: ('kafka' | 'neo4j')[]): Promise<void> {
    await this.stack.down(servers ?? ['kafka', 'neo4j'], () => undefined);
  }

  /** Stops both servers and removes every file. */
  async remove(): Promise<void> {
    await this.down().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

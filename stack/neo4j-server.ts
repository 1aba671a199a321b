import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { ServerStartError } from './errors';
import { join } from 'node:path';
import type { LaunchCommand, ManagedServer, PortSpec } from './managed-server';
import { ensureJars, jarsFolder } from './maven-jars';
import { probeHttp, probeNeo4j } from './probes';
import { stackPaths, type StackConfig } from './stack-config';
import { findJava } from './tools';

/**
 * Neo4j 5.26 Community as a full server (org.neo4j.server.CommunityEntryPoint from org.neo4j:neo4j):
 * Bolt, the HTTP API, and Neo4j Browser at /browser/ (served from the org.neo4j.client:neo4j-browser jar
 * on the class path). Auth is disabled: the server is reachable from this machine only.
 */
export class Neo4jServer implements ManagedServer {
  readonly name = 'neo4j' as const;
  readonly logFile: string;
  readonly ownLogFiles: string[];
  private readonly home: string;
  /** Neo4j's own logs (neo4j.log, debug.log, http.log, query.log, security.log). */
  private readonly logsDir: string;

  constructor(private readonly config: StackConfig) {
    this.logFile = join(stackPaths(config).logs, 'neo4j.log');
    this.home = stackPaths(config).server('neo4j');
    this.logsDir = join(stackPaths(config).logs, 'neo4j');
    this.ownLogFiles = [join(this.logsDir, 'neo4j.log'), join(this.logsDir, 'debug.log')];
  }

  ports(): PortSpec[] {
    return [
      { port: this.config.neo4j.boltPort, what: 'Neo4j Bolt', envVar: 'NETTOPO_NEO4J_BOLT_PORT' },
      { port: this.config.neo4j.httpPort, what: 'Neo4j HTTP', envVar: 'NETTOPO_NEO4J_HTTP_PORT' },
    ];
  }

  async fetch(): Promise<void> {
    await ensureJars(this.config, 'neo4j', join(stackPaths(this.config).logs, 'maven-neo4j.log'));
  }

  url(): string {
    return `bolt://${this.config.host}:${this.config.neo4j.boltPort}`;
  }

  browserUrl(): string {
    return `http://${this.config.host}:${this.config.neo4j.httpPort}/browser/`;
  }

  async prepare(): Promise<LaunchCommand> {
    await this.fetch();
    const java = findJava();
    const { host, neo4j } = this.config;
    const dir = (name: string): string => {
      const path = join(this.home, name);
      mkdirSync(path, { recursive: true });
      return path;
    };
    mkdirSync(this.logsDir, { recursive: true });
    const conf = dir('conf');
    // Neo4j validates strictly: an unknown key aborts start-up, so only settings of 5.26 go here.
    writeFileSync(
      join(conf, 'neo4j.conf'),
      [
        '# Written by `nettopo stack up` on every start; edit stack/neo4j-server.ts instead.',
        `server.default_listen_address=${host}`,
        `server.default_advertised_address=${host}`,
        'server.bolt.enabled=true',
        `server.bolt.listen_address=${host}:${neo4j.boltPort}`,
        `server.bolt.advertised_address=${host}:${neo4j.boltPort}`,
        'server.http.enabled=true',
        `server.http.listen_address=${host}:${neo4j.httpPort}`,
        `server.http.advertised_address=${host}:${neo4j.httpPort}`,
        'server.https.enabled=false',
        `server.directories.data=${dir('data')}`,
        `server.directories.logs=${this.logsDir}`,
        `server.directories.run=${dir('run')}`,
        `server.directories.import=${dir('import')}`,
        `server.directories.plugins=${dir('plugins')}`,
        `server.memory.heap.initial_size=${neo4j.heap}`,
        `server.memory.heap.max_size=${neo4j.heap}`,
        `server.memory.pagecache.size=${neo4j.pageCache}`,
        `dbms.security.auth_enabled=${neo4j.auth ? 'true' : 'false'}`,
        'dbms.usage_report.enabled=false',
        'db.tx_log.rotation.retention_policy=2 files',
        '',
      ].join('\n'),
    );
    if (neo4j.auth) this.setInitialPassword(java, neo4j.password);
    const args = [
      `-Xms${neo4j.heap}`,
      `-Xmx${neo4j.heap}`,
      '-XX:+UseG1GC',
      '-XX:-OmitStackTraceInFastThrow',
      '-XX:+DisableExplicitGC',
      '-Djdk.nio.maxCachedBufferSize=1024',
      '-Dio.netty.tryReflectionSetAccessible=true',
      '-Dlog4j2.disable.jmx=true',
      '--add-opens=java.base/java.nio=ALL-UNNAMED',
      '--add-opens=java.base/java.io=ALL-UNNAMED',
      '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
      '-Dnettopo.server=neo4j',
      '-cp',
      `${jarsFolder(this.config, 'neo4j')}/*`,
      'org.neo4j.server.CommunityEntryPoint',
      `--home-dir=${this.home}`,
      `--config-dir=${conf}`,
    ];
    return { command: java, args, cwd: this.home };
  }

  /**
   * Has Neo4j's admin tool write `password` as user neo4j's initial password (data/dbms/auth.ini),
   * applied at the next start while the user still has the default one (a new database).
   */
  private setInitialPassword(java: string, password: string): void {
    const run = spawnSync(
      java,
      [
        '-cp',
        `${jarsFolder(this.config, 'neo4j')}/*`,
        'org.neo4j.cli.AdminTool',
        'dbms',
        'set-initial-password',
        password,
      ],
      {
        encoding: 'utf8',
        cwd: this.home,
        env: { ...process.env, NEO4J_HOME: this.home, NEO4J_CONF: join(this.home, 'conf') },
      },
    );
    if (run.status !== 0)
      throw new ServerStartError(
        `neo4j: setting the initial password failed (exit ${run.status}): ${`${run.error?.message ?? ''}${run.stderr ?? ''}`.trim().split('\n').pop()}`,
        this.logFile,
      );
  }

  async probe(): Promise<void> {
    await probeNeo4j(this.url(), this.config.neo4j.user, this.config.neo4j.password);
    await probeHttp(this.browserUrl());
  }
}

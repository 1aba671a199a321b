import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { PortInUseError, ServerStartError } from './errors';
import { EtcdServer } from './etcd-server';
import { KafkaServer } from './kafka-server';
import { KubeApiServer } from './kube-apiserver-server';
import { kubeBinariesCached } from './kube-binaries';
import { lastErrorLine } from './log-files';
import type { ManagedServer } from './managed-server';
import { jarsCached } from './maven-jars';
import { Neo4jServer } from './neo4j-server';
import { PidFile, processStartTime, residentKib } from './pid-file';
import { isPortFree } from './ports';
import { RedisServer } from './redis-server';
import {
  DEFAULT_SERVERS,
  SERVER_NAMES,
  stackConfig,
  stackPaths,
  type ServerName,
  type StackConfig,
} from './stack-config';
import { findJava, findMaven, findRedisServer, which } from './tools';
import { MissingToolError } from './errors';

/** What `up` did for one server. */
export interface UpResult {
  name: ServerName;
  url: string;
  pid: number;
  /** False when the server was running already (then `up` only checked that it answers). */
  started: boolean;
  /** Seconds until it answered. */
  readySec: number;
}

/** What `status` found for one server. */
export interface ServerStatus {
  name: ServerName;
  state: 'running' | 'not answering' | 'stopped';
  pid?: number;
  url: string;
  logFile: string;
  /** Resident memory in KiB. */
  rssKib?: number;
}

/** Progress messages for people (the CLI writes them to stderr). */
export type Progress = (message: string) => void;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The local development stack: Kafka, Neo4j and Redis started as detached processes on 127.0.0.1, with data,
 * logs and pid files under the data dir. `up` is idempotent; `down` stops only processes named by its pid files.
 */
export class LocalStack {
  readonly config: StackConfig;
  private readonly all: Record<ServerName, ManagedServer>;

  constructor(config: StackConfig = stackConfig()) {
    this.config = config;
    this.all = {
      kafka: new KafkaServer(config),
      neo4j: new Neo4jServer(config),
      redis: new RedisServer(config),
      etcd: new EtcdServer(config),
      'kube-apiserver': new KubeApiServer(config),
    };
  }

  /** The selected servers in start order (all when none is named; `up` starts the default ones). */
  servers(names: readonly ServerName[] = SERVER_NAMES): ManagedServer[] {
    return SERVER_NAMES.filter((n) => names.includes(n)).map((n) => this.all[n]);
  }

  private pidFile(name: ServerName): PidFile {
    return new PidFile(join(stackPaths(this.config).run, `${name}.pid`));
  }

  private ensureDirs(): void {
    const paths = stackPaths(this.config);
    mkdirSync(paths.run, { recursive: true });
    mkdirSync(paths.logs, { recursive: true });
  }

  /** Downloads the jars and builds the binaries that are not cached yet (nothing when all are). */
  async fetch(
    names: readonly ServerName[] = DEFAULT_SERVERS,
    progress: Progress = () => undefined,
  ): Promise<void> {
    this.ensureDirs();
    const servers = this.servers(names);
    this.checkTools(servers);
    await Promise.all(
      servers.map(async (s) => {
        if ((s.name === 'kafka' || s.name === 'neo4j') && !jarsCached(this.config, s.name)) {
          progress(
            `fetching ${s.name} jars from Maven Central (log: ${join(stackPaths(this.config).logs, `maven-${s.name}.log`)})`,
          );
        }
        if (s.name === 'kube-apiserver' && !kubeBinariesCached(this.config)) {
          progress(
            `building kube-apiserver and etcd from the Go module proxy, once per machine (~6 min on 2 cores; log: ${join(stackPaths(this.config).logs, 'build-kube.log')})`,
          );
        }
        // etcd and kube-apiserver share one build.
        if (s.name === 'etcd' && servers.some((x) => x.name === 'kube-apiserver')) return;
        await s.fetch();
      }),
    );
  }

  private checkTools(servers: ManagedServer[]): void {
    if (servers.some((s) => s.name === 'kafka' || s.name === 'neo4j')) findJava();
    if (servers.some((s) => (s.name === 'kafka' || s.name === 'neo4j') && !jarsCached(this.config, s.name)))
      findMaven();
    if (servers.some((s) => s.name === 'redis')) findRedisServer();
    if (servers.some((s) => s.name === 'kube-apiserver') && !which('openssl'))
      throw new MissingToolError(
        "openssl not found (it makes the local API server's keys; apt-get install openssl)",
      );
    if (
      servers.some((s) => s.name === 'etcd' || s.name === 'kube-apiserver') &&
      !kubeBinariesCached(this.config) &&
      !which('go')
    )
      throw new MissingToolError(
        'go not found: kube-apiserver and etcd are built from the Go module proxy (Go 1.25 or newer; see stack/README.md)',
      );
  }

  /** Starts what is not running, then waits until every selected server answers. */
  async up(
    names: readonly ServerName[] = DEFAULT_SERVERS,
    progress: Progress = () => undefined,
  ): Promise<UpResult[]> {
    this.ensureDirs();
    const servers = this.servers(names);
    const running = new Map<ServerName, number>();
    for (const s of servers) {
      const pid = this.pidFile(s.name).livePid();
      if (pid !== undefined) running.set(s.name, pid);
    }
    const toStart = servers.filter((s) => !running.has(s.name));
    this.checkTools(toStart);
    for (const s of toStart) {
      for (const p of s.ports()) {
        if (!(await isPortFree(p.port, this.config.host))) throw new PortInUseError(p.port, p.what, p.envVar);
      }
    }
    await this.fetch(
      toStart.map((s) => s.name),
      progress,
    );

    const started = new Map<ServerName, { pid: number; exit?: string }>();
    const t0 = Date.now();
    try {
      for (const s of toStart) {
        const launch = await s.prepare();
        appendFileSync(
          s.logFile,
          `\n=== nettopo stack up ${new Date().toISOString()}: ${launch.command} ===\n`,
        );
        const fd = openSync(s.logFile, 'a');
        const child = spawn(launch.command, launch.args, {
          cwd: launch.cwd,
          detached: true,
          stdio: ['ignore', fd, fd],
          env: { ...(launch.env ?? process.env), NETTOPO_SERVER: s.name },
        });
        closeSync(fd);
        if (child.pid === undefined) throw new ServerStartError(`${s.name} could not be spawned`, s.logFile);
        const entry: { pid: number; exit?: string } = { pid: child.pid };
        child.on('exit', (code, signal) => (entry.exit = signal ? `signal ${signal}` : `code ${code}`));
        child.unref();
        this.pidFile(s.name).write(child.pid);
        started.set(s.name, entry);
        progress(`${s.name}: started (pid ${child.pid}, log ${s.logFile})`);
      }
      for (const [name, pid] of running) progress(`${name}: already running (pid ${pid})`);

      const pending = new Set(servers.map((s) => s.name));
      const ticker = setInterval(
        () => progress(`waiting for ${[...pending].join(', ')} (${Math.round((Date.now() - t0) / 1000)}s)`),
        process.stderr.isTTY ? 2000 : 5000,
      );
      const results = await Promise.all(
        servers.map(async (s): Promise<UpResult> => {
          const deadline = Date.now() + this.config.startTimeoutSec * 1000;
          const mine = started.get(s.name);
          const pid = mine?.pid ?? (running.get(s.name) as number);
          for (;;) {
            try {
              await s.probe();
              pending.delete(s.name);
              const readySec = (Date.now() - t0) / 1000;
              if (mine) progress(`${s.name}: answering after ${readySec.toFixed(1)}s`);
              return { name: s.name, url: s.url(), pid, started: !!mine, readySec };
            } catch (err) {
              const gone = mine?.exit ?? (processStartTime(pid) === undefined ? 'unknown status' : undefined);
              if (gone) {
                const why = [s.logFile, ...s.ownLogFiles].map(lastErrorLine).find((l) => l !== undefined);
                throw new ServerStartError(
                  `${s.name} exited while starting (${gone})${why ? `: ${why}` : ''}`,
                  s.logFile,
                );
              }
              if (Date.now() > deadline) {
                throw new ServerStartError(
                  `${s.name} did not answer within ${this.config.startTimeoutSec}s (${(err as Error).message})`,
                  s.logFile,
                  { retriable: true, cause: err },
                );
              }
            }
            await sleep(500);
          }
        }),
      ).finally(() => clearInterval(ticker));
      return results;
    } catch (err) {
      // Leave nothing half-started behind: stop what this call started.
      await Promise.all([...started.keys()].map((name) => this.stop(name)));
      throw err;
    }
  }

  /** Stops one server named by its pid file: SIGTERM, then SIGKILL after `graceSec`. */
  private async stop(name: ServerName, graceSec = 30): Promise<number | undefined> {
    const file = this.pidFile(name);
    const pid = file.livePid();
    if (pid === undefined) return undefined;
    const start = processStartTime(pid);
    const alive = (): boolean =>
      start !== undefined && processStartTime(pid) === start && file.livePid() === pid;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const deadline = Date.now() + graceSec * 1000;
    while (alive() && Date.now() < deadline) await sleep(200);
    if (alive()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      while (alive()) await sleep(100);
    }
    file.remove();
    return pid;
  }

  /** Stops the selected servers that `up` started (newest first). Returns the pids it stopped. */
  async down(
    names: readonly ServerName[] = SERVER_NAMES,
    progress: Progress = () => undefined,
  ): Promise<{ name: ServerName; pid?: number }[]> {
    const out: { name: ServerName; pid?: number }[] = [];
    for (const s of this.servers(names).reverse()) {
      const pid = await this.stop(s.name);
      progress(pid === undefined ? `${s.name}: not running` : `${s.name}: stopped (pid ${pid})`);
      out.push(pid === undefined ? { name: s.name } : { name: s.name, pid });
    }
    return out;
  }

  /** What runs, whether it answers, and its memory (by default: the default servers, and the others that run). */
  async status(names?: readonly ServerName[]): Promise<ServerStatus[]> {
    const selected =
      names ??
      SERVER_NAMES.filter((n) => DEFAULT_SERVERS.includes(n) || this.pidFile(n).livePid() !== undefined);
    return Promise.all(
      this.servers(selected).map(async (s): Promise<ServerStatus> => {
        const base = { name: s.name, url: s.url(), logFile: s.logFile };
        const pid = this.pidFile(s.name).livePid();
        if (pid === undefined) return { ...base, state: 'stopped' };
        const answering = await s.probe().then(
          () => true,
          () => false,
        );
        const rssKib = residentKib(pid);
        return {
          ...base,
          state: answering ? 'running' : 'not answering',
          pid,
          ...(rssKib === undefined ? {} : { rssKib }),
        };
      }),
    );
  }
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ConfigError } from '../common/errors';
import { createLogger } from '../common/log';

const log = createLogger('metrics');

/** One thing a component needs to do its work (Kafka, Neo4j, attached programs); throws or returns false when it is not there. */
export type ReadinessCheck = () => Promise<boolean | void> | boolean | void;

/** Where the endpoint listens. */
export interface MetricsAddress {
  host: string;
  port: number;
}

/**
 * `host:port`, `[v6]:port`, a bare port (on 127.0.0.1), or `off` (undefined).
 * @throws ConfigError naming `source` on anything else
 */
export function parseMetricsAddress(
  value: string | number,
  source = '--metrics-address',
): MetricsAddress | undefined {
  const text = String(value).trim();
  if (text === 'off' || text === '') return undefined;
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):)?(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`${source}: '${text}' is not host:port, a port or off`);
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/** How long a readiness answer is reused (a scrape storm makes one round of checks). */
const READY_CACHE_MS = 1_000;
/** A check that takes longer counts as failed. */
const CHECK_TIMEOUT_MS = 2_000;

/**
 * A component's own HTTP endpoint: `/metrics` (Prometheus text format, prom-client: the
 * component's metrics plus Node's process metrics, all prefixed `nettopo_`), `/healthz` (200 while
 * the process runs its loop) and `/readyz` (200 when every readiness check passes, else 503 with
 * the failing ones, one a line). Binds 127.0.0.1 unless told otherwise.
 */
export class MetricsServer {
  readonly registry = new Registry();
  private readonly checks = new Map<string, ReadinessCheck>();
  private server: Server | undefined;
  private lastReady: { at: number; failures: string[] } | undefined;
  private pending: Promise<string[]> | undefined;

  constructor(readonly component: string) {
    this.registry.setDefaultLabels({ component });
    collectDefaultMetrics({ register: this.registry, prefix: 'nettopo_' });
  }

  /** Adds a readiness check; `/readyz` names it when it fails. */
  addReadinessCheck(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** The names of the failing checks, with why (cached {@link READY_CACHE_MS}). */
  async unready(): Promise<string[]> {
    if (this.lastReady && Date.now() - this.lastReady.at < READY_CACHE_MS) return this.lastReady.failures;
    this.pending ??= this.runChecks().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async runChecks(): Promise<string[]> {
    const failures: string[] = [];
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const ok = await Promise.race([
            Promise.resolve().then(check),
            new Promise<never>((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)),
                CHECK_TIMEOUT_MS,
              );
            }),
          ]);
          if (ok === false) failures.push(`${name}: not ready`);
        } catch (err) {
          failures.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    failures.sort();
    this.lastReady = { at: Date.now(), failures };
    return failures;
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  async listen(address: MetricsAddress): Promise<MetricsAddress> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const send = (status: number, type: string, body: string): void => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
      if (path === '/metrics') {
        this.registry.metrics().then(
          (text) => send(200, this.registry.contentType, text),
          (err: Error) => send(500, 'text/plain', `${err.message}\n`),
        );
        return;
      }
      if (path === '/healthz') return send(200, 'text/plain', 'ok\n');
      if (path === '/readyz') {
        void this.unready().then((failures) =>
          failures.length
            ? send(503, 'text/plain', `${failures.join('\n')}\n`)
            : send(200, 'text/plain', 'ok\n'),
        );
        return;
      }
      send(404, 'text/plain', 'not found: /metrics, /healthz, /readyz\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new ConfigError(
            `metrics endpoint: cannot listen on ${address.host}:${address.port} (${err.code ?? err.message}); choose another with --metrics-address`,
          ),
        ),
      );
      server.listen(address.port, address.host, () => resolve());
    });
    server.unref();
    this.server = server;
    const bound = server.address() as AddressInfo;
    log.info(
      `metrics on http://${address.host.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}/metrics (also /healthz, /readyz)`,
    );
    return { host: bound.address, port: bound.port };
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

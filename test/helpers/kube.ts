import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { Driver } from 'neo4j-driver';
import type { Logger } from '../../common/log';
import { KubeClient, type KubeObject } from '../../k8s';
import { kubeAdminToken, kubeFiles, LocalStack, stackConfig, type StackConfig } from '../../stack';

/*
 * The local stack's real kube-apiserver (`nettopo stack up kube`, started by scripts/test.sh) as
 * tests use it: objects created through the API as a controller manager and a kubelet would
 * (ownerReferences, pod status through the status subresource, forced deletes), one namespace
 * per test.
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A kubeconfig for the local API server as its admin, at `server` (the server itself, or a proxy in front of it). */
export function adminKubeConfig(config: StackConfig, server?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'local',
        server: server ?? `https://${config.host}:${config.kube.apiserverPort}`,
        caData: readFileSync(kubeFiles(config).caCert).toString('base64'),
      },
    ],
    users: [{ name: 'admin', token: kubeAdminToken(config) }],
    contexts: [{ name: 'local', cluster: 'local', user: 'admin' }],
    currentContext: 'local',
  });
  return kc;
}

/** Polls `check` until it returns a value other than undefined, or fails with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    await sleep(200);
  }
}

/** A logger keeping every line (and printing them when NETTOPO_TEST_VERBOSE=1). */
export class CapturedLog implements Logger {
  readonly lines: string[] = [];
  private add(level: string, m: string): void {
    this.lines.push(`${level} ${m}`);
    if (process.env.NETTOPO_TEST_VERBOSE === '1') process.stderr.write(`      [k8s-watch] ${level} ${m}\n`);
  }
  error = (m: string): void => this.add('error', m);
  warn = (m: string): void => this.add('warn', m);
  info = (m: string): void => this.add('info', m);
  debug = (m: string): void => this.add('debug', m);

  /** Waits until a line matches. */
  waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    return eventually(
      `a log line matching ${pattern}`,
      async () => this.lines.find((l) => pattern.test(l)),
      timeoutMs,
    );
  }
}

export interface PodOptions {
  name: string;
  labels?: Record<string, string>;
  owner?: { apiVersion: string; kind: string; name: string; uid: string };
  nodeName?: string;
}

/** The local API server, driven as its admin. */
export class TestKube {
  readonly config = stackConfig();
  readonly client = new KubeClient(adminKubeConfig(this.config));
  readonly namespaces: string[] = [];

  /** Fails with what to do when the local API server does not answer. */
  async ensureRunning(): Promise<void> {
    try {
      await this.client.request('GET', '/readyz', undefined, { timeoutMs: 3000 }).catch((err: Error) => {
        // /readyz answers text, not JSON: any 200 will do
        if (!/not JSON/.test(err.message)) throw err;
      });
    } catch (err) {
      throw new Error(
        `the local Kubernetes API server does not answer at ${this.client.server} (${(err as Error).message}); ` +
          'start it with `nettopo stack up kube` (scripts/test.sh does)',
      );
    }
  }

  /** A new namespace with its `default` ServiceAccount (no controller manager makes it). */
  async namespace(): Promise<string> {
    const ns = `nt-${randomBytes(4).toString('hex')}`;
    await this.client.request('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    await this.client.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
      metadata: { name: 'default' },
    });
    this.namespaces.push(ns);
    return ns;
  }

  create<T extends KubeObject>(path: string, body: unknown): Promise<T> {
    return this.client.request<T>('POST', path, body);
  }

  patch<T extends KubeObject>(path: string, body: unknown): Promise<T> {
    return this.client.request<T>('PATCH', path, body, { contentType: 'application/merge-patch+json' });
  }

  /** Deletes at once (grace period 0), as `kubectl delete --force --grace-period=0`. */
  async remove(path: string): Promise<void> {
    await this.client.request('DELETE', `${path}?gracePeriodSeconds=0`);
  }

  createPod(ns: string, o: PodOptions): Promise<KubeObject> {
    return this.create(`/api/v1/namespaces/${ns}/pods`, {
      metadata: {
        name: o.name,
        labels: o.labels ?? {},
        ...(o.owner ? { ownerReferences: [{ ...o.owner, controller: true, blockOwnerDeletion: true }] } : {}),
      },
      spec: {
        nodeName: o.nodeName ?? 'node-1',
        containers: [{ name: 'main', image: 'registry.invalid/app:1' }],
      },
    });
  }

  /** Sets a pod's status as a kubelet would: phase, IP, start time. */
  podStatus(
    ns: string,
    name: string,
    s: { ip?: string; phase?: string; startTime?: Date },
  ): Promise<KubeObject> {
    return this.patch(`/api/v1/namespaces/${ns}/pods/${name}/status`, {
      status: {
        phase: s.phase ?? 'Running',
        ...(s.ip ? { podIP: s.ip, podIPs: [{ ip: s.ip }] } : {}),
        ...(s.startTime ? { startTime: s.startTime.toISOString().replace(/\.\d+Z$/, 'Z') } : {}),
      },
    });
  }

  /** Stops and starts the local API server (its etcd keeps running). */
  async restartApiServer(): Promise<void> {
    const stack = new LocalStack(this.config);
    await stack.down(['kube-apiserver']);
    await stack.up(['kube-apiserver']);
  }

  /** Deletes the namespaces this test made (they stay Terminating without a controller manager; their objects go). */
  async cleanup(): Promise<void> {
    for (const ns of this.namespaces.splice(0)) {
      for (const path of [
        `/api/v1/namespaces/${ns}/pods`,
        `/api/v1/namespaces/${ns}/services`,
        `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
        `/apis/apps/v1/namespaces/${ns}/replicasets`,
        `/apis/apps/v1/namespaces/${ns}/deployments`,
        `/apis/batch/v1/namespaces/${ns}/jobs`,
        `/apis/batch/v1/namespaces/${ns}/cronjobs`,
      ])
        await this.client
          .request('DELETE', `${path}?gracePeriodSeconds=0&propagationPolicy=Background`)
          .catch(() => undefined);
      await this.client.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    }
  }
}

/**
 * A TCP proxy in front of the API server that a test can cut (every connection closed, new ones
 * refused) and restore, so that a watcher misses what happens meanwhile.
 */
export class CutProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetPort: number,
    private readonly host = '127.0.0.1',
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: this.host, port: this.targetPort });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => server.listen(this.port, this.host, r));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Closes every connection and stops listening (connections are refused). */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    await this.start();
  }

  async close(): Promise<void> {
    await this.cut();
  }
}

/** A query's first row as a plain object, or undefined. */
export async function row(
  driver: Driver,
  query: string,
  params: Record<string, unknown>,
): Promise<Record<string, unknown> | undefined> {
  const { records } = await driver.executeQuery(query, params);
  return records[0]?.toObject();
}

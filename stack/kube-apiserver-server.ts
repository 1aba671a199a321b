import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdServer } from './etcd-server';
import { ensureKubeBinaries, kubeBinaryPath } from './kube-binaries';
import { ensureKubeCredentials, kubeAdminToken, kubeFiles } from './kube-credentials';
import type { LaunchCommand, ManagedServer, PortSpec } from './managed-server';
import { stackPaths, type StackConfig } from './stack-config';

/** The Service IP range the API server hands ClusterIPs out of (an API setting only: no traffic goes there). */
export const KUBE_SERVICE_CIDR = '10.96.0.0/16';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** GETs a path of the local API server as its admin; resolves with the status and body. */
export function kubeGet(
  config: StackConfig,
  path: string,
  timeoutMs = 2000,
): Promise<{ status: number; body: string }> {
  const files = kubeFiles(config);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: config.host,
        port: config.kube.apiserverPort,
        path,
        method: 'GET',
        ca: readFileSync(files.caCert),
        headers: { Authorization: `Bearer ${kubeAdminToken(config)}` },
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * kube-apiserver on 127.0.0.1 over the stack's etcd: HTTPS with a serving certificate from the
 * data dir's own CA, static-token authentication (one admin in system:masters), RBAC, and a
 * service-account key pair, so that ServiceAccounts and the TokenRequest API work. No controller
 * manager, scheduler or kubelet runs: objects stay as clients write them.
 */
export class KubeApiServer implements ManagedServer {
  readonly name = 'kube-apiserver' as const;
  readonly logFile: string;
  readonly ownLogFiles: string[] = [];
  private readonly etcd: EtcdServer;

  constructor(private readonly config: StackConfig) {
    this.logFile = join(stackPaths(config).logs, 'kube-apiserver.log');
    this.etcd = new EtcdServer(config);
  }

  ports(): PortSpec[] {
    return [
      { port: this.config.kube.apiserverPort, what: 'kube-apiserver', envVar: 'NETTOPO_KUBE_APISERVER_PORT' },
    ];
  }

  async fetch(): Promise<void> {
    await ensureKubeBinaries(this.config, join(stackPaths(this.config).logs, 'build-kube.log'));
  }

  url(): string {
    return `https://${this.config.host}:${this.config.kube.apiserverPort}`;
  }

  /** The kubeconfig clients use (written at every start). */
  kubeconfig(): string {
    return kubeFiles(this.config).kubeconfig;
  }

  async prepare(): Promise<LaunchCommand> {
    await this.fetch();
    const f = ensureKubeCredentials(this.config);
    // The API server gives up when its storage does not answer at start: wait for etcd first.
    const deadline = Date.now() + this.config.startTimeoutSec * 1000;
    for (;;) {
      try {
        await this.etcd.probe();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`etcd does not answer: ${(err as Error).message}`);
        await sleep(200);
      }
    }
    const { host, kube } = this.config;
    return {
      command: kubeBinaryPath(this.config, 'kube-apiserver'),
      args: [
        `--etcd-servers=http://${host}:${kube.etcdPort}`,
        `--bind-address=${host}`,
        `--advertise-address=${host}`,
        `--secure-port=${kube.apiserverPort}`,
        `--tls-cert-file=${f.servingCert}`,
        `--tls-private-key-file=${f.servingKey}`,
        `--cert-dir=${join(f.dir, 'pki')}`,
        `--token-auth-file=${f.tokenFile}`,
        '--authorization-mode=RBAC',
        `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
        `--service-account-key-file=${f.serviceAccountPub}`,
        `--service-account-signing-key-file=${f.serviceAccountKey}`,
        `--service-cluster-ip-range=${KUBE_SERVICE_CIDR}`,
        // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints refuse (loopback).
        '--endpoint-reconciler-type=none',
        '--profiling=false',
        // On SIGTERM, end open watches after 2 s instead of waiting for them (up to their own timeout).
        '--shutdown-watch-termination-grace-period=2s',
      ],
      cwd: f.dir,
    };
  }

  async probe(): Promise<void> {
    const { status, body } = await kubeGet(this.config, '/readyz');
    if (status !== 200) throw new Error(`kube-apiserver /readyz answered ${status}: ${body.slice(0, 200)}`);
  }
}

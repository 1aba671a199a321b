import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureKubeBinaries, kubeBinaryPath } from './kube-binaries';
import { kubeFiles } from './kube-credentials';
import type { LaunchCommand, ManagedServer, PortSpec } from './managed-server';
import { stackPaths, type StackConfig } from './stack-config';

/** The environment without ETCD_* variables: etcd reads every one of them as a flag. */
export function withoutEtcdVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('ETCD_')));
}

/** etcd, one member on 127.0.0.1: the storage of the local Kubernetes API server. */
export class EtcdServer implements ManagedServer {
  readonly name = 'etcd' as const;
  readonly logFile: string;
  readonly ownLogFiles: string[] = [];

  constructor(private readonly config: StackConfig) {
    this.logFile = join(stackPaths(config).logs, 'etcd.log');
  }

  ports(): PortSpec[] {
    return [
      { port: this.config.kube.etcdPort, what: 'etcd clients', envVar: 'NETTOPO_KUBE_ETCD_PORT' },
      { port: this.config.kube.etcdPeerPort, what: 'etcd peers', envVar: 'NETTOPO_KUBE_ETCD_PEER_PORT' },
    ];
  }

  async fetch(): Promise<void> {
    await ensureKubeBinaries(this.config, join(stackPaths(this.config).logs, 'build-kube.log'));
  }

  url(): string {
    return `http://${this.config.host}:${this.config.kube.etcdPort}`;
  }

  async prepare(): Promise<LaunchCommand> {
    await this.fetch();
    const { host, kube } = this.config;
    const files = kubeFiles(this.config);
    mkdirSync(files.etcdData, { recursive: true, mode: 0o700 });
    const client = `http://${host}:${kube.etcdPort}`;
    const peer = `http://${host}:${kube.etcdPeerPort}`;
    return {
      command: kubeBinaryPath(this.config, 'etcd'),
      args: [
        '--name=nettopo',
        `--data-dir=${files.etcdData}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=nettopo=${peer}`,
        '--log-level=warn',
      ],
      cwd: files.dir,
      env: withoutEtcdVariables(process.env),
    };
  }

  async probe(): Promise<void> {
    const res = await fetch(`${this.url()}/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { health?: string };
    if (res.status !== 200 || body.health !== 'true')
      throw new Error(`etcd /health answered ${res.status} ${JSON.stringify(body)}`);
  }
}

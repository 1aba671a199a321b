import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../common';
import { MissingToolError, StackError } from './errors';
import type { StackConfig } from './stack-config';
import { which } from './tools';

/** The programs of the optional Kubernetes API server, built from the Go module proxy. */
export type KubeBinary = 'kube-apiserver' | 'etcd';

/** Versions pinned in `stack/kube/versions` (read by scripts/build-kube.sh too). */
export function kubeVersions(): Record<KubeBinary, string> {
  const file = join(projectRoot(), 'stack', 'kube', 'versions');
  const out: Partial<Record<KubeBinary, string>> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [name, version] = line.trim().split(/\s+/);
    if (name === 'kube-apiserver' || name === 'etcd') out[name] = version;
  }
  if (!out['kube-apiserver'] || !out.etcd)
    throw new StackError(`${file} must name a version of kube-apiserver and of etcd`);
  return out as Record<KubeBinary, string>;
}

/** Where a binary is cached: `<cache>/<name>-<version>/<name>` (the layout scripts/build-kube.sh writes). */
export function kubeBinaryPath(config: StackConfig, name: KubeBinary): string {
  return join(config.kube.cacheDir, `${name}-${kubeVersions()[name]}`, name);
}

/** True when both binaries are cached (then nothing is built or downloaded). */
export function kubeBinariesCached(config: StackConfig): boolean {
  return existsSync(kubeBinaryPath(config, 'kube-apiserver')) && existsSync(kubeBinaryPath(config, 'etcd'));
}

/**
 * Makes sure kube-apiserver and etcd are in the cache: runs scripts/build-kube.sh when one is
 * missing (cold: ~6 min on 2 cores; Go and the Go module proxy needed), else does nothing.
 */
export async function ensureKubeBinaries(config: StackConfig, logFile: string): Promise<void> {
  if (kubeBinariesCached(config)) return;
  if (!which('go'))
    throw new MissingToolError(
      'go not found: kube-apiserver and etcd are built from the Go module proxy (Go 1.25 or newer; see stack/README.md)',
    );
  const fd = openSync(logFile, 'a');
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('bash', [join(projectRoot(), 'scripts', 'build-kube.sh')], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, NETTOPO_KUBE_CACHE_DIR: config.kube.cacheDir },
    });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c ?? 1));
  }).finally(() => closeSync(fd));
  if (code !== 0 || !kubeBinariesCached(config))
    throw new StackError(`building kube-apiserver and etcd failed (exit ${code}; log: ${logFile})`, {
      retriable: true,
    });
}

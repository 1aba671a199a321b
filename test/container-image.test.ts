/**
 * The container image (Containerfile, built by scripts/build-image.sh with podman from Debian root filesystems
 * that mmdebstrap makes, no registry): what it runs, and the collector from it against the real kernel, run
 * as the DaemonSet of deploy/kubernetes/nettopo.yaml runs it (its capabilities, host namespaces, user, mounts,
 * read-only root, no new privileges — read from the manifest, not repeated here).
 * Needs root, podman and a BPF-capable kernel; otherwise skipped with the reason printed.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageVersion, projectRoot } from '../common';
import type { FlowRecord } from '../contract';
import { CliRun } from './helpers';
import { assertFullyObserved, observeCollector } from './helpers/collector-check';
import { collectorRunSpec, type CollectorRunSpec } from './helpers/deploy-manifests';

/** podman with runc: crun refuses hosts with hybrid cgroups (v1 controllers + v2), as ours are. */
const PODMAN = ['podman', '--runtime', 'runc'];

/**
 * Resource limits the container may have here. podman gives containers nofile and nproc limits of 1048576,
 * which these machines cannot grant (their root lacks CAP_SYS_RESOURCE; conmon runs with nproc 32768), so the
 * container gets this shell's open-files limit and at most conmon's process limit.
 */
function ulimits(): string[] {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const hard = (name: string): number => {
    const m = new RegExp(`^${name}\\s+\\S+\\s+(\\S+)`, 'm').exec(limits);
    return m && m[1] !== 'unlimited' ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
  };
  const nofile = hard('Max open files');
  const nproc = Math.min(hard('Max processes'), 32768);
  return ['--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${nproc}:${nproc}`];
}

/** `podman run` flags that reproduce the DaemonSet's pod for the collector container. */
function runFlags(spec: CollectorRunSpec): string[] {
  return [
    ...(spec.hostPID ? ['--pid=host'] : []),
    ...(spec.hostNetwork ? ['--network=host'] : []),
    ...(spec.runAsUser !== undefined ? ['--user', String(spec.runAsUser)] : []),
    '--cap-drop=all',
    ...spec.capabilities.map((c) => `--cap-add=${c}`),
    ...(spec.readOnlyRootFilesystem ? ['--read-only'] : []),
    ...(spec.noNewPrivileges ? ['--security-opt=no-new-privileges'] : []),
    ...spec.mounts.flatMap((m) => {
      const options = [m.readOnly ? 'ro' : 'rw', ...(m.followsHost ? ['rslave'] : [])].join(',');
      return ['-v', `${m.hostPath}:${m.containerPath}:${options}`];
    }),
  ];
}

describe('the container image (podman, real kernel)', function () {
  this.timeout(180000);
  let image = '';
  const containers: string[] = [];

  before(function () {
    const missing =
      process.geteuid?.() !== 0
        ? 'needs root (runs the collector from the image)'
        : spawnSync('podman', ['--version']).status !== 0
          ? 'podman not found (scripts/install-deps.sh installs it)'
          : null;
    if (missing) {
      console.log(`    skipped: ${missing}`);
      this.skip();
    }
    // Unchanged sources: every layer is reused (seconds). A fresh machine makes the Debian root filesystems
    // first (minutes; scripts/test.sh builds the image before the suite).
    this.timeout(1800000);
    image = execFileSync('bash', [join(projectRoot(), 'scripts', 'build-image.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  });

  after(() => {
    for (const name of containers) spawnSync('podman', ['rm', '-f', name], { stdio: 'ignore' });
  });

  it('when the image runs, then it is nettopo of this version on the pinned Node.js LTS, as a non-root user too', () => {
    const run = (user: string, ...args: string[]): string =>
      execFileSync(PODMAN[0]!, [...PODMAN.slice(1), 'run', '--rm', ...ulimits(), '--user', user, ...args], {
        encoding: 'utf8',
      }).trim();
    assert.equal(run('65532', image, '--version'), packageVersion());
    const pinned = /^node\s+(\S+)$/m.exec(
      readFileSync(join(projectRoot(), 'scripts', 'runtime.versions'), 'utf8'),
    );
    const runtime = JSON.parse(
      run(
        '65532',
        '--entrypoint',
        'node',
        image,
        '-p',
        'JSON.stringify([process.version, process.release.lts])',
      ),
    ) as [string, string];
    assert.deepEqual(runtime, [`v${pinned?.[1]}`, 'Krypton']);
  });

  it("when the README shows how to run the collector from the image, then it gives the DaemonSet's flags", () => {
    const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');
    const block = /```sh\n(podman run [\s\S]*?)```/.exec(readme);
    assert.ok(block, 'README has a `podman run` example');
    const shown = block[1]!.replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean);
    const flags = runFlags(collectorRunSpec());
    for (let i = 0; i < flags.length; i++) {
      const flag = flags[i]!;
      if (flag === '-v' || flag === '--user') {
        const at = shown.findIndex((s, j) => s === flag && shown[j + 1] === flags[i + 1]);
        assert.ok(at >= 0, `README's example lacks ${flag} ${flags[i + 1]}`);
        i++;
      } else assert.ok(shown.includes(flag), `README's example lacks ${flag}`);
    }
    assert.equal(
      shown.filter((s) => s.startsWith('--cap-add')).length,
      collectorRunSpec().capabilities.length,
    );
    assert.ok(shown.includes(`localhost/nettopo:${packageVersion()}`));
  });

  it('when the collector runs from the image as the DaemonSet runs it, then every program attaches and both ends of a connection are attributed with exact bytes, containers, the executable and each host’s addresses', async () => {
    const spec = collectorRunSpec();
    const name = `nettopo-test-${randomBytes(4).toString('hex')}`;
    containers.push(name);
    // The tests read the human log format (JSON is the default off a terminal); podman passes no environment on.
    const env = ['-e', 'NETTOPO_LOG_FORMAT=pretty'];
    const command = [
      ...PODMAN,
      'run',
      '--rm',
      '--name',
      name,
      ...env,
      ...ulimits(),
      ...runFlags(spec),
      image,
    ];
    assertFullyObserved(
      await observeCollector((args) => new CliRun<FlowRecord>(args, process.env, { command })),
    );
  });
});

/**
 * The collector's least privileges, as the Kubernetes DaemonSet grants them (deploy/kubernetes/nettopo.yaml:
 * root, every capability dropped but the listed ones, no privilege escalation), tried against the real kernel:
 * the collector runs under `setpriv` with exactly that bounding set and must still see everything; with one of
 * them fewer, what that one buys goes missing.
 * Needs root and a BPF-capable kernel; otherwise skipped with the reason printed.
 */
import { strict as assert } from 'node:assert';
import type { FlowRecord } from '../contract';
import { CliRun, nettopoCommand } from './helpers';
import { assertFullyObserved, observeCollector, type CollectorLauncher } from './helpers/collector-check';
import { collectorRunSpec, type CollectorRunSpec } from './helpers/deploy-manifests';

/** `nettopo` as root with only `capabilities` (names as Kubernetes writes them: BPF, SYS_ADMIN …). */
function withOnly(capabilities: string[]): CollectorLauncher {
  const bounding = ['-all', ...capabilities.map((c) => `+${c.toLowerCase()}`)].join(',');
  const command = [
    'setpriv',
    '--bounding-set',
    bounding,
    '--inh-caps',
    '-all',
    '--no-new-privs',
    ...nettopoCommand(),
  ];
  return (args) => new CliRun<FlowRecord>(args, process.env, { command });
}

describe('the collector with the DaemonSet’s capabilities only (real kernel)', function () {
  this.timeout(120000);
  let spec: CollectorRunSpec;

  before(function () {
    if (process.geteuid?.() !== 0) {
      console.log('    skipped: needs root (loads eBPF programs and drops capabilities with setpriv)');
      this.skip();
    }
    spec = collectorRunSpec();
  });

  it('when the DaemonSet is read, then the collector runs as root, drops every capability, escalates none and adds BPF, PERFMON, SYS_ADMIN and SYS_PTRACE', () => {
    assert.deepEqual(spec.capabilities, ['BPF', 'PERFMON', 'SYS_ADMIN', 'SYS_PTRACE']);
    assert.equal(spec.runAsUser, 0);
    assert.equal(spec.noNewPrivileges, true);
    assert.equal(spec.hostPID, true);
    assert.equal(spec.hostNetwork, true);
  });

  it('when it runs with exactly those capabilities, then every program attaches and both ends of a connection are attributed with exact bytes, containers, the executable and each host’s addresses', async () => {
    assertFullyObserved(await observeCollector(withOnly(spec.capabilities)));
  });

  it('when SYS_ADMIN or SYS_PTRACE is taken away, then the namespaces’ addresses or the executables go missing, so neither is one too many', async () => {
    const without = (capability: string): CollectorLauncher =>
      withOnly(spec.capabilities.filter((c) => c !== capability));
    // Two collectors side by side (each filters its own port): one run's time instead of two.
    const [noAdmin, noPtrace] = await Promise.all([
      observeCollector(without('SYS_ADMIN')),
      observeCollector(without('SYS_PTRACE')),
    ]);
    assert.equal(noAdmin.clientEnd.bytesSent, 99765, 'flows are still counted');
    assert.deepEqual(noAdmin.addressesOfB, [], 'no addresses without entering the namespaces');
    assert.equal(noPtrace.clientEnd.bytesSent, 99765, 'flows are still counted');
    assert.equal(noPtrace.clientProcess.exe, null, 'no executable without ptrace access');
  });
});

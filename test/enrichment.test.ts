import { strict as assert } from 'node:assert';
import { realpathSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupResolver, Enricher, ProcessResolver, readHostInfo } from '../collector';
import { cgroupTestSkipReason, type TestCgroup, TestCgroups } from './helpers/cgroups';

const CONTAINER = 'b7e4a1c9d2f30e5a6b8c7d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c';
const POD_UID = '5c7e9a1b-3d2f-4e6a-8b0c-1d2e3f4a5b6c';

function waitExit(child: {
  once(e: 'exit', f: () => void): unknown;
  exitCode: number | null;
}): Promise<void> {
  return child.exitCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

describe('enrichment against the real kernel (root, cgroup v2)', function () {
  let cgroups: TestCgroups;
  let enricher: Enricher;
  let resolver: CgroupResolver;
  const sleepExe = realpathSync('/usr/bin/sleep');

  before(function () {
    const reason = cgroupTestSkipReason();
    if (reason) {
      console.log(`    skipped: enrichment integration tests ${reason}`);
      this.skip();
    }
    cgroups = TestCgroups.create();
    resolver = new CgroupResolver();
    enricher = new Enricher({ host: readHostInfo(), cgroups: resolver, processes: new ProcessResolver() });
  });

  after(async function () {
    await cgroups?.cleanup();
  });

  const shapes: Array<{
    name: string;
    path: string;
    runtime: string | null;
    podUid: string | null;
    qos: string | null;
  }> = [
    {
      name: 'a containerd container of a besteffort pod (systemd driver)',
      path: `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID.replace(/-/g, '_')}.slice/cri-containerd-${CONTAINER}.scope`,
      runtime: 'containerd',
      podUid: POD_UID,
      qos: 'besteffort',
    },
    {
      name: 'a container of a burstable pod (cgroupfs driver)',
      path: `kubepods/burstable/pod${POD_UID}/${CONTAINER}`,
      runtime: null,
      podUid: POD_UID,
      qos: 'burstable',
    },
    {
      name: 'a CRI-O container of a guaranteed pod (systemd driver)',
      path: `kubepods.slice/kubepods-pod${POD_UID.replace(/-/g, '_')}.slice/crio-${CONTAINER}.scope`,
      runtime: 'cri-o',
      podUid: POD_UID,
      qos: 'guaranteed',
    },
    {
      name: 'a Docker container (systemd driver)',
      path: `system.slice/docker-${CONTAINER}.scope`,
      runtime: 'docker',
      podUid: null,
      qos: null,
    },
    {
      name: 'a Docker container (cgroupfs driver)',
      path: `docker/${CONTAINER}`,
      runtime: 'docker',
      podUid: null,
      qos: null,
    },
  ];

  for (const shape of shapes) {
    it(`when a process runs in ${shape.name}, then its event is attributed to that container, runtime and pod`, async () => {
      const cgroup = cgroups.mkdir(shape.path);
      const spawnedAt = Date.now();
      const child = await cgroups.spawnIn(cgroup, 'sleep', ['30']);
      const pid = child.pid as number;

      const a = enricher.attribute(pid, 'sleep', cgroup.id);

      assert.equal(a.cgroupPath, cgroup.path);
      assert.equal(a.containerId, CONTAINER);
      assert.equal(a.runtime, shape.runtime);
      assert.equal(a.podUid, shape.podUid);
      assert.equal(a.qosClass, shape.qos);
      assert.equal(a.hostId, readHostInfo().hostId);
      assert.equal(a.process.comm, 'sleep');
      assert.equal(a.process.exe, sleepExe);
      assert.deepEqual(a.process.cmdline, ['sleep', '30']);
      assert.equal(a.process.uid, 0);
      assert.equal(a.process.ppid, process.pid);
      assert.equal(a.process.cgroupPath, cgroup.path);
      assert.deepEqual(a.process.unknown, []);
      // btime is whole seconds (truncated), ticks are 10 ms: the start time may read up to ~1 s early.
      assert.ok(
        Math.abs(a.processStartTime - spawnedAt) < 1100,
        `start ${a.processStartTime} vs spawn ${spawnedAt}`,
      );
      child.kill('SIGKILL');
      await waitExit(child);
    });
  }

  it('when a process runs as another user, then its uid is that user', async () => {
    const cgroup = cgroups.mkdir(`system.slice/nettopo-uid-test.service`);
    const child = await cgroups.spawnIn(cgroup, 'sleep', ['30'], { uid: 65534 });
    const a = enricher.attribute(child.pid as number, 'sleep', cgroup.id);
    assert.equal(a.process.uid, 65534);
    assert.equal(a.runtime, 'systemd');
    assert.equal(a.unit, 'nettopo-uid-test.service');
    child.kill('SIGKILL');
    await waitExit(child);
  });

  it('when a test cgroup id (its directory inode) is looked up, then it resolves to its path, also one created after the last walk', () => {
    const first = cgroups.mkdir('walk/a');
    const ids = new CgroupResolver({ minRescanIntervalMs: 0 });
    assert.equal(ids.pathOf(first.id), first.path);
    assert.equal(ids.pathOf(statSync(ids.mountPoint).ino), '/');
    const later = cgroups.mkdir('walk/b/c');
    assert.equal(ids.pathOf(later.id), later.path);
    assert.equal(ids.idOf(later.path), later.id);
  });

  it('when an unknown cgroup id comes with a pid of that cgroup, then it resolves without a full walk', async () => {
    const ids = new CgroupResolver({ minRescanIntervalMs: 60_000 });
    ids.rescan();
    const cgroup: TestCgroup = cgroups.mkdir('hint/docker');
    const child = await cgroups.spawnIn(cgroup, 'sleep', ['30']);
    const walks = ids.stats.walks;
    assert.equal(ids.pathOf(cgroup.id, child.pid), cgroup.path);
    assert.equal(ids.stats.walks, walks);
    assert.equal(ids.stats.pidHintHits, 1);
    assert.equal(ids.pathOfPid(child.pid as number), cgroup.path);
    child.kill('SIGKILL');
    await waitExit(child);
  });

  it('when the process already exited before its event was handled, then the kernel comm and cgroup still attribute it', async () => {
    const cgroup = cgroups.mkdir(`gone/system.slice/docker-${CONTAINER}.scope`);
    const child = await cgroups.spawnIn(cgroup, 'sleep', ['30']);
    const pid = child.pid as number;
    child.kill('SIGKILL');
    await waitExit(child);

    // A fresh resolver: its first miss walks the hierarchy (later misses walk at most once a second).
    const fresh = new Enricher({
      host: enricher.host,
      cgroups: new CgroupResolver(),
      processes: new ProcessResolver(),
    });
    const a = fresh.attribute(pid, 'curl', cgroup.id);

    assert.equal(a.comm, 'curl');
    assert.equal(a.process.comm, 'curl');
    assert.equal(a.process.exited, true);
    assert.equal(a.cgroupId, cgroup.id);
    assert.equal(a.process.cgroupId, cgroup.id);
    assert.equal(a.containerId, CONTAINER);
    assert.equal(a.runtime, 'docker');
    assert.equal(a.processStartTime, 0);
    for (const field of ['exe', 'cmdline', 'uid', 'ppid', 'startTime'] as const) {
      assert.ok(a.process.unknown.includes(field), `${field} should be unknown`);
    }
  });

  it('when a short-lived process was captured at its first event, then its later events keep the full facts after it exits', async () => {
    const cgroup = cgroups.mkdir('short/kubepods/besteffort/pod' + POD_UID + '/' + CONTAINER);
    const child = await cgroups.spawnIn(cgroup, 'sleep', ['30']);
    const pid = child.pid as number;
    const first = enricher.attribute(pid, 'sleep', cgroup.id);
    child.kill('SIGKILL');
    await waitExit(child);
    await sleep(5);

    const later = enricher.attribute(pid, 'sleep', cgroup.id);

    assert.equal(later.process, first.process);
    assert.equal(later.process.exe, sleepExe);
    assert.equal(later.podUid, POD_UID);
  });

  it('when a process is looked up again, then no /proc read happens', async () => {
    const cgroup = cgroups.mkdir('again');
    const child = await cgroups.spawnIn(cgroup, 'sleep', ['30']);
    const processes = new ProcessResolver();
    const e = new Enricher({ host: enricher.host, cgroups: resolver, processes });
    e.attribute(child.pid as number, 'sleep', cgroup.id);
    const reads = processes.stats.coldReads;
    for (let i = 0; i < 100; i++) e.attribute(child.pid as number, 'sleep', cgroup.id);
    assert.equal(processes.stats.coldReads, reads);
    assert.equal(processes.stats.verifies, 0);
    child.kill('SIGKILL');
    await waitExit(child);
  });
});

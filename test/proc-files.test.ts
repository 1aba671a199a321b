import { strict as assert } from 'node:assert';
import {
  bestCgroupPath,
  findCgroup2Mount,
  parseBootTime,
  parseClockTicks,
  parseCmdline,
  parseMachineId,
  parseProcCgroup,
  parseProcStat,
  parseStatusUid,
} from '../collector';
import { LruCache } from '../common/lru-cache';

describe('parsing /proc and mountinfo', () => {
  it('when comm contains spaces and parentheses, then stat fields are still counted from the last parenthesis', () => {
    const line =
      '4242 (we ird) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n';
    assert.deepEqual(parseProcStat(line), {
      comm: 'we ird) (x)',
      state: 'S',
      ppid: 1,
      startTicks: 987654,
      cmdlineBytes: null,
    });
  });

  it('when stat is truncated, then it is refused', () => {
    assert.equal(parseProcStat('12 (x) S 1 2'), null);
  });

  it('when status is read, then the real uid is taken (not the effective one)', () => {
    assert.equal(parseStatusUid('Name:\tsu\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n'), 1000);
    assert.equal(parseStatusUid('Name:\tx\n'), null);
  });

  it('when cmdline is NUL separated, then argv keeps empty arguments but drops the trailing NUL', () => {
    assert.deepEqual(parseCmdline('sleep\0\x0030\0'), ['sleep', '', '30']);
    assert.deepEqual(parseCmdline(''), []);
  });

  it('when /proc/stat is read, then btime is the boot time in seconds', () => {
    assert.equal(parseBootTime('cpu  1 2 3\nbtime 1795542190\nprocesses 9\n'), 1795542190);
  });

  it('when the auxiliary vector holds AT_CLKTCK, then it gives the clock ticks per second', () => {
    const auxv = Buffer.alloc(64);
    auxv.writeBigUInt64LE(6n, 0); // AT_PAGESZ
    auxv.writeBigUInt64LE(4096n, 8);
    auxv.writeBigUInt64LE(17n, 16); // AT_CLKTCK
    auxv.writeBigUInt64LE(100n, 24);
    assert.equal(parseClockTicks(auxv), 100);
    assert.equal(parseClockTicks(Buffer.alloc(32)), null);
  });

  it('when the host is hybrid, then the cgroup2 mount is found among the v1 mounts', () => {
    const mountinfo = [
      '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ].join('\n');
    assert.equal(findCgroup2Mount(mountinfo), '/sys/fs/cgroup/unified');
  });

  it('when the host is unified and optional fields are present, then /sys/fs/cgroup is found', () => {
    const mountinfo =
      '35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n';
    assert.equal(findCgroup2Mount(mountinfo), '/sys/fs/cgroup');
    assert.equal(findCgroup2Mount('22 1 0:5 / /proc rw - proc proc rw\n'), null);
  });

  it('when a process is in v1 and v2 hierarchies, then each line is parsed and the best path chosen', () => {
    const hybrid = parseProcCgroup(
      '9:name=systemd:/system.slice/x.service\n4:memory:/a\n2:cpu,cpuacct:/b\n0::/\n',
    );
    assert.equal(hybrid.unified, '/');
    assert.equal(hybrid.v1.get('cpu,cpuacct'), '/b');
    assert.equal(bestCgroupPath(hybrid), '/system.slice/x.service');
    assert.equal(bestCgroupPath(parseProcCgroup('0::/kubepods/pod1/abc\n')), '/kubepods/pod1/abc');
    assert.equal(bestCgroupPath(parseProcCgroup('0::/\n')), '/');
    assert.equal(bestCgroupPath(parseProcCgroup('4:memory:/docker/x\n')), '/docker/x');
  });

  it('when a machine-id file holds a UUID, blanks or "uninitialized", then only real ids are accepted', () => {
    assert.equal(parseMachineId('3D1219C7C4C5404AAA1F6D2A48ADFDA4\n'), '3d1219c7c4c5404aaa1f6d2a48adfda4');
    assert.equal(
      parseMachineId('4c4c4544-0042-3510-8052-b4c04f384d32\n'),
      '4c4c4544004235108052b4c04f384d32',
    );
    assert.equal(parseMachineId('uninitialized\n'), null);
    assert.equal(parseMachineId(''), null);
    assert.equal(parseMachineId('0'.repeat(32)), null);
  });

  it('when the cache is full, then the least recently used entry goes', () => {
    const lru = new LruCache<number, string>(2);
    lru.set(1, 'a');
    lru.set(2, 'b');
    lru.get(1);
    lru.set(3, 'c');
    assert.deepEqual(
      [...lru.entries()].map(([k]) => k),
      [1, 3],
    );
  });
});

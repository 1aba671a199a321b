import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessResolver } from '../collector';

/** A fake procfs: enough of /proc/<pid>/… for the resolver, so pid reuse can be staged. */
class FakeProc {
  readonly root = mkdtempSync(join(tmpdir(), 'nettopo-fakeproc-'));

  constructor() {
    writeFileSync(join(this.root, 'stat'), 'cpu  1 2 3\nbtime 1700000000\n');
  }

  put(pid: number, comm: string, startTicks: number, argv: string[], exe: string): void {
    const dir = join(this.root, String(pid));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    // After "(comm) ": index 0 is field 3 (state), 1 is field 4 (ppid), 19 is field 22 (starttime).
    const fields = Array.from({ length: 50 }, () => '0');
    fields[0] = 'S';
    fields[1] = '1';
    fields[19] = String(startTicks);
    writeFileSync(join(dir, 'stat'), `${pid} (${comm}) ${fields.join(' ')}\n`);
    writeFileSync(join(dir, 'status'), `Name:\t${comm}\nUid:\t1000\t1000\t1000\t1000\n`);
    writeFileSync(join(dir, 'cmdline'), argv.map((a) => `${a}\0`).join(''));
    writeFileSync(join(dir, 'cgroup'), '0::/system.slice/app.service\n');
    symlinkSync(exe, join(dir, 'exe'));
  }

  remove(pid: number): void {
    rmSync(join(this.root, String(pid)), { recursive: true, force: true });
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

describe('process resolver (on a fake /proc)', () => {
  let proc: FakeProc;
  beforeEach(() => {
    proc = new FakeProc();
  });
  afterEach(() => proc.dispose());

  it('when /proc is read, then start time is btime plus field 22 in clock ticks', () => {
    proc.put(100, 'nginx', 12345, ['nginx', '-g', 'daemon off;'], '/usr/sbin/nginx');
    const r = new ProcessResolver({ procRoot: proc.root, clockTicks: 100 });
    const info = r.capture(100, 'nginx', 7);
    assert.equal(info.startTime, 1700000000_000 + 123450);
    assert.equal(info.startTicks, 12345);
    assert.deepEqual(info.cmdline, ['nginx', '-g', 'daemon off;']);
    assert.equal(info.exe, '/usr/sbin/nginx');
    assert.equal(info.uid, 1000);
    assert.equal(info.ppid, 1);
    assert.equal(info.cgroupPath, '/system.slice/app.service');
  });

  it('when a pid is reused by a new process, then the next check after verifyIntervalMs reads the new one', () => {
    proc.put(200, 'old', 1000, ['old'], '/bin/old');
    const r = new ProcessResolver({ procRoot: proc.root, clockTicks: 100, verifyIntervalMs: 0 });
    assert.equal(r.capture(200, 'old', 1).comm, 'old');
    proc.put(200, 'new', 2000, ['new'], '/bin/new');
    const info = r.capture(200, 'new', 1);
    assert.equal(info.comm, 'new');
    assert.equal(info.exe, '/bin/new');
    assert.equal(r.stats.pidReuses, 1);
  });

  it('when the event carries the start time, then a known process costs no read and a reused pid is seen at once', () => {
    proc.put(300, 'a', 1000, ['a'], '/bin/a');
    const r = new ProcessResolver({ procRoot: proc.root, clockTicks: 100 });
    const ns = (ticks: number): bigint => BigInt(ticks) * 10_000_000n + 1234n;
    r.capture(300, 'a', 1, ns(1000));
    for (let i = 0; i < 10; i++) r.capture(300, 'a', 1, ns(1000));
    assert.equal(r.stats.coldReads, 1);
    proc.put(300, 'b', 5000, ['b'], '/bin/b');
    assert.equal(r.capture(300, 'b', 1, ns(5000)).comm, 'b');
    assert.equal(r.stats.coldReads, 2);
    // a late event of the older process is answered from the event, without replacing the cache
    const late = r.capture(300, 'a', 1, ns(1000));
    assert.equal(late.comm, 'a');
    assert.equal(late.startTime, 1700000000_000 + 10_000);
    assert.equal(r.peek(300)?.comm, 'b');
  });

  it('when more processes appear than the cold-read budget allows, then the rest are answered from the event', () => {
    for (let pid = 1; pid <= 5; pid++) proc.put(pid, `p${pid}`, pid, [`p${pid}`], '/bin/p');
    const r = new ProcessResolver({ procRoot: proc.root, clockTicks: 100, maxColdReadsPerSecond: 3 });
    const infos = [1, 2, 3, 4, 5].map((pid) => r.capture(pid, `k${pid}`, 9));
    assert.deepEqual(
      infos.map((i) => i.comm),
      ['p1', 'p2', 'p3', 'k4', 'k5'],
    );
    assert.equal(r.stats.throttled, 2);
    assert.ok(infos[4]?.unknown.includes('exe'));
  });

  it('when a cached process has exited, then a sweep keeps it for exitedTtlMs and evicts it after', async () => {
    proc.put(400, 'x', 1, ['x'], '/bin/x');
    proc.put(401, 'y', 1, ['y'], '/bin/y');
    const r = new ProcessResolver({ procRoot: proc.root, clockTicks: 100, exitedTtlMs: 50 });
    r.capture(400, 'x', 1);
    r.capture(401, 'y', 1);
    proc.remove(400);
    assert.equal(await r.sweep(), 0); // marked exited now, kept for late events …
    assert.equal(r.peek(400)?.comm, 'x');
    await sleep(60);
    assert.equal(await r.sweep(), 1); // … and evicted once the TTL has passed
    assert.equal(r.peek(400), undefined);
    assert.equal(r.peek(401)?.comm, 'y');
  });

  it('when the cache is full, then the least recently seen process is dropped', () => {
    for (let pid = 1; pid <= 3; pid++) proc.put(pid, `p${pid}`, pid, [], '/bin/p');
    const r = new ProcessResolver({ procRoot: proc.root, clockTicks: 100, capacity: 2 });
    r.capture(1, 'p1', 0);
    r.capture(2, 'p2', 0);
    r.capture(1, 'p1', 0);
    r.capture(3, 'p3', 0);
    assert.equal(r.size, 2);
    assert.equal(r.peek(2), undefined);
  });

  it('when converting a boot-time in ns, then it matches procfs rounding (down to whole ticks)', () => {
    const r = new ProcessResolver({ procRoot: proc.root, clockTicks: 100 });
    assert.equal(r.bootNsToTicks(123_456_789_999n), 12345);
    assert.equal(r.bootNsToTicks(9_999_999), 0);
  });
});

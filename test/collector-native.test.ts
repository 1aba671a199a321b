/**
 * The kernel side of the collector against a real kernel: test hosts in network namespaces,
 * peers that report what they sent, and the collector's counts compared with them.
 * Needs root, BTF and BPF; otherwise every test is skipped with the reason printed.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { Context } from 'mocha';
import {
  NativeCollector,
  NativeEvent,
  NativeFlow,
  decodeEvents,
  decodeFlows,
  openNativeCollector,
} from '../collector';
import { FlowStore, HOST_A, HOST_B, PeerProcess, SocketHolder, TestNetwork } from './helpers';

let skipReason: string | undefined;
let collector: NativeCollector | undefined;
let store: FlowStore;
const events: NativeEvent[] = [];
const networks: TestNetwork[] = [];
const peers: PeerProcess[] = [];
const holders: SocketHolder[] = [];

function world(): { net: TestNetwork; port: number } {
  const net = TestNetwork.create();
  networks.push(net);
  return { net, port: 20000 + Math.floor(Math.random() * 20000) };
}

function peer(ns: string, options: ConstructorParameters<typeof PeerProcess>[1]): PeerProcess {
  const p = new PeerProcess(ns, options);
  peers.push(p);
  return p;
}

function endpoint(net: TestNetwork, ns: string, localPort: number, remotePort: number) {
  const netns = net.inode(ns);
  return (f: NativeFlow) => f.netns === netns && f.localPort === localPort && f.remotePort === remotePort;
}

/** Collectors a test opens besides the suite's own; closed after each test. */
const extraCollectors: NativeCollector[] = [];

function extraCollector(options: Parameters<typeof openNativeCollector>[0]): NativeCollector {
  const c = openNativeCollector(options);
  extraCollectors.push(c);
  return c;
}

/** start_boottime of a live process in clock ticks (/proc/<pid>/stat field 22). */
function startTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

function requireCollector(ctx: Context): NativeCollector {
  if (!collector) {
    console.log(`      skipped: ${skipReason}`);
    ctx.skip();
  }
  return collector!;
}

describe('collector-native (real kernel)', function () {
  this.timeout(30000);

  before(function () {
    if (process.geteuid?.() !== 0) {
      skipReason = 'not root: the BPF collector needs root';
      console.log(`    collector-native tests skipped: ${skipReason}`);
      return;
    }
    // As root on a BPF-capable kernel nothing may skip: a collector that does not open is a failure.
    collector = openNativeCollector({ pollIntervalMs: 50 });
    collector.start((batch) => events.push(...decodeEvents(batch)));
    store = new FlowStore(collector);
  });

  afterEach(function () {
    extraCollectors.splice(0).forEach((c) => c.close());
    peers.splice(0).forEach((p) => p.kill());
    holders.splice(0).forEach((h) => h.kill());
    networks.splice(0).forEach((n) => n.destroy());
  });

  after(function () {
    collector?.close();
    assert.deepEqual(TestNetwork.leftovers(), [], 'test namespaces left behind');
  });

  it('when it opens, then every program attaches and the capabilities say so', function () {
    const caps = requireCollector(this).capabilities();
    for (const c of caps) assert.ok(c.attached, `${c.name} (${c.section}) not attached: ${c.error}`);
  });

  for (const io of ['sr', 'rw'] as const) {
    const how = io === 'sr' ? 'send()/recv()' : 'write()/read()';
    it(`when a client and a server talk with ${how}, then each end's bytes, process and role are exact`, async function () {
      requireCollector(this);
      const { net, port } = world();
      const server = peer(net.b, { role: 'server', host: HOST_B.v4, port, reply: 70001, io });
      await server.waitFor('listening');
      const client = peer(net.a, { role: 'client', host: HOST_B.v4, port, send: 123457, io });
      const done = await client.waitFor('done');
      const served = await server.waitFor('served');
      assert.equal(done.received, 70001);
      assert.equal(served.received, 123457);

      const c = await store.waitFor(
        'client end',
        (f) => endpoint(net, net.a, done.localPort!, port)(f) && f.closed,
      );
      const s = await store.waitFor(
        'server end',
        (f) => endpoint(net, net.b, port, done.localPort!)(f) && f.closed,
      );
      assert.deepEqual(
        { role: c.role, pid: c.pid, comm: c.comm, sent: c.bytesSent, received: c.bytesReceived },
        { role: 'client', pid: done.pid, comm: done.comm, sent: 123457, received: 70001 },
      );
      assert.deepEqual(
        { role: s.role, pid: s.pid, comm: s.comm, sent: s.bytesSent, received: s.bytesReceived },
        { role: 'server', pid: served.pid, comm: served.comm, sent: 70001, received: 123457 },
      );
      assert.equal(c.family, 4);
      assert.equal(c.localAddr, HOST_A.v4);
      assert.equal(c.remoteAddr, HOST_B.v4);
      assert.equal(s.localAddr, HOST_B.v4);
      assert.ok(c.connectUs > 0, 'connect latency measured');
      assert.ok(c.cgroupId > 0 && s.cgroupId > 0, 'cgroup ids recorded');
      assert.ok(!c.preexisting && !s.preexisting);
    });
  }

  it('when a connection existed before the collector started, then its direction is known and its later bytes are counted', async function () {
    requireCollector(this);
    const { net, port } = world();
    const server = peer(net.b, { role: 'server', host: HOST_B.v4, port, reply: 5000, io: 'sr' });
    const listening = await server.waitFor('listening');
    const client = peer(net.a, {
      role: 'client',
      host: HOST_B.v4,
      port,
      hold: true,
      before: 1000,
      send: 777,
      io: 'rw',
    });
    const connected = await client.waitFor('connected');
    await new Promise((r) => setTimeout(r, 300)); // the server has read the first 1000 bytes

    const late = openNativeCollector({ pollIntervalMs: 50 });
    try {
      const snap = decodeFlows(late.snapshot());
      const cs = snap.find(endpoint(net, net.a, connected.localPort!, port));
      const ss = snap.find(endpoint(net, net.b, port, connected.localPort!));
      const ls = snap.find(
        (f) => f.netns === net.inode(net.b) && f.role === 'listener' && f.localPort === port,
      );
      assert.ok(cs && ss && ls, 'client, server and listener found by the snapshot');
      assert.deepEqual([cs.role, cs.pid, cs.preexisting], ['client', connected.pid, true]);
      assert.deepEqual([ss.role, ss.pid, ss.preexisting], ['server', listening.pid, true]);
      assert.equal(snap.filter((f) => f.cookie === cs.cookie).length, 1, 'reported once');

      client.release();
      const done = await client.waitFor('done');
      const served = await server.waitFor('served');
      assert.equal(done.received, 5000);
      assert.equal(served.received, 1777);
      const lateStore = new FlowStore(late);
      const c = await lateStore.waitFor('client end', (f) => f.cookie === cs.cookie && f.closed);
      const s = await lateStore.waitFor('server end', (f) => f.cookie === ss.cookie && f.closed);
      assert.deepEqual([c.role, c.bytesSent, c.bytesReceived, c.preexisting], ['client', 777, 5000, true]);
      assert.deepEqual([s.role, s.bytesSent, s.bytesReceived, s.preexisting], ['server', 5000, 777, true]);
    } finally {
      late.close();
    }
  });

  it('when connections live less than 10 ms, then none is missed', async function () {
    requireCollector(this);
    const { net, port } = world();
    const n = 20;
    const server = peer(net.b, { role: 'server', host: HOST_B.v4, port, reply: 3, connections: n });
    await server.waitFor('listening');
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const client = peer(net.a, { role: 'client', host: HOST_B.v4, port, send: 5 });
      ports.push((await client.waitFor('done')).localPort!);
    }
    for (const p of ports) {
      const c = await store.waitFor(`client ${p}`, (f) => endpoint(net, net.a, p, port)(f) && f.closed);
      const s = await store.waitFor(`server ${p}`, (f) => endpoint(net, net.b, port, p)(f) && f.closed);
      assert.deepEqual([c.bytesSent, c.bytesReceived, s.bytesSent, s.bytesReceived], [5, 3, 3, 5]);
      assert.ok((c.closedNs - c.openedNs) / 1e6 < 1000);
    }
  });

  it('when a connect is refused, then it is recorded as a failed connect of the client', async function () {
    requireCollector(this);
    const { net, port } = world();
    const client = peer(net.a, { role: 'client', host: HOST_B.v4, port, send: 1 });
    const failed = await client.waitFor('failed');
    assert.equal(failed.errno, 111); // ECONNREFUSED
    const f = await store.waitFor(
      'failed connect',
      (x) => x.netns === net.inode(net.a) && x.remotePort === port,
    );
    assert.deepEqual(
      [f.role, f.failed, f.closed, f.pid, f.comm],
      ['client', true, true, failed.pid, failed.comm],
    );
    const deadline = Date.now() + 3000;
    while (
      !events.some((e) => e.type === 'connect-failed' && e.flow.cookie === f.cookie) &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      events.some((e) => e.type === 'connect-failed' && e.flow.cookie === f.cookie),
      'a connect-failed event was delivered',
    );
  });

  it('when packets are dropped for a moment, then retransmits are counted', async function () {
    requireCollector(this);
    const { net, port } = world();
    const server = peer(net.b, { role: 'server', host: HOST_B.v4, port, reply: 10 });
    await server.waitFor('listening');
    const client = peer(net.a, { role: 'client', host: HOST_B.v4, port, hold: true, send: 20000 });
    const connected = await client.waitFor('connected');
    net.exec(net.b, 'iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(port), '-j', 'DROP');
    client.release();
    await new Promise((r) => setTimeout(r, 1200));
    net.exec(net.b, 'iptables', '-D', 'INPUT', '-p', 'tcp', '--dport', String(port), '-j', 'DROP');
    const done = await client.waitFor('done', 20000);
    assert.equal(done.received, 10);
    const c = await store.waitFor(
      'client end',
      (f) => endpoint(net, net.a, connected.localPort!, port)(f) && f.closed,
    );
    assert.ok(c.retransmits >= 1, `retransmits: ${c.retransmits}`);
    assert.equal(c.bytesSent, 20000);
  });

  it('when the hosts talk over IPv6, then addresses, bytes and roles are right', async function () {
    requireCollector(this);
    const { net, port } = world();
    const server = peer(net.b, { role: 'server', host: HOST_B.v6, port, reply: 4321 });
    await server.waitFor('listening');
    const client = peer(net.a, { role: 'client', host: HOST_B.v6, port, send: 9876, io: 'rw' });
    const done = await client.waitFor('done');
    const served = await server.waitFor('served');
    const c = await store.waitFor(
      'client end',
      (f) => endpoint(net, net.a, done.localPort!, port)(f) && f.closed,
    );
    const s = await store.waitFor(
      'server end',
      (f) => endpoint(net, net.b, port, done.localPort!)(f) && f.closed,
    );
    assert.deepEqual(
      [c.family, c.localAddr, c.remoteAddr, c.role, c.bytesSent, c.bytesReceived, c.pid],
      [6, HOST_A.v6, HOST_B.v6, 'client', 9876, 4321, done.pid],
    );
    assert.deepEqual(
      [s.family, s.localAddr, s.remoteAddr, s.role, s.bytesSent, s.bytesReceived, s.pid],
      [6, HOST_B.v6, HOST_A.v6, 'server', 4321, 9876, served.pid],
    );
  });

  it('when a server accepts and never reads or writes, then its end is attributed to it at accept, with its start time', async function () {
    requireCollector(this);
    const { net, port } = world();
    const server = peer(net.b, { role: 'server', host: HOST_B.v4, port, silent: true });
    const listening = await server.waitFor('listening');
    const client = peer(net.a, { role: 'client', host: HOST_B.v4, port, hold: true });
    const connected = await client.waitFor('connected');
    const accepted = await server.waitFor('accepted');
    assert.equal(accepted.peerPort, connected.localPort);

    const s = await store.waitFor(
      'server end, attributed',
      (f) => endpoint(net, net.b, port, connected.localPort!)(f) && f.pid !== 0,
    );
    assert.deepEqual(
      [s.role, s.pid, s.comm, s.bytesSent, s.bytesReceived, s.closed],
      ['server', listening.pid, listening.comm, 0, 0, false],
    );
    // CLOCK_BOOTTIME ns in the kernel record, clock ticks (1/100 s) in /proc
    assert.ok(s.startBootNs > 0, 'start time recorded');
    assert.ok(Math.abs(s.startBootNs / 1e7 - startTicks(listening.pid)) <= 1, 'start time matches /proc');
    const c = await store.waitFor('client end', endpoint(net, net.a, connected.localPort!, port));
    assert.ok(
      Math.abs(c.startBootNs / 1e7 - startTicks(connected.pid)) <= 1,
      'client start time matches /proc',
    );
  });

  it('when a client process is ignored, then neither its connect nor its bytes are traced, and its peer is', async function () {
    requireCollector(this);
    const { net, port } = world();
    const server = peer(net.b, { role: 'server', host: HOST_B.v4, port, reply: 300 });
    await server.waitFor('listening');
    const client = peer(net.a, { role: 'client', host: HOST_B.v4, port, send: 400, waitBeforeConnect: true });
    const ready = await client.waitFor('ready');
    const hiding = extraCollector({ ignorePid: ready.pid, pollIntervalMs: 50 });
    const hidingStore = new FlowStore(hiding);
    client.release();
    const done = await client.waitFor('done');
    const s = await hidingStore.waitFor(
      'server end',
      (f) => endpoint(net, net.b, port, done.localPort!)(f) && f.closed,
    );
    assert.deepEqual([s.bytesSent, s.bytesReceived], [300, 400]);
    const hidden = hidingStore.read().filter((f) => f.netns === net.inode(net.a));
    assert.deepEqual(hidden, [], 'no flow of the ignored client');
    // the suite's collector, which ignores nobody here, did see it
    const seen = await store.waitFor('client end', endpoint(net, net.a, done.localPort!, port));
    assert.equal(seen.pid, ready.pid);
  });

  it('when a server process is ignored, then its listener and accepted sockets are hidden, and its client is traced', async function () {
    requireCollector(this);
    const { net, port } = world();
    const server = peer(net.b, { role: 'server', host: HOST_B.v4, port, silent: true });
    const listening = await server.waitFor('listening');
    const hiding = extraCollector({ ignorePid: listening.pid, pollIntervalMs: 50 });
    const hidingStore = new FlowStore(hiding);
    const client = peer(net.a, { role: 'client', host: HOST_B.v4, port, hold: true, before: 10 });
    const connected = await client.waitFor('connected');
    await server.waitFor('accepted'); // accept() has returned: its program has run
    const c = await hidingStore.waitFor('client end', endpoint(net, net.a, connected.localPort!, port));
    assert.deepEqual([c.role, c.pid, c.bytesSent], ['client', connected.pid, 10]);
    const hidden = decodeFlows(hiding.readFlows()).filter((f) => f.netns === net.inode(net.b));
    assert.deepEqual(hidden, [], 'no flow of the ignored server');
    assert.equal(hiding.stats().flowsEvicted, 0, 'a hidden flow is not counted as evicted');
  });

  it('when the ring buffer overflows, then the loss is counted and no flow is lost', async function () {
    requireCollector(this);
    const { net, port } = world();
    const n = 40; // each new client process is one event; 4 KiB hold about 25
    // never drained: nothing started, no wake-up
    const tiny = extraCollector({ ringbufBytes: 4096, wakeupBytes: 1 << 30 });
    const tinyStore = new FlowStore(tiny);
    const server = peer(net.b, { role: 'server', host: HOST_B.v4, port, reply: 7, connections: n });
    await server.waitFor('listening');
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const client = peer(net.a, { role: 'client', host: HOST_B.v4, port, send: 11 });
      ports.push((await client.waitFor('done')).localPort!);
      if (i % 10 === 9) tinyStore.read(); // closed flows wait in the map until read
    }
    for (const p of ports) {
      const c = await tinyStore.waitFor(`client ${p}`, (f) => endpoint(net, net.a, p, port)(f) && f.closed);
      const s = await tinyStore.waitFor(`server ${p}`, (f) => endpoint(net, net.b, port, p)(f) && f.closed);
      assert.deepEqual([c.bytesSent, c.bytesReceived, s.bytesSent, s.bytesReceived], [11, 7, 7, 11]);
      assert.notEqual(c.pid, 0);
    }
    const stats = tiny.stats();
    assert.ok(stats.ringbufFull > 0, `ringbufFull: ${stats.ringbufFull}`);
    assert.equal(stats.flowsEvicted, 0);
    assert.equal(stats.flowUpdateFailed, 0);
  });

  it('when more sockets are open than maxFlows, then the least recently used are evicted and counted, and the default map holds them all', async function () {
    requireCollector(this);
    assert.throws(() => openNativeCollector({ maxFlows: 100 }), /maxFlows must be between 1024/);
    const small = extraCollector({ maxFlows: 1024, pollIntervalMs: 50 });
    assert.equal(small.stats().flowsCapacity, 1024);
    assert.equal(collector!.stats().flowsCapacity, 131072, 'default capacity');
    const { net, port } = world();
    const connections = 700; // 1,400 sockets
    holders.push(await SocketHolder.open(net.a, connections, port));
    // a namespace's inode may be reused by a later one: also match the holder's listening ports
    const held = (p: number): boolean => p >= port && p < port + 4;
    const inNs = (f: NativeFlow): boolean =>
      f.netns === net.inode(net.a) && (held(f.localPort) || held(f.remotePort));
    const kept = decodeFlows(small.readFlows());
    const stats = small.stats();
    assert.ok(kept.length <= 1024, `${kept.length} entries in a map of 1024`);
    assert.ok(
      stats.flowsEvicted >= 2 * connections - 1024,
      `evicted ${stats.flowsEvicted}, at least ${2 * connections - 1024}`,
    );
    assert.equal(stats.flowUpdateFailed, 0, 'an LRU map evicts, it does not refuse');
    const all = store.read().filter(inNs);
    assert.equal(all.length, 2 * connections, 'the default map tracks every socket');
    // each client sent one byte, each accepted socket read it
    const count = (role: string, sent: number, received: number): number =>
      all.filter((f) => f.role === role && f.bytesSent === sent && f.bytesReceived === received).length;
    assert.deepEqual([count('client', 1, 0), count('server', 0, 1)], [connections, connections]);
    // close them all and let them be read as closed, so that no later test sees them closing
    holders.pop()!.kill();
    const deadline = Date.now() + 10000;
    while (store.read().filter((f) => inNs(f) && !f.closed).length > 0) {
      assert.ok(Date.now() < deadline, 'the held sockets close');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('when programs are disabled, then the capabilities report them and the rest still counts', async function () {
    requireCollector(this);
    const partial = extraCollector({
      disablePrograms: ['handle_accept4', 'handle_accept'],
      pollIntervalMs: 50,
    });
    const caps = partial.capabilities();
    for (const c of caps) {
      const off = c.name === 'handle_accept4' || c.name === 'handle_accept';
      assert.equal(c.attached, !off, `${c.name} attached`);
      assert.equal(c.disabled, off, `${c.name} disabled`);
      if (off) assert.match(c.error ?? '', /disabled/);
    }
    assert.throws(() => openNativeCollector({ disablePrograms: ['no_such_program'] }), /no_such_program/);

    const partialStore = new FlowStore(partial);
    const { net, port } = world();
    const server = peer(net.b, { role: 'server', host: HOST_B.v4, port, silent: true });
    const listening = await server.waitFor('listening');
    const client = peer(net.a, { role: 'client', host: HOST_B.v4, port, hold: true, before: 33 });
    const connected = await client.waitFor('connected');
    await server.waitFor('accepted');
    const c = await partialStore.waitFor('client end', endpoint(net, net.a, connected.localPort!, port));
    assert.deepEqual([c.pid, c.bytesSent], [connected.pid, 33]);
    // without accept, a server that never reads stays unattributed in this collector …
    await new Promise((r) => setTimeout(r, 200));
    const s = partialStore.read().find(endpoint(net, net.b, port, connected.localPort!));
    assert.ok(s, 'server end still recorded');
    assert.equal(s.pid, 0);
    // … while the suite's full collector attributed it at accept
    const full = await store.waitFor(
      'server end',
      (f) => endpoint(net, net.b, port, connected.localPort!)(f) && f.pid !== 0,
    );
    assert.equal(full.pid, listening.pid);
  });

  it('when the application reads its last bytes after the connection reached TCP_CLOSE, then they are still counted', async function () {
    requireCollector(this);
    const { net, port } = world();
    const server = peer(net.b, { role: 'server', host: HOST_B.v4, port, reply: 4321 });
    await server.waitFor('listening');
    const client = peer(net.a, { role: 'client', host: HOST_B.v4, port, send: 1234, readLater: true });
    const half = await client.waitFor('half-closed');
    await server.waitFor('served');
    const isClient = endpoint(net, net.a, half.localPort!, port);
    // The server's reply and FIN are queued: the client's socket is closed for TCP, not yet read.
    const early = await store.waitFor('closed before the last read', (f) => isClient(f) && f.closed);
    assert.equal(early.bytesReceived, 0);
    assert.equal(early.destroyed, false, 'a socket its process still holds is not final');
    client.release();
    const done = await client.waitFor('done');
    assert.equal(done.received, 4321);
    const final = await store.waitFor('destroyed', (f) => isClient(f) && f.destroyed);
    assert.equal(final.bytesSent, 1234);
    assert.equal(final.bytesReceived, 4321);
  });

  it('when a destroyed flow has been read once, then it is deleted from the map', async function () {
    requireCollector(this);
    const own = extraCollector({ pollIntervalMs: 50 });
    const { net, port } = world();
    const server = peer(net.b, { role: 'server', host: HOST_B.v4, port, reply: 2 });
    await server.waitFor('listening');
    const client = peer(net.a, { role: 'client', host: HOST_B.v4, port, send: 3 });
    const done = await client.waitFor('done');
    await server.waitFor('served');
    const isClient = endpoint(net, net.a, done.localPort!, port);
    let first: NativeFlow | undefined;
    const deadline = Date.now() + 5000;
    while (!first && Date.now() < deadline) {
      // final once its socket is destroyed (TCP_CLOSE comes first: the process may still hold it)
      first = decodeFlows(own.readFlows()).find((f) => isClient(f) && f.destroyed);
      if (!first) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(first, 'the closed client flow is read once');
    const deletedBefore = own.stats().flowsDeleted;
    assert.ok(deletedBefore >= 1);
    const again = decodeFlows(own.readFlows()).filter((f) => f.cookie === first.cookie);
    assert.deepEqual(again, [], 'gone at the next read');
    assert.equal(own.stats().flowsEvicted, 0);
  });

  it('when flows are read, then nothing was dropped and closed flows are gone from the map', function () {
    const c = requireCollector(this);
    store.read();
    const stats = c.stats();
    assert.equal(stats.ringbufFull, 0);
    assert.equal(stats.flowUpdateFailed, 0);
    assert.equal(stats.flowsEvicted, 0);
    assert.ok(decodeFlows(c.readFlows()).every((f) => !f.closed));
  });
});

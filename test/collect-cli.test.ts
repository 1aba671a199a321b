/**
 * `nettopo collect` end to end, as a user runs it: the CLI in its own process, two test hosts in
 * network namespaces, a server inside a kubepods-shaped cgroup (a containerd container of a pod)
 * and a client inside a docker-shaped one; the JSON lines it prints are compared with what the
 * peers report they sent and received.
 * Needs root and a BPF-capable kernel; otherwise skipped with the reason printed.
 */
import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import type { FlowRecord } from '../contract';
import { cgroupTestSkipReason, TestCgroups } from './helpers/cgroups';
import { CliRun, HOST_A, HOST_B, PeerProcess, TestNetwork } from './helpers';

/** `nettopo collect` in its own process, with the flow records it prints. */
class CollectRun extends CliRun<FlowRecord> {
  get records(): FlowRecord[] {
    return this.lines;
  }

  /** Starts it and resolves once the programs are attached and the snapshot taken. */
  static async start(args: string[]): Promise<CollectRun> {
    const run = new CollectRun(['collect', ...args]);
    await run.waitForLog(/snapshot: /);
    return run;
  }

  /** The newest record matching, waiting (bounded) until one in a final state arrives. */
  async final(match: (r: FlowRecord) => boolean, timeoutMs = 10000): Promise<FlowRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.records.filter(match).pop();
      if (found && found.state !== 'open') return found;
      if (Date.now() > deadline)
        throw new Error(`no final record; got ${JSON.stringify(found)}; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('nettopo collect (real kernel, CLI)', function () {
  this.timeout(60000);
  let skip: string | null = null;
  let net: TestNetwork | undefined;
  let cgroups: TestCgroups | undefined;
  let run: CollectRun | undefined;
  const peers: PeerProcess[] = [];

  before(function () {
    skip = process.geteuid?.() !== 0 ? 'needs root (loads eBPF programs)' : cgroupTestSkipReason();
    if (skip) {
      console.log(`    skipped: ${skip}`);
      this.skip();
    }
  });

  afterEach(async function () {
    peers.splice(0).forEach((p) => p.kill());
    await run?.stop();
    run = undefined;
    net?.destroy();
    net = undefined;
    await cgroups?.cleanup();
    cgroups = undefined;
  });

  it('when a pod talks to a docker container on another host, then each end is attributed to its process, container and pod, with exact bytes and the right direction', async function () {
    net = TestNetwork.create();
    cgroups = TestCgroups.create();
    const podUid = randomUUID();
    const serverContainer = randomBytes(32).toString('hex');
    const clientContainer = randomBytes(32).toString('hex');
    const serverCgroup = cgroups.mkdir(
      `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${podUid.replace(/-/g, '_')}.slice/cri-containerd-${serverContainer}.scope`,
    );
    const clientCgroup = cgroups.mkdir(`system.slice/docker-${clientContainer}.scope`);
    const port = 20000 + Math.floor(Math.random() * 20000);

    run = await CollectRun.start(['--interval', '0.5', '--port', String(port)]);
    const server = new PeerProcess(
      net.b,
      { role: 'server', host: HOST_B.v4, port, reply: 4321 },
      serverCgroup.dir,
    );
    peers.push(server);
    const listening = await server.waitFor('listening');
    const client = new PeerProcess(
      net.a,
      { role: 'client', host: HOST_B.v4, port, send: 98765, io: 'rw' },
      clientCgroup.dir,
    );
    peers.push(client);
    const done = await client.waitFor('done');
    const served = await server.waitFor('served');
    assert.equal(done.received, 4321);
    assert.equal(served.received, 98765);

    const clientEnd = await run.final((r) => r.localPort === done.localPort && r.remotePort === port);
    const serverEnd = await run.final((r) => r.localPort === port && r.remotePort === done.localPort);

    assert.equal(clientEnd.role, 'client');
    assert.equal(clientEnd.pid, done.pid);
    assert.equal(clientEnd.comm, done.comm);
    assert.equal(clientEnd.localAddr, HOST_A.v4);
    assert.equal(clientEnd.remoteAddr, HOST_B.v4);
    assert.equal(clientEnd.bytesSent, 98765);
    assert.equal(clientEnd.bytesReceived, 4321);
    assert.equal(clientEnd.containerId, clientContainer);
    assert.equal(clientEnd.containerRuntime, 'docker');
    assert.equal(clientEnd.podUid, null);
    assert.equal(clientEnd.netns, net.inode(net.a));
    assert.ok(
      clientEnd.connectLatencyUs !== null && clientEnd.connectLatencyUs > 0,
      'connect latency measured',
    );
    assert.equal(clientEnd.preexisting, false);

    assert.equal(serverEnd.role, 'server');
    assert.equal(serverEnd.pid, listening.pid);
    assert.equal(serverEnd.localAddr, HOST_B.v4);
    assert.equal(serverEnd.bytesSent, 4321);
    assert.equal(serverEnd.bytesReceived, 98765);
    assert.equal(serverEnd.containerId, serverContainer);
    assert.equal(serverEnd.containerRuntime, 'containerd');
    assert.equal(serverEnd.podUid, podUid);
    assert.equal(serverEnd.netns, net.inode(net.b));

    // Both ends belong to one run of one host, numbered in order.
    assert.equal(clientEnd.runId, serverEnd.runId);
    assert.match(clientEnd.hostId, /^[0-9a-f]{32}$/);
    const seqs = run.records.map((r) => r.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((x, y) => x - y),
      'sequence numbers increase',
    );
  });

  it('when filtered by a port nobody uses, then nothing is printed and it stops cleanly at --duration', async function () {
    run = await CollectRun.start(['--interval', '0.2', '--duration', '1', '--port', '1']);
    await new Promise((r) => setTimeout(r, 1500));
    const stderr = await run.stop();
    assert.deepEqual(run.records, []);
    assert.match(stderr, /stopped: 0 flow records; drops: ring buffer 0/);
  });

  it('when scoped to one network namespace with a host id of its own, then only the end of a connection inside that namespace is printed, under that host id', async function () {
    net = TestNetwork.create();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const hostId = randomBytes(16).toString('hex');
    run = await CollectRun.start(['--interval', '0.5', '--host-id', hostId, '--netns', net.b]);
    const server = new PeerProcess(net.b, { role: 'server', host: HOST_B.v4, port, reply: 100 });
    peers.push(server);
    await server.waitFor('listening');
    const client = new PeerProcess(net.a, { role: 'client', host: HOST_B.v4, port, send: 200 });
    peers.push(client);
    const done = await client.waitFor('done');
    await server.waitFor('served');

    const serverEnd = await run.final((r) => r.localPort === port && r.remotePort === done.localPort);
    assert.equal(serverEnd.hostId, hostId);
    assert.equal(serverEnd.netns, net.inode(net.b));
    assert.equal(serverEnd.bytesReceived, 200);
    await run.stop();
    assert.deepEqual(
      run.records.filter((r) => r.netns !== net?.inode(net.b)),
      [],
      'nothing of other namespaces (the client end in A, the traffic of the machine itself)',
    );
  });

  it('when Kafka cannot be reached at all, then the collector exits with status 3 and says how many records it did not deliver: every record of its run', async function () {
    const cli = new CliRun([
      'collect',
      '--kafka',
      '127.0.0.1:1', // nothing listens on port 1
      '--duration',
      '2',
      '--interval',
      '0.5',
      '--heartbeat',
      '0.5',
      '--stop-timeout',
      '1',
    ]);
    assert.equal(await cli.exited(60000), 3, cli.stderr);
    const note =
      /nettopo: (\d+) records not delivered to Kafka: (\d+) still buffered at exit, 0 dropped \(buffer full\), 0 refused \(too large\), 0 not encodable/.exec(
        cli.stderr,
      );
    assert.ok(note, cli.stderr);
    const summary = /kafka: (\d+) records submitted, 0 produced, .*, last seq (\d+)/.exec(cli.stderr);
    assert.ok(summary, cli.stderr);
    const lost = Number(note[1]);
    assert.ok(lost >= 4, `heartbeats and the host record at least (${lost})`);
    assert.equal(Number(note[2]), lost);
    assert.equal(Number(summary[1]), lost, 'every record submitted was lost');
    assert.equal(Number(summary[2]), lost, 'every sequence number of the run');
  });

  it('when given a host id that is not 32 hex digits or an unknown namespace, then it refuses to start', async function () {
    for (const args of [
      ['--host-id', 'not-a-machine-id'],
      ['--netns', `nettopo-absent-${process.pid}`],
    ]) {
      const cli = new CliRun(['collect', '--duration', '1', ...args]);
      assert.notEqual(await cli.exited(20000), 0, args.join(' '));
      assert.match(cli.stderr, /32 hex digits|not found/);
    }
  });
});

import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { Codec, ipFromBytes, type FlowRecord } from '../../contract';
import { TestCgroups } from './cgroups';
import type { CliRun } from './cli-run';
import { TestTopics } from './kafka-topics';
import { HOST_A, HOST_B, TestNetwork } from './netns';
import { PeerProcess, type PeerReport } from './peer-process';

/** Starts `nettopo <args>` the way a test wants it run: directly, with fewer capabilities, from an image. */
export type CollectorLauncher = (args: string[]) => CliRun<FlowRecord>;

/** What one collector run reported about one connection between two test hosts. */
export interface CollectorObservation {
  client: PeerReport;
  server: PeerReport;
  clientEnd: FlowRecord;
  serverEnd: FlowRecord;
  clientContainer: string;
  serverContainer: string;
  serverPod: string;
  /** The client's first process record (it came from /proc/<pid>). */
  clientProcess: { exe: string | null; cmdline: string[]; uid: number | null };
  /** The host record's addresses of each test host's network namespace. */
  addressesOfA: string[];
  addressesOfB: string[];
  /** The last heartbeat's programs. */
  capabilities: { name: string; attached: boolean; error: string | null }[];
  drops: Record<string, number>;
  stderr: string;
}

/**
 * One run of the collector judged on everything its privileges must buy: a client in test host A, inside a
 * docker-shaped cgroup, sends 1000 + 98765 bytes to a server in test host B, inside a pod's containerd cgroup,
 * which replies 4321; the collector (started by `launch` with --kafka to the local stack) must report both ends
 * with exact bytes, pids and containers (BPF programs, /proc, the cgroup hierarchy), the client's executable
 * (/proc/<pid>/exe of a process with more capabilities: CAP_SYS_PTRACE) and each test host's addresses (read
 * inside their namespaces: CAP_SYS_ADMIN). Everything it makes (namespaces, cgroups, topics) is removed again.
 */
export async function observeCollector(launch: CollectorLauncher): Promise<CollectorObservation> {
  const topics = new TestTopics();
  const net = TestNetwork.create();
  const cgroups = TestCgroups.create();
  const peers: PeerProcess[] = [];
  let run: CliRun<FlowRecord> | undefined;
  try {
    const serverPod = randomUUID();
    const serverContainer = randomBytes(32).toString('hex');
    const clientContainer = randomBytes(32).toString('hex');
    const podSlice = `kubepods-besteffort-pod${serverPod.replace(/-/g, '_')}.slice`;
    const serverCgroup = cgroups.mkdir(
      `kubepods.slice/kubepods-besteffort.slice/${podSlice}/cri-containerd-${serverContainer}.scope`,
    );
    const clientCgroup = cgroups.mkdir(`system.slice/docker-${clientContainer}.scope`);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const flags = { '--format': 'json', '--interval': '0.5', '--heartbeat': '1', '--host-interval': '1' };
    run = launch([
      'collect',
      ...topics.collectArgs(),
      ...Object.entries(flags).flat(),
      '--port',
      String(port),
    ]);
    await run.waitForLog(/snapshot: /, 60000);
    await run.waitForLog(/\[kafka\] connected/);

    const server = new PeerProcess(
      net.b,
      { role: 'server', host: HOST_B.v4, port, reply: 4321 },
      serverCgroup.dir,
    );
    peers.push(server);
    await server.waitFor('listening');
    const clientPeer = new PeerProcess(
      net.a,
      { role: 'client', host: HOST_B.v4, port, send: 98765, hold: true, before: 1000 },
      clientCgroup.dir,
    );
    peers.push(clientPeer);
    // Alive long enough for the collector to read its /proc entry, and for a host record with both hosts.
    await clientPeer.waitFor('connected');
    await new Promise((r) => setTimeout(r, 1500));
    clientPeer.release();
    const client = await clientPeer.waitFor('done');
    const server_ = await server.waitFor('served');
    const final = (local: number, remote: number): Promise<FlowRecord> =>
      run!.waitForLine((r) => r.localPort === local && r.remotePort === remote && r.state !== 'open');
    const clientEnd = await final(client.localPort!, port);
    const serverEnd = await final(port, client.localPort!);
    await new Promise((r) => setTimeout(r, 1200)); // a heartbeat after the connection
    const stderr = await run.stop();
    run = undefined;

    const codec = new Codec();
    const read = await topics.read(
      [topics.topic('process'), topics.topic('host'), topics.topic('heartbeat')],
      (ms) => {
        const kinds = new Set(ms.map((m) => m.topic));
        return kinds.size === 3;
      },
    );
    const records = read.map((m) => codec.decode(m.message.value, m.message.headers));
    const processRecord = records.find((d) => d.kind === 'process' && d.record.pid === client.pid);
    assert.ok(processRecord?.kind === 'process', `a process record of the client (pid ${client.pid})`);
    const hosts = records.filter((d) => d.kind === 'host');
    const addressesOf = (ns: string): string[] => {
      const inode = net.inode(ns);
      const found = new Set<string>();
      for (const h of hosts)
        if (h.kind === 'host')
          for (const n of h.record.namespaces)
            if (n.netns === inode) n.addresses.forEach((a) => found.add(ipFromBytes(a.address)));
      return [...found];
    };
    const beat = records.filter((d) => d.kind === 'heartbeat').at(-1);
    assert.ok(beat?.kind === 'heartbeat', 'a heartbeat');
    return {
      client,
      server: server_,
      clientEnd,
      serverEnd,
      clientContainer,
      serverContainer,
      serverPod,
      clientProcess: {
        exe: processRecord.record.exe,
        cmdline: processRecord.record.cmdline,
        uid: processRecord.record.uid,
      },
      addressesOfA: addressesOf(net.a),
      addressesOfB: addressesOf(net.b),
      capabilities: beat.record.capabilities.map((c) => ({ ...c })),
      drops: { ...beat.record.drops },
      stderr,
    };
  } finally {
    peers.forEach((p) => p.kill());
    await run?.stop();
    net.destroy();
    await cgroups.cleanup();
    await topics.cleanup();
  }
}

/** Everything {@link observeCollector} must see when the collector has all it needs. */
export function assertFullyObserved(o: CollectorObservation): void {
  assert.deepEqual(
    o.capabilities.filter((c) => !c.attached),
    [],
    'every program attached',
  );
  assert.deepEqual(o.drops, { ringBufferFull: 0, mapFull: 0, kafkaBufferFull: 0 });
  // The cgroup v2 hierarchy is found: cgroup ids resolve to containers even after their processes are gone.
  assert.doesNotMatch(o.stderr, /containers are attributed from \/proc\/<pid>\/cgroup only/);

  assert.equal(o.clientEnd.role, 'client');
  assert.equal(o.clientEnd.pid, o.client.pid);
  assert.equal(o.clientEnd.bytesSent, 99765);
  assert.equal(o.clientEnd.bytesReceived, 4321);
  assert.equal(o.clientEnd.containerId, o.clientContainer);
  assert.equal(o.clientEnd.containerRuntime, 'docker');
  assert.equal(o.serverEnd.role, 'server');
  assert.equal(o.serverEnd.pid, o.server.pid);
  assert.equal(o.serverEnd.bytesSent, 4321);
  assert.equal(o.serverEnd.bytesReceived, 99765);
  assert.equal(o.serverEnd.containerId, o.serverContainer);
  assert.equal(o.serverEnd.podUid, o.serverPod);

  assert.ok(
    o.clientProcess.cmdline.some((a) => a.endsWith('tcp-peer.py')),
    'the client command line',
  );
  assert.match(
    o.clientProcess.exe ?? '(none)',
    /\/python3[.\d]*$/,
    'the client executable (/proc/<pid>/exe)',
  );
  assert.equal(o.clientProcess.uid, 0);
  assert.ok(o.addressesOfA.includes(HOST_A.v4), `host A's address, got [${o.addressesOfA.join(', ')}]`);
  assert.ok(o.addressesOfB.includes(HOST_B.v4), `host B's address, got [${o.addressesOfB.join(', ')}]`);
}

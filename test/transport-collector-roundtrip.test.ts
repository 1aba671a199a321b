/**
 * The collector → Kafka transport end to end: `nettopo collect --kafka` as a user runs it, real
 * traffic between two test hosts, the local stack's real Kafka. What the collector printed is
 * compared with what a consumer reads back and decodes from the topics.
 * Needs root and a BPF-capable kernel (otherwise skipped with the reason), and the local stack's
 * Kafka (`nettopo stack up kafka`, ports from NETTOPO_KAFKA_PORT).
 */
import { strict as assert } from 'node:assert';
import type { FlowRecord } from '../contract';
import {
  Codec,
  flowFromAvro,
  ipFromBytes,
  machineIdFromBytes,
  uuidFromBytes,
  type CollectorKind,
  type DecodedRecord,
} from '../contract';
import {
  CliRun,
  HOST_A,
  HOST_B,
  PeerProcess,
  TestNetwork,
  TestTopics,
  type ReadMessage,
  skipUnlessRoot,
} from './helpers';

const KINDS: CollectorKind[] = ['flow', 'process', 'listener', 'host', 'heartbeat'];

/** What every collector record starts with. */
interface RunFields {
  hostId: Buffer;
  runId: Buffer;
  seq: number;
}

function decodeAll(messages: ReadMessage[]): (DecodedRecord & { key: string; run: RunFields })[] {
  const codec = new Codec();
  return messages.map((m) => {
    const d = codec.decode(m.message.value, m.message.headers);
    return { ...d, key: m.message.key?.toString() ?? '', run: d.record as unknown as RunFields };
  });
}

function lastSeqOf(stderr: string): number {
  const m =
    /kafka: (\d+) records submitted, (\d+) produced, (\d+) dropped .*?, (\d+) undelivered at exit, last seq (\d+)/.exec(
      stderr,
    );
  assert.ok(m, `no kafka summary in:\n${stderr}`);
  assert.equal(m[4], '0', 'nothing left undelivered');
  return Number(m[5]);
}

describe('transport: collector → Kafka (real kernel, real Kafka)', function () {
  this.timeout(90000);
  let net: TestNetwork | undefined;
  let topics: TestTopics | undefined;
  let run: CliRun<FlowRecord> | undefined;
  const peers: PeerProcess[] = [];

  before(skipUnlessRoot);

  afterEach(async function () {
    peers.splice(0).forEach((p) => p.kill());
    await run?.stop();
    run = undefined;
    net?.destroy();
    net = undefined;
    await topics?.cleanup();
    topics = undefined;
  });

  it('when the collector runs with --kafka during real traffic, then every record it printed is read back from Kafka with the same values, alongside process, listener, host and heartbeat records of the same run', async function () {
    topics = new TestTopics();
    net = TestNetwork.create();
    const port = 20000 + Math.floor(Math.random() * 20000);
    run = new CliRun<FlowRecord>([
      'collect',
      '--kafka',
      topics.broker,
      '--topic-prefix',
      topics.prefix,
      '--format',
      'json',
      '--interval',
      '0.5',
      '--heartbeat',
      '1',
      '--port',
      String(port),
    ]);
    await run.waitForLog(/snapshot: /);
    await run.waitForLog(/\[kafka\] connected/);

    const server = new PeerProcess(net.b, { role: 'server', host: HOST_B.v4, port, reply: 4321 });
    peers.push(server);
    const listening = await server.waitFor('listening');
    const client = new PeerProcess(net.a, {
      role: 'client',
      host: HOST_B.v4,
      port,
      send: 98765,
      hold: true,
      before: 1000,
    });
    peers.push(client);
    // Alive long enough for the collector to read its /proc entry (command line, executable).
    await client.waitFor('connected');
    await new Promise((r) => setTimeout(r, 700));
    client.release();
    const done = await client.waitFor('done');
    await server.waitFor('served');
    const isClientEnd = (r: FlowRecord): boolean => r.localPort === done.localPort && r.remotePort === port;
    const isServerEnd = (r: FlowRecord): boolean => r.localPort === port && r.remotePort === done.localPort;
    await run.waitForLine((r) => isClientEnd(r) && r.state !== 'open');
    await run.waitForLine((r) => isServerEnd(r) && r.state !== 'open');
    await new Promise((r) => setTimeout(r, 1500)); // a heartbeat or two, the exits noticed
    const stderr = await run.stop();
    assert.equal(run.exitCode, 0, 'everything delivered: a clean exit');
    const lastSeq = lastSeqOf(stderr);
    const printed = run.lines;
    assert.ok(printed.length >= 2);

    const messages = await topics.read(
      KINDS.map((k) => topics!.topic(k)),
      (ms) => new Set(decodeAll(ms).map((d) => d.run.seq)).size >= lastSeq,
    );
    const decoded = decodeAll(messages);

    // One run, one host, one sequence across all topics, nothing missing.
    const { hostId, runId } = printed[0] as FlowRecord;
    for (const d of decoded) {
      assert.equal(machineIdFromBytes(d.run.hostId), hostId);
      assert.equal(uuidFromBytes(d.run.runId), runId);
    }
    const seqs = new Set(decoded.map((d) => d.run.seq));
    assert.equal(seqs.size, lastSeq, 'every sequence number of the run was delivered');
    assert.deepEqual(
      [...seqs].sort((a, b) => a - b),
      Array.from({ length: lastSeq }, (_, i) => i + 1),
    );

    // Flow records: the same values the collector printed, keyed by host.
    const flows = new Map<number, FlowRecord>();
    for (const d of decoded) {
      if (d.kind !== 'flow') continue;
      assert.equal(d.key, hostId);
      flows.set(d.record.seq, flowFromAvro(d.record));
    }
    for (const p of printed) assert.deepEqual(flows.get(p.seq), p, `flow seq ${p.seq}`);
    const clientEnd = [...flows.values()].filter(isClientEnd).pop();
    assert.equal(clientEnd?.bytesSent, 99765); // 1000 before the hold, 98765 after
    assert.equal(clientEnd?.bytesReceived, 4321);
    assert.equal(clientEnd?.pid, done.pid);

    // Process records: the client on first sight (with its command line), then its exit.
    const clientProcess = decoded.filter((d) => d.kind === 'process' && d.record.pid === done.pid);
    assert.ok(clientProcess.length >= 1, 'a process record for the client');
    const first = clientProcess[0]!.record as { cmdline: string[]; exited: boolean; startTime: number };
    assert.equal(first.exited, false);
    assert.ok(
      first.cmdline.some((a) => a.endsWith('tcp-peer.py')),
      `cmdline ${first.cmdline.join(' ')}`,
    );
    assert.equal(clientEnd?.processStartTime, first.startTime);
    assert.ok(
      clientProcess.some((d) => (d.record as { exited: boolean }).exited),
      'an exited record once the client is gone',
    );

    // Listener records: the server's socket listening, then closed.
    const listener = decoded.filter(
      (d) => d.kind === 'listener' && d.record.port === port && d.record.netns === net!.inode(net!.b),
    );
    assert.ok(listener.length >= 1, 'a listener record for the server');
    assert.equal((listener[0]!.record as { pid: number }).pid, listening.pid);
    assert.equal((listener[0]!.record as { state: string }).state, 'listening');
    assert.equal((listener.at(-1)!.record as { state: string }).state, 'closed');

    // Host record: each test host's namespace with its address.
    const host = decoded.find((d) => d.kind === 'host');
    assert.ok(host && host.kind === 'host');
    const addressesOf = (ns: number): string[] =>
      host.record.namespaces.find((n) => n.netns === ns)?.addresses.map((a) => ipFromBytes(a.address)) ?? [];
    assert.ok(addressesOf(net.inode(net.a)).includes(HOST_A.v4), 'host A address in the host record');
    assert.ok(addressesOf(net.inode(net.b)).includes(HOST_B.v4), 'host B address in the host record');
    assert.ok(addressesOf(net.inode(net.b)).includes(HOST_B.v6));

    // Heartbeats: capabilities and counters, nothing dropped.
    const beats = decoded.filter((d) => d.kind === 'heartbeat');
    assert.ok(beats.length >= 2);
    const last = beats.at(-1)!;
    assert.ok(last.kind === 'heartbeat');
    assert.ok(last.record.capabilities.some((c) => c.name === 'tp_btf/sock_send_length' && c.attached));
    assert.deepEqual({ ...last.record.drops }, { ringBufferFull: 0, mapFull: 0, kafkaBufferFull: 0 });
    assert.ok(beats.some((b) => b.kind === 'heartbeat' && b.record.recordsPerSecond > 0));
  });
});

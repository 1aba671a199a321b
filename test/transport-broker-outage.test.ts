/**
 * The collector's Kafka buffer during a real broker outage: the local stack's own Kafka
 * (NETTOPO_KAFKA_PORT, this worktree's data dir — never another engineer's) is stopped for 20 s
 * and started again while `nettopo collect --kafka` runs and real traffic flows between two test
 * hosts. Every record of a run carries one sequence, so what is missing is countable.
 * Needs root and a BPF-capable kernel (otherwise skipped with the reason).
 */
import { strict as assert } from 'node:assert';
import { Codec } from '../contract';
import type { FlowRecord } from '../contract';
import { LocalStack, stackConfig } from '../stack';
import { CliRun, HOST_B, PeerProcess, TestNetwork, TestTopics, skipUnlessRoot } from './helpers';

const OUTAGE_MS = 20000;

interface Summary {
  submitted: number;
  produced: number;
  dropped: number;
  inDoubt: number;
  undelivered: number;
  lastSeq: number;
}

function summaryOf(stderr: string): Summary {
  const m =
    /kafka: (\d+) records submitted, (\d+) produced, (\d+) dropped \(buffer full; (\d+) of them.*?, (\d+) undelivered at exit, last seq (\d+)/.exec(
      stderr,
    );
  assert.ok(m, `no kafka summary in:\n${stderr}`);
  const [submitted, produced, dropped, inDoubt, undelivered, lastSeq] = m.slice(1).map(Number) as number[];
  return {
    submitted: submitted!,
    produced: produced!,
    dropped: dropped!,
    inDoubt: inDoubt!,
    undelivered: undelivered!,
    lastSeq: lastSeq!,
  };
}

describe('transport: broker outage (real kernel, real Kafka stopped and restarted)', function () {
  this.timeout(240000);
  const stack = new LocalStack(stackConfig());
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
    await stack.up(['kafka']); // whatever happened, leave our Kafka running
    await topics?.cleanup();
    topics = undefined;
  });

  /** Runs the collector through a 20 s outage with traffic; returns its summary and the seqs read back. */
  async function throughOutage(
    bufferMb: number,
  ): Promise<{ summary: Summary; seqs: Set<number>; lastHeartbeatDrops: number }> {
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
      '--buffer-mb',
      String(bufferMb),
      '--stop-timeout',
      '30',
    ]);
    await run.waitForLog(/\[kafka\] connected/);
    const server = new PeerProcess(net.b, {
      role: 'server',
      host: HOST_B.v4,
      port,
      reply: 100,
      connections: 1000,
    });
    peers.push(server);
    await server.waitFor('listening');
    const connectOnce = async (): Promise<void> => {
      const client = new PeerProcess(net!.a, { role: 'client', host: HOST_B.v4, port, send: 5000 });
      await client.waitFor('done');
    };
    await connectOnce();

    await stack.down(['kafka']);
    const downAt = Date.now();
    while (Date.now() - downAt < OUTAGE_MS) {
      await connectOnce();
      await new Promise((r) => setTimeout(r, 300));
    }
    await stack.up(['kafka']);
    await run.waitForLog(/delivering again/, 90000);
    await connectOnce();
    await new Promise((r) => setTimeout(r, 3000));
    const stderr = await run.stop(60000);
    const summary = summaryOf(stderr);
    assert.equal(summary.undelivered, 0, 'the buffer was drained before exit');

    const codec = new Codec();
    const seqs = new Set<number>();
    let lastHeartbeat = { seq: 0, drops: -1 };
    const kinds = ['flow', 'process', 'listener', 'host', 'heartbeat'] as const;
    await topics.read(
      kinds.map((k) => topics!.topic(k)),
      (ms) => {
        for (const m of ms.splice(0)) {
          const d = codec.decode(m.message.value, m.message.headers);
          const seq = (d.record as { seq: number }).seq;
          seqs.add(seq);
          if (d.kind === 'heartbeat' && seq > lastHeartbeat.seq)
            lastHeartbeat = { seq, drops: d.record.drops.kafkaBufferFull };
        }
        return seqs.size >= summary.lastSeq - summary.dropped;
      },
      60000,
    );
    console.log(
      `      ${bufferMb} MiB cap: ${JSON.stringify(summary)}, ${seqs.size} distinct records on Kafka`,
    );
    return { summary, seqs, lastHeartbeatDrops: lastHeartbeat.drops };
  }

  it('when Kafka is down for 20 s while flows keep coming, then no record is lost within the buffer cap', async function () {
    const { summary, seqs, lastHeartbeatDrops } = await throughOutage(64);
    assert.ok(summary.lastSeq > 50, `records made during the outage (${summary.lastSeq})`);
    assert.equal(summary.dropped, 0);
    assert.equal(seqs.size, summary.lastSeq, 'every sequence number of the run is on Kafka');
    assert.equal(lastHeartbeatDrops, 0);
  });

  it('when the buffer cap is tiny, then the drop counter (log and heartbeat) equals the records missing from Kafka, give or take those dropped after a failed send', async function () {
    const { summary, seqs, lastHeartbeatDrops } = await throughOutage(0.02);
    const missing = [...Array(summary.lastSeq).keys()].map((i) => i + 1).filter((s) => !seqs.has(s));
    assert.ok(summary.dropped > 0, 'the cap was hit');
    // Exact, except for records whose send had failed before they were dropped: an acknowledgement
    // lost on the way may have left them on Kafka (counted apart, "in doubt").
    assert.ok(
      missing.length <= summary.dropped && missing.length >= summary.dropped - summary.inDoubt,
      `missing ${missing.length}, dropped ${summary.dropped} (${summary.inDoubt} in doubt)`,
    );
    assert.equal(lastHeartbeatDrops, summary.dropped, 'the last heartbeat reports them');
    assert.match(run!.stderr, /Kafka buffer full \(cap 0\.0 MiB\): \d+ records dropped/);
  });
});

/**
 * Records a broker will not take: the collector's Kafka sink against the local stack's real Kafka,
 * with topics whose `max.message.bytes` is made small. A refused record is counted, logged once
 * and skipped; the records after it are delivered, in order; nothing is retried forever.
 * Needs the local stack's Kafka (`nettopo stack up kafka`, NETTOPO_KAFKA_PORT).
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { Codec, flowToAvro, TOPICS, type CollectorKind, type ContractRecords } from '../contract';
import { KafkaSink, kafkaSettings } from '../kafka';
import { containerFlow, samples } from './contract-samples';
import { TestTopics, type ReadMessage } from './helpers';

/** Everything written to stderr while `fn` runs (the sink's log lines). */
async function stderrOf(fn: () => Promise<void>): Promise<string> {
  let text = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    text += chunk.toString();
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stderr.write = write;
  }
  return text;
}

/** A flow record of sequence `seq`; `big` gives it an incompressible 6 KiB name (gzip cannot shrink it). */
function flow(seq: number, big = false): ContractRecords['flow'] {
  return flowToAvro(containerFlow({ seq, comm: big ? randomBytes(4608).toString('base64') : 'envoy' }));
}

describe('transport: records the broker refuses (real Kafka)', function () {
  this.timeout(120_000);
  let topics: TestTopics | undefined;
  let sink: KafkaSink | undefined;

  afterEach(async () => {
    await sink?.stop(1000);
    sink = undefined;
    await topics?.cleanup();
    topics = undefined;
  });

  /** Creates the prefixed topics of `kinds` with one partition and a 4 KiB message limit. */
  async function smallTopics(kinds: CollectorKind[]): Promise<TestTopics> {
    const t = new TestTopics();
    const admin = t.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: kinds.map((kind) => ({
          topic: t.topic(kind),
          numPartitions: 1,
          configEntries: [{ name: 'max.message.bytes', value: '4096' }],
        })),
      });
    } finally {
      await admin.disconnect();
    }
    return t;
  }

  function startSink(prefix: string, options: { maxRecordBytes?: number } = {}): KafkaSink {
    const s = new KafkaSink({
      settings: kafkaSettings({ brokers: topics!.broker }),
      topicPrefix: prefix,
      partitions: 1,
      ...options,
    });
    s.start();
    return s;
  }

  /** The sequence numbers read back from a topic, in order, once `count` distinct ones are there. */
  async function seqsOn(kind: CollectorKind, count: number): Promise<number[]> {
    const codec = new Codec();
    const seqOf = (m: ReadMessage): number =>
      (codec.decode(m.message.value, m.message.headers).record as { seq: number }).seq;
    const messages = await topics!.read([topics!.topic(kind)], (ms) => new Set(ms.map(seqOf)).size >= count);
    return messages.map(seqOf);
  }

  it('when the broker refuses one record of a stream as too large, then it is counted, logged once and skipped, and every record after it arrives in order', async () => {
    topics = await smallTopics(['flow']);
    const log = await stderrOf(async () => {
      sink = startSink(topics!.prefix);
      for (let seq = 1; seq <= 120; seq++) sink.send('flow', flow(seq, seq === 40 || seq === 41));
      await sink.stop(60_000);
    });
    const stats = sink!.stats();
    assert.equal(stats.refused, 2);
    assert.equal(stats.produced, 118);
    assert.equal(stats.buffered, 0);
    assert.deepEqual(sink!.undelivered(), { dropped: 0, refused: 2, invalid: 0, leftAtExit: 0, total: 2 });
    const expected = Array.from({ length: 120 }, (_, i) => i + 1).filter((s) => s !== 40 && s !== 41);
    assert.deepEqual(await seqsOn('flow', 118), expected, 'everything else, once each, in order');
    assert.equal(
      log.match(/record .* is not sent: refused by the broker/g)?.length,
      1,
      `the first refusal is logged, the next counted:\n${log}`,
    );
    assert.match(log, /2 records refused as too large since start/);
  });

  it('when a request mixes a topic that refuses a record with one that takes everything, then the refused record alone is skipped and no other record is lost', async () => {
    topics = await smallTopics(['process']);
    const { process: proc } = samples();
    await stderrOf(async () => {
      sink = startSink(topics!.prefix);
      let seq = 0;
      for (let i = 0; i < 30; i++) {
        sink.send('flow', flow(++seq));
        const cmdline = i === 15 ? [randomBytes(4608).toString('base64')] : ['envoy'];
        sink.send('process', { ...proc, seq: ++seq, pid: 1000 + i, cmdline });
      }
      await sink.stop(60_000);
    });
    assert.equal(sink!.stats().refused, 1);
    const flows = await seqsOn('flow', 30);
    const processes = await seqsOn('process', 29);
    // The flows of a request refused for its process record may have been written before the
    // refusal was known: they may arrive twice (the ingest keeps the newest), never zero times.
    assert.deepEqual(
      [...new Set(flows)],
      Array.from({ length: 30 }, (_, i) => 2 * i + 1),
    );
    assert.deepEqual(
      [...new Set(processes)],
      Array.from({ length: 30 }, (_, i) => 2 * i + 2).filter((s) => s !== 32),
    );
  });

  it('when a record is larger than the sink takes (maxRecordBytes), then it is refused before it is buffered and the others are delivered', async () => {
    topics = new TestTopics();
    const log = await stderrOf(async () => {
      sink = startSink(topics!.prefix, { maxRecordBytes: 2000 });
      for (let seq = 1; seq <= 10; seq++) sink.send('flow', flow(seq, seq === 5));
      assert.equal(sink.stats().refused, 1, 'refused at once');
      await sink.stop(60_000);
    });
    assert.equal(sink!.stats().produced, 9);
    assert.deepEqual(await seqsOn('flow', 9), [1, 2, 3, 4, 6, 7, 8, 9, 10]);
    assert.match(log, new RegExp(`${TOPICS.flow.topic} record .*over the 2000-byte record limit`));
  });
});

/**
 * `nettopo events tail` against the local stack's real Kafka (NETTOPO_KAFKA_PORT): a topic made by
 * the test holds good flow records and bad messages; the command prints the good ones decoded and
 * reports each bad one with its reason, without stopping.
 */
import { strict as assert } from 'node:assert';
import { Codec, SchemaCatalog, flowToAvro } from '../contract';
import { containerFlow, hostFlow, samples } from './contract-samples';
import { CliRun, TestTopics } from './helpers';

interface TailLine {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  schema?: string;
  record?: Record<string, unknown>;
  error?: { name: string; reason: string; schema: string | null; message: string };
  tombstone?: boolean;
}

/** A later build's catalog: flow.v2 = flow.v1 plus a field with a default. */
function futureCodec(): Codec {
  const v1 = SchemaCatalog.default().get('flow.v1');
  assert.ok(v1);
  const definition = structuredClone(v1.definition) as { fields: object[] };
  definition.fields.push({ name: 'congestionControl', type: ['null', 'string'], default: null });
  return new Codec({
    catalog: SchemaCatalog.default().extend([{ name: 'flow.v2', definition }]),
  });
}

describe('nettopo events tail (real Kafka)', function () {
  this.timeout(60000);
  let topics: TestTopics | undefined;
  let tail: CliRun<TailLine> | undefined;

  afterEach(async function () {
    await tail?.stop();
    tail = undefined;
    await topics?.cleanup();
    topics = undefined;
  });

  it('when a flow topic holds garbage bytes, a record of an unknown schema version and a message without header between good records, then each bad one is reported with its reason and the good ones after it are still printed', async function () {
    topics = new TestTopics();
    const topic = topics.topic('flow');
    await topics.create([topic]);
    const codec = new Codec();
    const first = containerFlow();
    const last = { ...hostFlow(), seq: first.seq + 1 };
    const good = (r: typeof first) => {
      const { message } = codec.message('flow', flowToAvro(r));
      return message;
    };
    const v2 = futureCodec().encodeAs('flow.v2', { ...flowToAvro(first), congestionControl: 'bbr' });
    const producer = topics.kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        good(first),
        {
          key: 'garbage',
          value: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff]),
          headers: { 'nettopo-schema': 'flow.v1' },
        },
        { key: first.hostId, value: v2.value, headers: v2.headers },
        { key: 'noheader', value: Buffer.from('{"json":"not avro"}') },
        good(last),
      ],
    });
    await producer.disconnect();

    tail = new CliRun<TailLine>([
      'events',
      'tail',
      topic,
      '--from-beginning',
      '--max',
      '5',
      '--brokers',
      topics.broker,
    ]);
    assert.equal(
      await tail.exited(40000),
      0,
      `events tail exits by itself after --max; stderr:\n${tail.stderr}`,
    );
    const lines = tail.lines;
    assert.equal(lines.length, 5);
    assert.deepEqual(
      lines.map((l) => l.offset),
      ['0', '1', '2', '3', '4'],
    );

    assert.equal(lines[0]!.schema, 'flow.v1');
    assert.equal(lines[0]!.key, first.hostId);
    assert.deepEqual(lines[0]!.record, JSON.parse(JSON.stringify(first)));

    assert.equal(lines[1]!.error?.reason, 'malformed-record');
    assert.equal(lines[1]!.error?.name, 'MalformedRecordError');
    assert.equal(lines[1]!.key, 'garbage');

    assert.equal(lines[2]!.error?.reason, 'unknown-schema');
    assert.equal(lines[2]!.error?.schema, 'flow.v2');
    assert.match(lines[2]!.error?.message ?? '', /flow\.v2/);

    assert.equal(lines[3]!.error?.reason, 'missing-header');

    assert.deepEqual(lines[4]!.record, JSON.parse(JSON.stringify(last)));
    assert.match(tail.stderr, /@1: skipped, malformed-record/);
    assert.match(tail.stderr, /@2: skipped, unknown-schema/);
    assert.match(tail.stderr, /stopped: 5 messages, 3 not decodable/);
  });

  it("when given a kind instead of a topic name, then it reads that kind's topic under the prefix, decoding ids and addresses to text", async function () {
    topics = new TestTopics();
    const topic = topics.topic('listener');
    await topics.create([topic]);
    const codec = new Codec();
    const flow = containerFlow();
    const { message } = codec.message('listener', {
      hostId: Buffer.from(flow.hostId, 'hex'),
      runId: Buffer.from(flow.runId.replace(/-/g, ''), 'hex'),
      seq: 7,
      netns: 4026531840,
      family: 'ipv6',
      address: Buffer.from('20010db8000000000000000000000001', 'hex'),
      port: 8443,
      pid: 42,
      processStartTime: 1764000000000,
      state: 'listening',
      observedAt: 1764000000123,
    });
    const producer = topics.kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [message] });
    await producer.disconnect();

    tail = new CliRun<TailLine>([
      'events',
      'tail',
      'listeners',
      '--topic-prefix',
      topics.prefix,
      '--from-beginning',
      '-n',
      '1',
      '--brokers',
      topics.broker,
    ]);
    assert.equal(await tail.exited(40000), 0, tail.stderr);
    assert.equal(tail.lines[0]!.topic, topic);
    assert.deepEqual(tail.lines[0]!.record, {
      hostId: flow.hostId,
      runId: flow.runId,
      seq: 7,
      netns: 4026531840,
      family: 'ipv6',
      address: '2001:db8::1',
      port: 8443,
      pid: 42,
      processStartTime: 1764000000000,
      state: 'listening',
      observedAt: 1764000000123,
    });
    assert.equal(tail.lines[0]!.key, `${flow.hostId}/4026531840/2001:db8::1/8443`);
  });

  it('when a pods topic holds a pod record and then its tombstone, then tail prints the pod with its uid and addresses as text, and the tombstone as one', async function () {
    topics = new TestTopics();
    const topic = topics.topic('pod');
    await topics.create([topic]);
    const pod = samples().pod;
    const { message } = new Codec().message('pod', pod);
    const producer = topics.kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [message, { key: message.key, value: null }] });
    await producer.disconnect();

    tail = new CliRun<TailLine>([
      'events',
      'tail',
      'pods',
      '--topic-prefix',
      topics.prefix,
      '--from-beginning',
      '-n',
      '2',
      '--brokers',
      topics.broker,
    ]);
    assert.equal(await tail.exited(40000), 0, tail.stderr);
    const [record, tombstone] = tail.lines;
    assert.equal(record!.key, 'prod-eu-1/7b1e4c2a-5d3f-4a8b-9c0d-e1f2a3b4c5d6');
    assert.equal(record!.schema, 'pod.v1');
    assert.deepEqual(
      {
        uid: record!.record!.uid,
        ips: record!.record!.ips,
        labels: record!.record!.labels,
        owners: (record!.record!.owners as { kind: string }[]).map((o) => o.kind),
      },
      {
        uid: '7b1e4c2a-5d3f-4a8b-9c0d-e1f2a3b4c5d6',
        ips: ['10.244.3.17', 'fd00:10:244:3::11'],
        labels: { app: 'web', 'pod-template-hash': '5d9f7c6b8' },
        owners: ['ReplicaSet', 'Deployment'],
      },
    );
    assert.deepEqual(
      { key: tombstone!.key, tombstone: tombstone!.tombstone, record: tombstone!.record },
      { key: record!.key, tombstone: true, record: undefined },
    );
  });
});

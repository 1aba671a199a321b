import { strict as assert } from 'node:assert';
import { Kafka, logLevel } from 'kafkajs';
import type { Driver } from 'neo4j-driver';
import { Codec, TOPICS } from '../contract';
import { createGraphDriver } from '../graph-schema';
import { IngestService } from '../ingest';
import { toNumber } from '../ingest/graph/neo4j-params';
import { connectionUrls } from '../stack';
import { cleanUp, edgeTotals, hex, IngestScenario, produce } from './helpers/ingest-scenario';

describe('ingest: poison records', function () {
  this.timeout(120_000);
  const prefix = `test-${hex(4)}.`;
  const group = `g-${hex(4)}`;
  const s = new IngestScenario({ connections: 10, recordsPerFlow: 3 });
  let driver: Driver;

  before(() => {
    driver = createGraphDriver();
  });
  after(async () => {
    await cleanUp(driver, s, prefix, [group]);
    await driver.close();
  });

  it('when malformed and unknown-schema records are in the stream, then they go to the dead-letter topic with reason and source offset, are counted, and consumption goes on', async () => {
    const flows = s.flowMessages();
    const flowTopic = `${prefix}${TOPICS.flow.topic}`;
    const key = s.hostA;
    const poison = [
      { key, value: Buffer.from('not avro at all'), headers: { 'nettopo-schema': 'flow.v1' } },
      { key, value: flows[0].message.value, headers: { 'nettopo-schema': 'flow.v9' } },
      { key, value: flows[0].message.value, headers: {} },
      { key, value: flows[0].message.value.subarray(0, 10), headers: { 'nettopo-schema': 'flow.v1' } },
    ];
    const kafka = new Kafka({
      clientId: 'nettopo-test',
      brokers: [connectionUrls().kafkaBroker],
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer();
    const ingest = new IngestService({ topicPrefix: prefix, groupId: group });
    const deadLetters: { reason: string }[] = [];
    ingest.on('deadLetter', (r: { reason: string }) => deadLetters.push(r));
    try {
      await ingest.start();
      await produce(prefix, s.stateMessages());
      await ingest.waitUntilCaughtUp(60_000);
      await producer.connect();
      // Poison first, in the middle and at the end of the stream of host A's partition.
      await producer.send({ topic: flowTopic, messages: poison.slice(0, 2) });
      await produce(prefix, flows.slice(0, flows.length / 2));
      await producer.send({ topic: flowTopic, messages: poison.slice(2, 3) });
      await produce(prefix, flows.slice(flows.length / 2));
      await producer.send({ topic: flowTopic, messages: poison.slice(3) });
      await ingest.waitUntilCaughtUp(60_000);
    } finally {
      await producer.disconnect();
      await ingest.stop();
    }
    assert.deepEqual(await edgeTotals(driver, s.hosts), s.expected);

    const { records } = await driver.executeQuery(
      'MATCH (p:IngestProgress {group: $group}) RETURN sum(p.deadLetters) AS n',
      { group },
    );
    assert.equal(toNumber(records[0].get('n')), poison.length);

    // The dead-letter topic holds each one, with its reason and where it came from.
    const codec = new Codec();
    const consumer = kafka.consumer({ groupId: `${group}-dlq-reader` });
    const seen: { reason: string; sourceTopic: string; offset: number }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: `${prefix}nettopo.deadletter.v1`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const { record } = codec.decode(message.value, message.headers, 'deadletter');
        seen.push({ reason: record.reason, sourceTopic: record.sourceTopic, offset: record.offset });
      },
    });
    const deadline = Date.now() + 30_000;
    while (seen.length < poison.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await consumer.disconnect();
    assert.deepEqual(seen.map((x) => x.reason).sort(), [
      'malformed-record',
      'malformed-record',
      'missing-header',
      'unknown-schema',
    ]);
    assert.ok(seen.every((x) => x.sourceTopic === flowTopic && Number.isInteger(x.offset)));
    assert.equal(new Set(seen.map((x) => x.offset)).size, poison.length);
    assert.equal(deadLetters.length, poison.length);
  });
});

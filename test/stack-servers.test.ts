import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { Job, Queue, Worker } from 'bullmq';
import { Kafka, logLevel } from 'kafkajs';
import neo4j from 'neo4j-driver';
import { connectionUrls, stackConfig } from '../stack';

// These tests talk to the real servers of the stack that scripts/test.sh started (`nettopo stack up`).
describe('the local stack serves real clients', function () {
  this.timeout(60_000);
  const config = stackConfig();
  const urls = connectionUrls(config);

  it('when a message is produced to a fresh topic, then a consumer group reads it back', async () => {
    const kafka = new Kafka({
      clientId: 'stack-test',
      brokers: [urls.kafkaBroker],
      logLevel: logLevel.NOTHING,
    });
    const topic = `nettopo.test.${randomUUID()}`;
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: `stack-test-${randomUUID()}` });
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'host-1', value: 'hello topology' }] });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = await new Promise<{ key: string; value: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no message within 30s')), 30_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            clearTimeout(timer);
            resolve({ key: String(message.key), value: String(message.value) });
          },
        });
      });
      assert.deepEqual(received, { key: 'host-1', value: 'hello topology' });
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('when a node is written through neo4j-driver, then a read returns it', async () => {
    const driver = neo4j.driver(urls.neo4jBolt, neo4j.auth.basic(config.neo4j.user, config.neo4j.password));
    const id = randomUUID();
    const session = driver.session();
    try {
      await session.executeWrite((tx) =>
        tx.run('UNWIND $rows AS row MERGE (h:StackTestHost {id: row.id}) SET h.flows = row.flows', {
          rows: [{ id, flows: neo4j.int(42) }],
        }),
      );
      const result = await session.executeRead((tx) =>
        tx.run('MATCH (h:StackTestHost {id: $id}) RETURN h.flows AS flows', { id }),
      );
      assert.equal(result.records.length, 1);
      assert.equal(result.records[0].get('flows').toNumber(), 42);
    } finally {
      await session.executeWrite((tx) => tx.run('MATCH (h:StackTestHost {id: $id}) DELETE h', { id }));
      await session.close();
      await driver.close();
    }
  });

  it('when a BullMQ job is added, then a worker processes it through Redis and returns its result', async () => {
    const connection = { host: config.host, port: config.redis.port, maxRetriesPerRequest: null };
    const name = `stack-test-${randomUUID()}`;
    const queue = new Queue(name, { connection });
    const worker = new Worker(name, async (job) => ({ doubled: (job.data as { n: number }).n * 2 }), {
      connection,
    });
    try {
      // The worker's own completion event, not QueueEvents: a QueueEvents stream reader that starts
      // late on a busy machine misses a job that finishes first.
      const completed = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no job completed within 30 s')), 30_000);
        worker.on('completed', (job) => {
          clearTimeout(timer);
          resolve(job.id as string);
        });
      });
      const job = await queue.add('double', { n: 21 });
      assert.equal(await completed, job.id);
      // Read back from Redis what the worker stored.
      const stored = await Job.fromId(queue, job.id as string);
      assert.deepEqual(stored?.returnvalue, { doubled: 42 });
      assert.equal(await stored?.getState(), 'completed');
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});

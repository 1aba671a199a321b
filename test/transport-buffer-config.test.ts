import { strict as assert } from 'node:assert';
import { BoundedBuffer, describeKafkaSettings, kafkaClientConfig, kafkaSettings } from '../kafka';
import { ConfigError } from '../common';
import { packBatch, transferablesOf, unpackBatch } from '../kafka/kafka-producer-thread';

describe('transport: bounded buffer and Kafka settings', () => {
  const buffer = (maxBytes: number) => new BoundedBuffer<number>({ maxBytes, sizeOf: () => 10 });

  it('when the cap is reached, then the oldest queued records are dropped and counted, never those in flight', () => {
    const b = buffer(50);
    for (let i = 1; i <= 3; i++) b.push(i);
    assert.deepEqual([...b.take(2)], [1, 2]);
    for (let i = 4; i <= 7; i++) b.push(i); // 2 in flight + 3 queued = 50 bytes; 4 more pushed
    assert.equal(b.dropped, 2);
    b.requeue();
    assert.deepEqual([...b.take(10)], [1, 2, 5, 6, 7]);
    b.ack();
    assert.ok(b.empty);
    assert.equal(b.bytes, 0);
  });

  it('when a batch fails, then it goes back to the front in order', () => {
    const b = buffer(1000);
    for (let i = 1; i <= 5; i++) b.push(i);
    b.take(3);
    b.push(6);
    b.requeue();
    assert.deepEqual([...b.take(100)], [1, 2, 3, 4, 5, 6]);
  });

  it('when several batches are in flight and sending fails, then all of them go back to the front in order', () => {
    const b = buffer(1000);
    for (let i = 1; i <= 7; i++) b.push(i);
    assert.deepEqual([...b.take(2)], [1, 2]);
    assert.deepEqual([...b.take(2)], [3, 4]);
    assert.equal(b.inFlightBatches, 2);
    assert.equal(b.inFlightCount, 4);
    b.ack(); // 1, 2 delivered
    assert.deepEqual([...b.take(2)], [5, 6]);
    b.requeue();
    assert.equal(b.inFlightCount, 0);
    assert.equal(b.bytes, 50);
    assert.deepEqual([...b.take(10)], [3, 4, 5, 6, 7]);
  });

  it('when the broker refuses the oldest record, then removing it frees its bytes and is not counted as a drop', () => {
    const b = buffer(1000);
    for (let i = 1; i <= 3; i++) b.push(i);
    b.take(1);
    b.requeue();
    assert.equal(b.removeFirst(), 1);
    assert.equal(b.bytes, 20);
    assert.equal(b.dropped, 0);
    assert.deepEqual([...b.take(10)], [2, 3]);
    assert.equal(b.removeFirst(), undefined);
  });

  it('when a batch crosses to the producer thread, then every record keeps its topic, key, value and headers, in order', () => {
    const keyA = Buffer.from('a'.repeat(32));
    const keyB = Buffer.from('b'.repeat(32));
    const headers = { 'nettopo-schema': Buffer.from('flow.v1'), 'nettopo-schema-fp': Buffer.from('0123') };
    const records = Array.from({ length: 50 }, (_, i) => ({
      topic: i % 5 === 0 ? 'p.nettopo.hosts.v1' : 'p.nettopo.flows.v1',
      key: i % 2 ? keyA : keyB,
      value: Buffer.alloc(i, i),
      headers,
    }));
    const packed = packBatch(records);
    assert.equal(transferablesOf(packed).length, 3);
    const out = unpackBatch(structuredClone(packed));
    for (const topic of ['p.nettopo.hosts.v1', 'p.nettopo.flows.v1']) {
      const want = records.filter((r) => r.topic === topic);
      const got = out.find((t) => t.topic === topic)?.messages ?? [];
      assert.equal(got.length, want.length);
      got.forEach((m, i) => {
        assert.deepEqual(m.key, want[i]!.key);
        assert.deepEqual(m.value, want[i]!.value);
        assert.deepEqual(m.headers, want[i]!.headers);
      });
    }
  });

  it('when SASL and TLS come from the environment, then kafkajs gets them and the description names no secret', () => {
    const s = kafkaSettings(
      { brokers: 'k1:9093,k2:9093' },
      {
        NETTOPO_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        NETTOPO_KAFKA_SASL_USERNAME: 'collector',
        NETTOPO_KAFKA_SASL_PASSWORD: 's3cret-pw',
        NETTOPO_KAFKA_TLS: '1',
      },
    );
    const config = kafkaClientConfig(s);
    assert.deepEqual(config.brokers, ['k1:9093', 'k2:9093']);
    assert.deepEqual(config.sasl, {
      mechanism: 'scram-sha-512',
      username: 'collector',
      password: 's3cret-pw',
    });
    assert.deepEqual(config.ssl, { rejectUnauthorized: true });
    const text = describeKafkaSettings(s);
    assert.match(text, /SASL scram-sha-512 as collector/);
    assert.doesNotMatch(text, /s3cret/);
  });

  it('when the settings are incomplete, then a ConfigError says what is missing', () => {
    assert.throws(() => kafkaSettings({}, {}), ConfigError);
    assert.throws(() => kafkaSettings({ brokers: 'nohost' }, {}), /not host:port/);
    assert.throws(
      () =>
        kafkaSettings(
          { brokers: 'k:1' },
          { NETTOPO_KAFKA_SASL_MECHANISM: 'plain', NETTOPO_KAFKA_SASL_USERNAME: 'u' },
        ),
      /NETTOPO_KAFKA_SASL_PASSWORD/,
    );
    assert.throws(
      () => kafkaSettings({ brokers: 'k:1' }, { NETTOPO_KAFKA_SASL_MECHANISM: 'gssapi' }),
      ConfigError,
    );
    assert.throws(
      () => kafkaSettings({ brokers: 'k:1' }, { NETTOPO_KAFKA_TLS_CA: '/nonexistent/ca.pem' }),
      /cannot read/,
    );
  });
});

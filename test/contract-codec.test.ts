import { strict as assert } from 'node:assert';
import {
  Codec,
  ContractError,
  FINGERPRINT_HEADER,
  InvalidRecordError,
  MalformedRecordError,
  SCHEMA_HEADER,
  SchemaCatalog,
  TOPICS,
  UnknownSchemaError,
  LATEST_SCHEMA,
  toDeadLetter,
  type RecordKind,
} from '../contract';
import { NettopoError } from '../common/errors';
import { HOST_ID, plain, samples } from './contract-samples';

const KINDS = Object.keys(LATEST_SCHEMA) as RecordKind[];

function rejects<E extends ContractError>(
  fn: () => unknown,
  cls: new (...a: never[]) => E,
  reason: string,
): E {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    assert.equal(err.reason, reason);
    assert.equal(err.retriable, false);
    assert.ok(err instanceof NettopoError);
    return err;
  }
  assert.fail(`expected ${cls.name} (${reason})`);
}

describe('contract codec', () => {
  const codec = new Codec();
  const flow = samples().flow;

  for (const kind of KINDS) {
    it(`when a ${kind} record is encoded, then the header names ${LATEST_SCHEMA[kind]} and decoding gives the same record`, () => {
      const record = samples()[kind];
      const { value, headers } = codec.encode(kind, record);
      assert.equal(headers[SCHEMA_HEADER], LATEST_SCHEMA[kind]);
      assert.match(headers[FINGERPRINT_HEADER], /^[0-9a-f]{16}$/);
      const decoded = codec.decode(value, headers, kind);
      assert.equal(decoded.kind, kind);
      assert.equal(decoded.schema, LATEST_SCHEMA[kind]);
      assert.deepEqual(plain(decoded.record), record);
    });
  }

  it('when headers arrive as Buffers (as kafkajs delivers them), then the record decodes', () => {
    const { value, headers } = codec.encode('flow', flow);
    const asBuffers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]));
    assert.deepEqual(plain(codec.decode(value, asBuffers).record), flow);
  });

  it('when the fingerprint is turned off, then only the schema header is sent and it still decodes', () => {
    const lean = new Codec({ fingerprint: false });
    const { value, headers } = lean.encode('flow', flow);
    assert.deepEqual(Object.keys(headers), [SCHEMA_HEADER]);
    assert.deepEqual(plain(codec.decode(value, headers).record), flow);
  });

  it('when a record is made into a message, then it goes to its topic with its identity key', () => {
    const s = samples();
    const m = codec.message('flow', s.flow);
    assert.equal(m.topic, 'nettopo.flows.v1');
    assert.equal(m.message.key, HOST_ID);
    assert.deepEqual(plain(codec.decode(m.message.value, m.message.headers, 'flow').record), s.flow);
    assert.equal(codec.message('process', s.process).message.key, `${HOST_ID}/48213/1764000000123`);
    assert.equal(codec.message('listener', s.listener).message.key, `${HOST_ID}/4026532281/::/8443`);
    assert.equal(codec.message('deadletter', s.deadletter).topic, 'nettopo.deadletter.v1');
    assert.equal(TOPICS.host.keyOf(s.host), HOST_ID);
  });

  it('when a message has no schema header, then it is rejected as missing-header', () => {
    const { value } = codec.encode('flow', flow);
    rejects(() => codec.decode(value, undefined), UnknownSchemaError, 'missing-header');
    rejects(() => codec.decode(value, {}), UnknownSchemaError, 'missing-header');
    rejects(
      () => codec.decode(value, { [SCHEMA_HEADER]: ['flow.v1', 'flow.v1'] }),
      UnknownSchemaError,
      'missing-header',
    );
  });

  it('when a message names a schema this build does not know, then it is rejected as unknown-schema with the name', () => {
    const { value } = codec.encode('flow', flow);
    for (const name of ['flow.v9', 'flows.v1', 'flow', '', 'FLOW.V1', '../flow.v1']) {
      const err = rejects(
        () => codec.decode(value, { [SCHEMA_HEADER]: name }),
        UnknownSchemaError,
        'unknown-schema',
      );
      assert.equal(err.schema, name);
    }
  });

  it('when a record of another kind arrives on a topic, then it is rejected as wrong-kind', () => {
    const { value, headers } = codec.encode('process', samples().process);
    rejects(() => codec.decode(value, headers, 'flow'), UnknownSchemaError, 'wrong-kind');
  });

  it("when the writer's schema differs from this build's schema of the same name, then it is rejected as fingerprint-mismatch", () => {
    const { value, headers } = codec.encode('flow', flow);
    const err = rejects(
      () => codec.decode(value, { ...headers, [FINGERPRINT_HEADER]: '0000000000000000' }),
      UnknownSchemaError,
      'fingerprint-mismatch',
    );
    assert.equal(err.schema, 'flow.v1');
  });

  it('when the value is missing (tombstone) or empty, then it is rejected as no-value', () => {
    const headers = { [SCHEMA_HEADER]: 'process.v1' };
    rejects(() => codec.decode(null, headers), MalformedRecordError, 'no-value');
    rejects(() => codec.decode(Buffer.alloc(0), headers), MalformedRecordError, 'no-value');
  });

  it('when the bytes are garbage, truncated or followed by extra bytes, then it is rejected as malformed-record', () => {
    const { value, headers } = codec.encode('flow', flow);
    rejects(
      () => codec.decode(value.subarray(0, value.length - 3), headers),
      MalformedRecordError,
      'malformed-record',
    );
    rejects(
      () => codec.decode(Buffer.concat([value, Buffer.from([0])]), headers),
      MalformedRecordError,
      'malformed-record',
    );
    rejects(
      () => codec.decode(Buffer.from('{"hostId":"x"}'), headers),
      MalformedRecordError,
      'malformed-record',
    );
  });

  it('when random bytes arrive under every schema name, then only ContractErrors come out, never a crash', () => {
    let seed = 42;
    const rand = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed;
    };
    const names = SchemaCatalog.default().names();
    for (let i = 0; i < 3000; i += 1) {
      const bytes = Buffer.alloc(1 + (rand() % 300));
      for (let j = 0; j < bytes.length; j += 1) bytes[j] = rand() & 0xff;
      try {
        codec.decode(bytes, { [SCHEMA_HEADER]: names[i % names.length] });
      } catch (err) {
        assert.ok(err instanceof ContractError, `unexpected ${String(err)}`);
      }
    }
  });

  it('when a record does not match its schema, then encode throws invalid-record naming the field', () => {
    const err = rejects(
      () => codec.encode('flow', { ...flow, localPort: 'http' as never }),
      InvalidRecordError,
      'invalid-record',
    );
    assert.match(err.message, /localPort/);
    assert.match(
      rejects(
        () => codec.encode('flow', { ...flow, hostId: Buffer.alloc(15) }),
        InvalidRecordError,
        'invalid-record',
      ).message,
      /hostId/,
    );
    assert.match(
      rejects(
        () => codec.encode('flow', { ...flow, bytesSent: 2 ** 60 }),
        InvalidRecordError,
        'invalid-record',
      ).message,
      /bytesSent/,
    );
    const noSeq: Partial<typeof flow> = { ...flow };
    delete noSeq.seq;
    assert.match(
      rejects(() => codec.encode('flow', noSeq as never), InvalidRecordError, 'invalid-record').message,
      /seq/,
    );
  });

  it('when a nullable field is left out, then its default (null) is written', () => {
    const noComm: Partial<typeof flow> = { ...flow };
    delete noComm.comm;
    const { value, headers } = codec.encode('flow', noComm as never);
    assert.equal((codec.decode(value, headers).record as typeof flow).comm, null);
  });
});

describe('contract dead letters', () => {
  it('when a message cannot be decoded, then its dead-letter record keeps bytes, headers and reason and encodes', () => {
    const codec = new Codec();
    const message = {
      key: Buffer.from(HOST_ID),
      value: Buffer.from([1, 2, 3]),
      headers: { [SCHEMA_HEADER]: Buffer.from('flow.v7'), traceparent: [Buffer.from('a'), Buffer.from('b')] },
      offset: '184467',
    };
    let error: unknown;
    try {
      codec.decode(message.value, message.headers, 'flow');
    } catch (err) {
      error = err;
    }
    const dead = toDeadLetter({ topic: 'nettopo.flows.v1', partition: 2, message }, error, 1_764_000_000_000);
    assert.equal(dead.reason, 'unknown-schema');
    assert.match(dead.detail, /^UnknownSchemaError: .*flow\.v7/);
    assert.deepEqual(
      dead.headers.map((h) => [h.key, h.value?.toString()]),
      [
        [SCHEMA_HEADER, 'flow.v7'],
        ['traceparent', 'a'],
        ['traceparent', 'b'],
      ],
    );
    const m = codec.message('deadletter', dead);
    assert.equal(m.topic, 'nettopo.deadletter.v1');
    assert.equal(m.message.key, 'nettopo.flows.v1/2/184467');
    assert.deepEqual(plain(codec.decode(m.message.value, m.message.headers, 'deadletter').record), dead);
  });
});

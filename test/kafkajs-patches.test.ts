/**
 * The kafkajs fast paths (patches/kafkajs/, see patches/README.md) give kafkajs' own results: the record
 * encoder byte for byte, the grouping partition for partition in the same order.
 */
import { strict as assert } from 'node:assert';
import { createRequire } from 'node:module';
import { kafkajsPatches } from '../patches/kafkajs';
import { fastRecordEncoder, kafkajsRecordEncoder, type RecordArgs } from '../patches/kafkajs/fast-record';
import {
  fastRecordDecoder,
  kafkajsRecordDecoder,
  type BatchContext,
  type DecoderLike,
} from '../patches/kafkajs/fast-record-decoder';

describe('transport: kafkajs fast paths', () => {
  const { original, encoderPrototype } = kafkajsRecordEncoder();
  const fast = fastRecordEncoder(original, encoderPrototype);

  it('when the collector or the ingest loads kafkajs, then every patch is in effect', () => {
    assert.deepEqual(kafkajsPatches, { linearGrouping: true, fastRecord: true, fastRecordDecoder: true });
    const local = createRequire(require.resolve('kafkajs'));
    const installed = local('./src/protocol/recordBatch/record/v0') as { original?: unknown };
    assert.equal(installed.original, original);
    const decoder = local('./src/protocol/recordBatch/record/v0/decoder') as { original?: unknown };
    assert.equal(decoder.original, kafkajsRecordDecoder());
  });

  it('when records of every shape are encoded, then the fast encoder writes the same bytes as kafkajs', () => {
    const keys: unknown[] = [
      null,
      undefined,
      '',
      'host-1',
      'é✓'.repeat(40),
      Buffer.alloc(0),
      Buffer.from('ab'.repeat(16), 'hex'),
    ];
    const values: unknown[] = [null, '', 'v', Buffer.alloc(70, 7), Buffer.alloc(200, 1), 'ü'.repeat(100)];
    const headerSets: (Record<string, unknown> | undefined)[] = [
      undefined,
      {},
      { 'nettopo-schema': 'flow.v1', 'nettopo-schema-fp': '0123456789abcdef' },
      { a: Buffer.from('flow.v1'), ü: ['x', Buffer.from('y'), ''] },
      { empty: [] },
    ];
    const deltas: [number | undefined, number | undefined][] = [
      [undefined, undefined],
      [0, 0],
      [63, 64],
      [64, -1],
      [8191, 8192],
      [300000, -65],
      [2 ** 30 - 1, 2 ** 40],
      [12, -(2 ** 40) - 3],
      [2 ** 31 - 1, 2 ** 51 + 1], // out of the fast path's range: kafkajs' own function
    ];
    let cases = 0;
    for (const key of keys)
      for (const value of values)
        for (const headers of headerSets)
          for (const [offsetDelta, timestampDelta] of deltas) {
            const args: RecordArgs = { key, value, headers, offsetDelta, timestampDelta };
            const want = original({ ...args }).buffer;
            const got = fast({ ...args });
            assert.deepEqual(got.buffer, want, JSON.stringify(args));
            assert.ok(Object.getPrototypeOf(got) === encoderPrototype, 'an Encoder, as kafkajs checks');
            cases++;
          }
    assert.equal(cases, 7 * 6 * 5 * 9);
  });

  it('when a field is of a type kafkajs handles otherwise, then kafkajs own function encodes it', () => {
    for (const args of [
      { key: 42, value: 'v' },
      { key: 'k', value: 'v', headers: { h: 7 } },
      { key: 'k', value: 'v', timestampDelta: 2.5 },
    ] as RecordArgs[]) {
      let want: unknown;
      try {
        want = original({ ...args }).buffer;
      } catch (err) {
        want = (err as Error).message;
      }
      let got: unknown;
      try {
        got = fast({ ...args }).buffer;
      } catch (err) {
        got = (err as Error).message;
      }
      assert.deepEqual(got, want);
    }
  });

  it('when messages of several keys are grouped, then each partition keeps its messages in order', () => {
    const local = createRequire(require.resolve('kafkajs'));
    const group = local('./src/producer/groupMessagesPerPartition') as (args: {
      topic: string;
      partitionMetadata: unknown[];
      messages: { key: string; n: number }[];
      partitioner: (a: { message: { key: string } }) => number;
    }) => Record<number, { key: string; n: number }[]>;
    const messages = Array.from({ length: 20000 }, (_, n) => ({ key: `k${n % 7}`, n }));
    const t0 = Date.now();
    const out = group({
      topic: 't',
      partitionMetadata: [{}, {}, {}],
      messages,
      partitioner: ({ message }) => Number(message.key.slice(1)) % 3,
    });
    assert.ok(Date.now() - t0 < 500, 'linear, not quadratic');
    assert.deepEqual(Object.keys(out), ['0', '1', '2']);
    for (const [p, ms] of Object.entries(out)) {
      assert.ok(ms.every((m) => Number(m.key.slice(1)) % 3 === Number(p)));
      assert.deepEqual(
        ms.map((m) => m.n),
        messages.filter((m) => Number(m.key.slice(1)) % 3 === Number(p)).map((m) => m.n),
      );
    }
    assert.deepEqual(group({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 }), {});
  });

  describe('the record decoder', () => {
    const kafkajsDecode = kafkajsRecordDecoder();
    const fastDecode = fastRecordDecoder(kafkajsDecode);
    const Decoder = createRequire(require.resolve('kafkajs'))('./src/protocol/decoder') as new (
      b: Buffer,
    ) => DecoderLike;

    /** A record's bytes as the batch decoder hands them over: kafkajs' encoding without its length. */
    const recordBytes = (args: RecordArgs): Buffer => {
      const encoded = original({ ...args }).buffer;
      let at = 0;
      while (encoded[at] & 0x80) at++;
      return encoded.subarray(at + 1);
    };
    /** What a decoder gives for some bytes: the record and where it stopped, or the error. */
    const outcome = (decode: typeof fastDecode, bytes: Buffer, context?: BatchContext): unknown => {
      const decoder = new Decoder(bytes);
      try {
        const record = decode(decoder, context) as Record<string, unknown>;
        // Same properties in the same order, headers too (deepEqual alone ignores order).
        const order = [Object.keys(record), Object.keys(record.headers as object)];
        return { record, order, offset: decoder.offset };
      } catch (err) {
        return { error: `${(err as Error).name}: ${(err as Error).message}` };
      }
    };
    const contexts: (BatchContext | undefined)[] = [
      { firstOffset: '0', firstTimestamp: '1764000000000', magicByte: 2, timestampType: 0 },
      { firstOffset: '18446744', firstTimestamp: '-1', magicByte: 2, isControlBatch: true },
      { firstOffset: '9007199254740990', firstTimestamp: '1764000000000', magicByte: 2 }, // sums beyond 2^53
      { firstOffset: '9223372036854775807', firstTimestamp: '9223372036854775000', magicByte: 2 },
      { firstOffset: '5', firstTimestamp: '7', timestampType: 1, maxTimestamp: '1764000000999' },
      { firstOffset: '5', firstTimestamp: '7', timestampType: 1, maxTimestamp: '' },
      undefined,
    ];
    const shapes: RecordArgs[] = [
      { key: null, value: null },
      {
        key: 'host-1',
        value: Buffer.alloc(70, 7),
        headers: { 'nettopo-schema': 'flow.v1', 'nettopo-schema-fp': 'e304b9831be5400c' },
      },
      { key: 'é✓'.repeat(40), value: 'ü'.repeat(100), headers: { a: ['x', Buffer.from('y'), ''] } },
      { key: '', value: Buffer.alloc(300, 1), headers: { toString: 'shadowed', constructor: ['1', '2'] } },
      { key: 'k', value: 'v', headers: JSON.parse('{"__proto__": "x", "b": "y"}') as Record<string, string> }, // an own __proto__
    ];
    const deltas: [number, number][] = [
      [0, 0],
      [1, -1],
      [63, 64],
      [8191, -8192],
      [2 ** 27, 2 ** 40],
      [2 ** 28, -(2 ** 48)], // offset delta beyond the fast path's 4 bytes, timestamp beyond 7
      [2 ** 31 - 1, 2 ** 51 + 1],
    ];

    it('when records of every shape are decoded, then the fast decoder gives what kafkajs gives', () => {
      let cases = 0;
      let errors = 0;
      for (const context of contexts)
        for (const shape of shapes)
          for (const [offsetDelta, timestampDelta] of deltas) {
            const bytes = recordBytes({ ...shape, offsetDelta, timestampDelta });
            const want = outcome(kafkajsDecode, bytes, context);
            if ('error' in (want as object)) errors++; // kafkajs needs a batch context
            assert.deepEqual(
              outcome(fastDecode, bytes, context),
              want,
              JSON.stringify({ shape, context, offsetDelta }),
            );
            cases++;
          }
      assert.equal(cases, 7 * 5 * 7);
      assert.equal(errors, 5 * 7);
      // A header whose key is null (-1): kafkajs names the property "null".
      const nullKey = Buffer.from([0, 0, 0, 2, 0x61, 2, 0x62, 2, 1, 2, 0x78]);
      assert.deepEqual(
        outcome(fastDecode, nullKey, contexts[0]),
        outcome(kafkajsDecode, nullKey, contexts[0]),
      );
      assert.deepEqual(
        Object.keys(
          (outcome(fastDecode, nullKey, contexts[0]) as { record: { headers: object } }).record.headers,
        ),
        ['null'],
      );
    });

    it('when records are truncated or corrupted, then the fast decoder gives what kafkajs gives, errors included', () => {
      let seed = 7;
      const next = (): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      let cases = 0;
      // ASCII-only records with one-byte varints: a corrupted byte read as a header count then
      // makes at most a two-byte varint, so kafkajs' own decoder does not loop for 2^27 headers.
      for (const shape of [shapes[0], shapes[1], shapes[3]])
        for (const [offsetDelta, timestampDelta] of deltas.slice(0, 3)) {
          const bytes = recordBytes({ ...shape, offsetDelta, timestampDelta });
          for (let n = 0; n < bytes.length; n++) {
            const cut = Buffer.from(bytes.subarray(0, n));
            assert.deepEqual(
              outcome(fastDecode, cut, contexts[0]),
              outcome(kafkajsDecode, cut, contexts[0]),
              `cut ${n}`,
            );
            cases++;
          }
          for (let k = 0; k < 200; k++) {
            const bad = Buffer.from(bytes);
            bad[Math.floor(next() * bad.length)] = Math.floor(next() * 256);
            assert.deepEqual(outcome(fastDecode, bad, contexts[0]), outcome(kafkajsDecode, bad, contexts[0]));
            cases++;
          }
        }
      assert.ok(cases > 2_000, `${cases} cases`);
    });
  });
});

/**
 * The kafkajs fast paths (collector/kafkajs-patches.ts) give kafkajs' own results: the record
 * encoder byte for byte, the grouping partition for partition in the same order.
 */
import { strict as assert } from 'node:assert';
import { createRequire } from 'node:module';
import { kafkajsPatches } from '../collector/kafkajs-patches';
import { fastRecordEncoder, kafkajsRecordEncoder, type RecordArgs } from '../collector/kafkajs-fast-record';

describe('transport: kafkajs fast paths', () => {
  const { original, encoderPrototype } = kafkajsRecordEncoder();
  const fast = fastRecordEncoder(original, encoderPrototype);

  it('when the collector loads kafkajs, then both patches are in effect', () => {
    assert.deepEqual(kafkajsPatches, { linearGrouping: true, fastRecord: true });
    const local = createRequire(require.resolve('kafkajs'));
    const installed = local('./src/protocol/recordBatch/record/v0') as { original?: unknown };
    assert.equal(installed.original, original);
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
});

/**
 * FlowReader (contract/flow-reader.ts) reads flow.v1 bytes straight into FlowRecords: it must give
 * what avsc plus `flowFromAvro` give, and refuse what they refuse, for every record and every
 * corruption of one.
 */
import { strict as assert } from 'node:assert';
import type { FlowRecord } from '../contract/flow-record';
import {
  Codec,
  ContractError,
  FLOW_READER_SCHEMA,
  FlowReader,
  SchemaCatalog,
  flowFromAvro,
  flowToAvro,
  ipFromBytes,
  ipToBytes,
} from '../contract';
import { containerFlow, hostFlow } from './contract-samples';

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generator(seed: number): () => FlowRecord {
  const r = random(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const hex = (n: number): string => Array.from({ length: n }, () => int(16).toString(16)).join('');
  const uuid = (): string => `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
  // Longs across the varint sizes: small, around 2^28 and 2^32, up to avsc's bound, negative
  // (down to -2^52: avsc itself does not read back a negative long of a larger magnitude).
  const long = (): number => {
    const n = pick([
      0,
      1,
      int(128),
      int(2 ** 28),
      2 ** 28 + int(1000),
      2 ** 32 + int(2 ** 20),
      int(2 ** 52),
      2 ** 53 - 2,
    ]);
    return r() < 0.1 && n > 0 && n <= 2 ** 52 ? -n : n;
  };
  const v4 = (): string => [int(256), int(256), int(256), int(256)].join('.');
  // In canonical form (RFC 5952), the only form that comes back.
  const v6 = (): string =>
    ipFromBytes(
      ipToBytes(
        pick([
          () => `2001:db8::${int(0xffff).toString(16)}`,
          () => `fd00:${int(0xffff).toString(16)}::${int(0xffff).toString(16)}:1`,
          () => Array.from({ length: 8 }, () => (int(4) === 0 ? 0 : int(0x10000)).toString(16)).join(':'),
          () => `::ffff:${v4()}`,
          () => '::1',
          () => '::',
        ])(),
      ),
    );
  // A few hosts, runs and processes, so that the reader's caches both hit and miss.
  const hosts = Array.from({ length: 3 }, () => hex(32));
  const runs = Array.from({ length: 3 }, uuid);
  return () => {
    const family = r() < 0.5 ? 4 : 6;
    return {
      hostId: pick(hosts),
      runId: pick(runs),
      seq: long(),
      cookie: long(),
      netns: long(),
      role: pick(['client', 'server', 'unknown'] as const),
      state: pick(['open', 'closed', 'failed'] as const),
      family,
      localAddr: family === 4 ? v4() : v6(),
      localPort: int(65536),
      remoteAddr: family === 4 ? v4() : v6(),
      remotePort: int(65536),
      pid: pick([0, 1, int(2 ** 22), 2 ** 31 - 1]),
      processStartTime: pick([0, 1_764_000_000_000 + int(1e9)]),
      comm: pick(['', 'envoy', 'postgres', 'é✓ worker', 'x'.repeat(15)]),
      cgroupId: pick([0, long()]),
      containerId: pick([null, hex(64), 'my-lxc-box', 'ABCDEF'.repeat(11)]),
      containerRuntime: pick([null, 'containerd', 'docker', 'cri-o']),
      podUid: pick([null, uuid(), 'a3f9c2e81b7d4f6e9c0a1b2c3d4e5f60']),
      bytesSent: long(),
      bytesReceived: long(),
      retransmits: long(),
      srttUs: pick([0, int(2 ** 24)]),
      connectLatencyUs: pick([null, 0, int(2 ** 20)]),
      openedAt: 1_764_000_000_000 + int(1e9),
      closedAt: pick([null, 1_764_000_000_000 + int(1e9)]),
      observedAt: 1_764_000_000_000 + int(1e9),
      preexisting: r() < 0.5,
    };
  };
}

/** The UUID whose 16 bytes are these 16 ASCII characters. */
function uuidOf(text16: string): string {
  const h = Buffer.from(text16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

type Outcome = { record: FlowRecord } | { error: string };

describe('contract: the flow reader', () => {
  const codec = new Codec();
  const headers = codec.encode('flow', flowToAvro(hostFlow())).headers;
  const reference = (value: Buffer): Outcome => {
    try {
      return { record: flowFromAvro(codec.decode(value, headers, 'flow').record) };
    } catch (err) {
      return { error: `${(err as Error).constructor.name} ${(err as ContractError).reason}` };
    }
  };
  const through = (read: (value: Buffer) => FlowRecord, value: Buffer): Outcome => {
    try {
      return { record: read(value) };
    } catch (err) {
      return { error: `${(err as Error).constructor.name} ${(err as ContractError).reason}` };
    }
  };

  it("when the build's flow schema changes, then this test says FlowReader must follow", () => {
    const latest = SchemaCatalog.default().latest('flow');
    assert.equal(
      `${latest?.name} ${latest?.fingerprint}`,
      `${FLOW_READER_SCHEMA.name} ${FLOW_READER_SCHEMA.fingerprint}`,
      'the newest flow schema is not the one FlowReader reads: update contract/flow-reader.ts ' +
        '(the codec falls back to avsc meanwhile, correct but slower)',
    );
  });

  it('when 5,000 varied records are read one after another, then each is the record that was written', () => {
    const next = generator(1);
    const reader = new FlowReader();
    for (let i = 0; i < 5_000; i++) {
      const record = next();
      const { value } = codec.encode('flow', flowToAvro(record));
      assert.deepEqual(reader.read(value), record, `record ${i}`);
      assert.deepEqual(codec.decodeFlow(value, headers), record, `record ${i} through the codec`);
    }
  });

  it('when the samples are read in turn, then the cached texts never leak from one record into the next', () => {
    const reader = new FlowReader();
    const records = [
      containerFlow(),
      hostFlow(),
      containerFlow({ podUid: 'static-pod', comm: 'é' }),
      hostFlow(),
    ];
    const values = records.map((r) => codec.encode('flow', flowToAvro(r)).value);
    for (let round = 0; round < 3; round++)
      values.forEach((v, i) => assert.deepEqual(reader.read(v), records[i], `round ${round}, record ${i}`));
  });

  it('when a text id has the same bytes as the binary id before it, then each reads as its own kind', () => {
    const reader = new FlowReader();
    const ascii32 = '0123456789abcdef0123456789abcdef';
    const ascii16 = 'static-pod-uid16';
    const records = [
      containerFlow({ containerId: Buffer.from(ascii32).toString('hex'), podUid: uuidOf(ascii16) }),
      containerFlow({ containerId: ascii32, podUid: ascii16 }),
    ];
    for (const r of records)
      assert.deepEqual(reader.read(codec.encode('flow', flowToAvro(r)).value), r, JSON.stringify(r));
  });

  it('when records are truncated at every length, then the reader refuses exactly what avsc refuses, with the same reason', () => {
    const next = generator(2);
    const reader = new FlowReader();
    for (let i = 0; i < 200; i++) {
      const { value } = codec.encode('flow', flowToAvro(next()));
      for (let n = 0; n < value.length; n++) {
        const cut = value.subarray(0, n);
        const expected = reference(cut);
        assert.ok('error' in expected, `a record cut to ${n} of ${value.length} bytes decodes`);
        assert.deepEqual(
          through((v) => codec.decodeFlow(v, headers), cut),
          expected,
          `cut to ${n}`,
        );
      }
      const longer = Buffer.concat([value, Buffer.from([0])]);
      assert.deepEqual(
        through((v) => reader.read(v), longer),
        { error: 'FlowReadError undefined' },
      );
      assert.deepEqual(
        through((v) => codec.decodeFlow(v, headers), longer),
        reference(longer),
      );
    }
  });

  it('when bytes of records are corrupted at random, then the reader and avsc agree on every one', () => {
    const next = generator(3);
    const r = random(4);
    let decoded = 0;
    let refused = 0;
    for (let i = 0; i < 2_000; i++) {
      const { value } = codec.encode('flow', flowToAvro(next()));
      for (let k = 0; k < 10; k++) {
        const bad = Buffer.from(value);
        for (let flips = 1 + Math.floor(r() * 3); flips > 0; flips--)
          bad[Math.floor(r() * bad.length)] = Math.floor(r() * 256);
        const expected = reference(bad);
        assert.deepEqual(
          through((v) => codec.decodeFlow(v, headers), bad),
          expected,
          `record ${i}, corruption ${k}`,
        );
        if ('record' in expected) decoded++;
        else refused++;
      }
    }
    // Both kinds of outcome were compared, not only one of them.
    assert.ok(decoded > 1_000 && refused > 1_000, `${decoded} decoded, ${refused} refused`);
  });
});

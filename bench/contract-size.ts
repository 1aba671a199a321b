/**
 * Measures the flow record on the wire: bytes per record (Avro as shipped, Avro with text ids and
 * addresses, JSON), header overhead, gzip'd batches, and encode/decode records per second in one
 * process. Run: `npx tsx bench/contract-size.ts [records]` (default 20000).
 */
import { Type } from 'avsc';
import { cpus } from 'node:os';
import { gzipSync } from 'node:zlib';
import type { FlowRecord } from '../contract/flow-record';
import { Codec, SchemaCatalog, flowFromAvro, flowToAvro, type FlowV1 } from '../contract';
import { containerFlow, hostFlow } from '../test/contract-samples';

const N = Number(process.argv[2] ?? 20_000);

let seed = 7;
const rand = (n: number): number => {
  seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
  return seed % n;
};
const hex = (bytes: number): string => {
  let s = '';
  for (let i = 0; i < bytes; i += 1) s += rand(256).toString(16).padStart(2, '0');
  return s;
};

/** A realistic mix: 60 % pod flows (half IPv6), 40 % host flows with unknowns; counters of all sizes. */
function flows(n: number): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i += 1) {
    const counters = {
      seq: 1_000 + i,
      cookie: 4_096 + rand(1 << 30),
      bytesSent: rand(4) === 0 ? 2 ** 33 + rand(1 << 30) : rand(1 << 20),
      bytesReceived: rand(1 << 24),
      retransmits: rand(3) === 0 ? rand(50) : 0,
      localPort: 32_768 + rand(28_000),
      observedAt: 1_764_000_000_000 + i * 10,
    };
    if (rand(10) < 6) {
      const v6 = rand(2) === 0;
      out.push(
        containerFlow({
          ...counters,
          family: v6 ? 6 : 4,
          localAddr: v6
            ? `fd00:10:244:${rand(256).toString(16)}::${rand(65_536).toString(16)}`
            : `10.244.${rand(256)}.${rand(256)}`,
          remoteAddr: v6 ? `fd00:10:96::${rand(65_536).toString(16)}` : `10.96.${rand(256)}.${rand(256)}`,
          containerId: hex(32),
          podUid: `${hex(4)}-${hex(2)}-4${hex(2).slice(1)}-a${hex(2).slice(1)}-${hex(6)}`,
          pid: 1 + rand(4_000_000),
        }),
      );
    } else {
      out.push(
        hostFlow({
          ...counters,
          localAddr: `198.18.${rand(256)}.${rand(256)}`,
          remoteAddr: `198.19.${rand(256)}.${rand(256)}`,
          ...(rand(2) === 0
            ? {
                pid: 1 + rand(100_000),
                comm: 'postgres',
                processStartTime: 1_763_990_000_000,
                cgroupId: 9_000 + rand(100),
                srttUs: 30 + rand(500),
              }
            : {}),
        }),
      );
    }
  }
  return out;
}

/** flow.v1 with every compact encoding undone: ids, addresses and container/pod ids as text. */
function textVariant(): Type {
  const def = structuredClone(SchemaCatalog.default().get('flow.v1')?.definition) as {
    name: string;
    fields: { name: string; type: unknown }[];
  };
  const asText: Record<string, unknown> = {
    hostId: 'string',
    runId: 'string',
    localAddr: 'string',
    remoteAddr: 'string',
    containerId: ['null', 'string'],
    podUid: ['null', 'string'],
  };
  def.name = 'FlowText';
  def.fields = def.fields.map((f) => (f.name in asText ? { ...f, type: asText[f.name] } : f));
  return Type.forSchema(def as never, { wrapUnions: 'never' });
}

/** Bytes of headers in a Kafka v2 record: varint key length, key, varint value length, value, each. */
function headerBytes(headers: Record<string, string>): number {
  const varint = (n: number): number => (n < 64 ? 1 : n < 8192 ? 2 : 3); // zigzag varint
  return Object.entries(headers).reduce(
    (s, [k, v]) => s + varint(k.length) + k.length + varint(v.length) + v.length,
    0,
  );
}

function rate(what: string, n: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(n, 5_000); i += 1) fn(i); // warm-up
  let done = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 1e9) {
    for (let i = 0; i < n; i += 1) fn(i);
    done += n;
    elapsed = Number(process.hrtime.bigint() - start);
  }
  const perSecond = done / (elapsed / 1e9);
  console.log(`  ${what.padEnd(44)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} records/s`);
  return perSecond;
}

function main(): void {
  const codec = new Codec();
  const lean = new Codec({ fingerprint: false });
  const records = flows(N);
  const avro: FlowV1[] = records.map(flowToAvro);
  const encoded = avro.map((r) => codec.encode('flow', r));
  const text = textVariant();

  const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const json = records.map((r) => Buffer.byteLength(JSON.stringify(r)));
  const compact = encoded.map((e) => e.value.length);
  const textual = records.map((r) => {
    const a = flowToAvro(r);
    return text.toBuffer({
      ...a,
      hostId: r.hostId,
      runId: r.runId,
      localAddr: r.localAddr,
      remoteAddr: r.remoteAddr,
      containerId: r.containerId,
      podUid: r.podUid,
    }).length;
  });
  const pods = records
    .map((r, i) => [r, i] as const)
    .filter(([r]) => r.podUid !== null)
    .map(([, i]) => i);
  const hosts = records
    .map((r, i) => [r, i] as const)
    .filter(([r]) => r.podUid === null)
    .map(([, i]) => i);
  const pick = (xs: number[], idx: number[]): number[] => idx.map((i) => xs[i]);

  console.log(
    `nettopo contract: flow record size, ${N} records (${pods.length} pod flows, ${hosts.length} host flows); node ${process.version}, ${cpus()[0]?.model ?? '?'}`,
  );
  console.log('  bytes per record                   all     pod flows  host flows');
  const row = (what: string, xs: number[]): void =>
    console.log(
      `  ${what.padEnd(30)} ${avg(xs).toFixed(1).padStart(8)} ${avg(pick(xs, pods)).toFixed(1).padStart(10)} ${avg(pick(xs, hosts)).toFixed(1).padStart(10)}`,
    );
  row('JSON (FlowRecord)', json);
  row('Avro flow.v1 as shipped', compact);
  row('Avro, ids/addresses as text', textual);
  console.log(
    `  JSON / Avro as shipped: ${(avg(json) / avg(compact)).toFixed(2)}x   JSON / Avro text variant: ${(avg(json) / avg(textual)).toFixed(2)}x`,
  );
  console.log(
    `  header bytes per message: ${headerBytes(encoded[0].headers)} (schema + fingerprint), ${headerBytes(lean.encode('flow', avro[0]).headers)} (schema only)`,
  );
  const batch = Math.min(1_000, N);
  const gzJson =
    gzipSync(
      Buffer.from(
        records
          .slice(0, batch)
          .map((r) => JSON.stringify(r))
          .join(''),
      ),
    ).length / batch;
  const gzAvro = gzipSync(Buffer.concat(encoded.slice(0, batch).map((e) => e.value))).length / batch;
  const framed = (e: { value: Buffer; headers: Record<string, string> }): Buffer =>
    Buffer.concat([Buffer.from(Object.entries(e.headers).flat().join('')), e.value]);
  const gzFramed = gzipSync(Buffer.concat(encoded.slice(0, batch).map(framed))).length / batch;
  console.log(
    `  gzip'd batch of ${batch}, bytes per record: JSON ${gzJson.toFixed(1)}, Avro ${gzAvro.toFixed(1)}, Avro + headers ${gzFramed.toFixed(1)}`,
  );

  console.log('throughput, one process');
  rate('encode (Codec.encode, Avro record)', N, (i) => codec.encode('flow', avro[i]));
  rate('convert + encode (FlowRecord → message)', N, (i) => codec.encode('flow', flowToAvro(records[i])));
  rate('decode (Codec.decode)', N, (i) => codec.decode(encoded[i].value, encoded[i].headers, 'flow'));
  rate('decode + convert (message → FlowRecord)', N, (i) =>
    flowFromAvro(codec.decode(encoded[i].value, encoded[i].headers, 'flow').record as FlowV1),
  );
  rate('JSON.stringify (reference)', N, (i) => JSON.stringify(records[i]));
}

main();

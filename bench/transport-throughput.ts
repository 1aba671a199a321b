/**
 * Producer throughput of the collector's Kafka transport against the local stack's real Kafka
 * (NETTOPO_KAFKA_PORT): N generated flow records go through the collector's own path — `flowToAvro`,
 * `Codec.message`, the bounded buffer, kafkajs' idempotent producer with acks=all — and the clock
 * stops when the broker has acknowledged the last one. The same records as JSON (one
 * `JSON.stringify(FlowRecord)` per message, same key and batching) for comparison; gzip and none.
 * Bytes/record: the message value, and the gzip'd batch as the producer sends it.
 * Topics get a unique prefix and are deleted afterwards.
 *
 * kafkajs runs in the sink's producer thread (the default); the last row, "1 thread", runs it in the
 * collector's thread for comparison.
 *
 * Run: `npx tsx bench/transport-throughput.ts [records]` (default 200000); `BENCH_ONLY=avro+gzip,…`
 * picks rows, `BENCH_BATCH` sets the batch size.
 */
import { kafkajsPatches } from '../patches/kafkajs'; // before kafkajs
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { gzipSync } from 'node:zlib';
import { Kafka, logLevel } from 'kafkajs';
import type { FlowRecord } from '../contract/flow-record';
import { BoundedBuffer, KafkaSink, kafkaClientConfig, kafkaSettings } from '../kafka';
import { Codec, flowToAvro, TOPICS, type TopicMessage } from '../contract';
import { connectionUrls } from '../stack/stack-config';
import { containerFlow, hostFlow } from '../test/contract-samples';

let seed = 42;
const rand = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** 60 % pod flows (half IPv6), 40 % host flows; counters of all sizes. */
function flows(n: number): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i += 1) {
    const counters = {
      seq: 1 + i,
      cookie: 4096 + rand(1 << 30),
      bytesSent: rand(4) === 0 ? 2 ** 33 + rand(1 << 30) : rand(1 << 20),
      bytesReceived: rand(1 << 24),
      retransmits: rand(3) === 0 ? rand(50) : 0,
      localPort: 32768 + rand(28000),
      observedAt: 1_764_000_000_000 + i,
    };
    if (rand(10) < 6) {
      const v6 = rand(2) === 0;
      out.push(
        containerFlow({
          ...counters,
          family: v6 ? 6 : 4,
          localAddr: v6
            ? `fd00:10:244:${rand(256).toString(16)}::${rand(65536).toString(16)}`
            : `10.244.${rand(256)}.${rand(256)}`,
          remoteAddr: v6 ? `fd00:10:96::${rand(65536).toString(16)}` : `10.96.${rand(256)}.${rand(256)}`,
          containerId: hex(32),
          pid: 1 + rand(4_000_000),
        }),
      );
    } else {
      out.push(
        hostFlow({
          ...counters,
          localAddr: `198.18.${rand(256)}.${rand(256)}`,
          remoteAddr: `198.19.${rand(256)}.${rand(256)}`,
        }),
      );
    }
  }
  return out;
}

const JSON_HEADERS = Object.freeze({ 'nettopo-schema': 'flow.json' });

/** A codec stand-in writing JSON values with the same topic, key and header as the real one. */
class JsonCodec {
  message(_kind: 'flow', record: FlowRecord & { __json?: true }): TopicMessage {
    return {
      topic: TOPICS.flow.topic,
      message: {
        key: record.hostId,
        value: Buffer.from(JSON.stringify(record)),
        headers: JSON_HEADERS,
      },
    };
  }
}

async function run(
  label: string,
  records: FlowRecord[],
  format: 'avro' | 'json',
  compression: 'gzip' | 'none',
  prefix: string,
  producerThread = true,
): Promise<void> {
  const sink = new KafkaSink({
    settings: kafkaSettings({ brokers: connectionUrls().kafkaBroker, clientId: 'nettopo-bench' }),
    topicPrefix: `${prefix}${format}-${compression}${producerThread ? '' : '-1t'}.`,
    compression,
    producerThread,
    bufferBytes: 1024 * 1024 * 1024,
    batchSize: Number(process.env.BENCH_BATCH ?? 5000),
    ...(format === 'json' ? { codec: new JsonCodec() as unknown as Codec } : {}),
  });
  sink.start();
  // Warm-up: connect, create topics, JIT.
  for (const r of records.slice(0, 2000)) sink.send('flow', format === 'avro' ? flowToAvro(r) : (r as never));
  while (sink.stats().produced < 2000) await new Promise((r) => setTimeout(r, 10));
  const base = sink.stats().produced;
  const t0 = process.hrtime.bigint();
  const chunk = 10000;
  for (let i = 0; i < records.length; i += chunk) {
    for (const r of records.slice(i, i + chunk))
      sink.send('flow', format === 'avro' ? flowToAvro(r) : (r as never));
    await new Promise((r) => setImmediate(r)); // let the delivery loop run, as the collector's event loop does
  }
  while (sink.stats().produced - base < records.length) await new Promise((r) => setTimeout(r, 2));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await sink.stop();
  const s = sink.stats();
  console.log(
    `${label.padEnd(19)} ${Math.round(records.length / seconds)
      .toLocaleString('en')
      .padStart(
        9,
      )} records/s  (${records.length} in ${seconds.toFixed(2)} s, failures ${s.sendFailures}, dropped ${s.dropped})`,
  );
}

function sizes(records: FlowRecord[]): void {
  const codec = new Codec();
  const avro = records.map((r) => codec.message('flow', flowToAvro(r)).message.value);
  const json = records.map((r) => Buffer.from(JSON.stringify(r)));
  const per = (bufs: Buffer[]): number => bufs.reduce((a, b) => a + b.length, 0) / bufs.length;
  const gz = (bufs: Buffer[]): number => {
    let total = 0;
    for (let i = 0; i < bufs.length; i += 5000)
      total += gzipSync(Buffer.concat(bufs.slice(i, i + 5000))).length;
    return total / bufs.length;
  };
  const a = per(avro);
  const j = per(json);
  console.log(
    `bytes/record  value: Avro ${a.toFixed(1)}, JSON ${j.toFixed(1)} (JSON/Avro ${(j / a).toFixed(2)}×)`,
  );
  console.log(
    `              gzip'd batches of 5000: Avro ${gz(avro).toFixed(1)}, JSON ${gz(json).toFixed(1)}`,
  );
}

/** The client half alone: flowToAvro + Codec.message into the bounded buffer, no Kafka. */
function encodeOnly(records: FlowRecord[]): void {
  const codec = new Codec();
  const buffer = new BoundedBuffer<{ size: number }>({ maxBytes: 2 ** 40, sizeOf: (p) => p.size });
  const t0 = process.hrtime.bigint();
  for (const r of records) {
    const { message } = codec.message('flow', flowToAvro(r));
    buffer.push({ ...message, size: message.value.length });
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `${'encode only'.padEnd(19)} ${Math.round(records.length / seconds)
      .toLocaleString('en')
      .padStart(9)} records/s  (flowToAvro + Codec.message + buffer, no Kafka)`,
  );
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200000);
  process.env.NETTOPO_LOG_LEVEL ??= 'warn';
  const records = flows(n);
  const prefix = `bench-${randomBytes(3).toString('hex')}.`;
  const cpu = cpus();
  console.log(
    `${n} flow records, one process; ${cpu.length} vCPU ${cpu[0]?.model ?? '?'}, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )}; Node ${process.version}; Kafka 3.9 (local stack) at ${connectionUrls().kafkaBroker}; kafkajs patches ${JSON.stringify(kafkajsPatches)}`,
  );
  sizes(records.slice(0, 20000));
  encodeOnly(records);
  try {
    const only = process.env.BENCH_ONLY?.split(',');
    for (const [format, compression, thread] of [
      ['avro', 'gzip', true],
      ['avro', 'none', true],
      ['json', 'gzip', true],
      ['json', 'none', true],
      ['avro', 'gzip', false],
    ] as const) {
      const label = `${format}+${compression}${thread ? '' : ' 1 thread'}`;
      if (!only || only.includes(label)) await run(label, records, format, compression, prefix, thread);
    }
  } finally {
    const admin = new Kafka({
      ...kafkaClientConfig(kafkaSettings({ brokers: connectionUrls().kafkaBroker })),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length) await admin.deleteTopics({ topics: mine });
    await admin.disconnect();
  }
}

void main();

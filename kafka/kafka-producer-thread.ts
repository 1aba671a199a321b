import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { TopicMessages } from 'kafkajs';
import type { KafkaProducerConfig, OutgoingRecord, SendResult } from './kafka-producer';

/**
 * A batch of records as it crosses to the producer thread: the values concatenated in one
 * transferred buffer (no copy on the way), keys, topics and header sets once each, and per record
 * three indexes into them.
 */
export interface WireBatch {
  topics: string[];
  keys: Uint8Array[];
  headerSets: Record<string, Uint8Array>[];
  /** Per record: topic, key and header-set index. */
  refs: Uint32Array;
  /** Per record: where its value ends in `values`. */
  ends: Uint32Array;
  values: Uint8Array;
}

/** Packs records (in order) into a {@link WireBatch}. */
export function packBatch(records: readonly OutgoingRecord[]): WireBatch {
  const topics = new Map<string, number>();
  const keys = new Map<Buffer, number>();
  const headerSets = new Map<Record<string, Buffer>, number>();
  const index = <K>(m: Map<K, number>, k: K): number => {
    let i = m.get(k);
    if (i === undefined) m.set(k, (i = m.size));
    return i;
  };
  let total = 0;
  for (const r of records) total += r.value.length;
  const values = new Uint8Array(total);
  const refs = new Uint32Array(records.length * 3);
  const ends = new Uint32Array(records.length);
  let at = 0;
  records.forEach((r, i) => {
    refs[i * 3] = index(topics, r.topic);
    refs[i * 3 + 1] = index(keys, r.key);
    refs[i * 3 + 2] = index(headerSets, r.headers);
    values.set(r.value, at);
    at += r.value.length;
    ends[i] = at;
  });
  return {
    topics: [...topics.keys()],
    keys: [...keys.keys()].map((k) => new Uint8Array(k)),
    headerSets: [...headerSets.keys()].map((h) => {
      const set: Record<string, Uint8Array> = {};
      for (const name in h) set[name] = new Uint8Array(h[name] as Buffer);
      return set;
    }),
    refs,
    ends,
    values,
  };
}

/** The buffers of a packed batch that can be transferred rather than copied. */
export function transferablesOf(batch: WireBatch): ArrayBuffer[] {
  return [batch.refs.buffer, batch.ends.buffer, batch.values.buffer] as ArrayBuffer[];
}

/** kafkajs' `sendBatch` argument of a packed batch; values are views of its buffer. */
export function unpackBatch(batch: WireBatch): TopicMessages[] {
  const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.length);
  const keys = batch.keys.map(asBuffer);
  const headerSets = batch.headerSets.map((h) => {
    const set: Record<string, Buffer> = {};
    for (const name in h) set[name] = asBuffer(h[name] as Uint8Array);
    return set;
  });
  const byTopic = batch.topics.map((topic): TopicMessages => ({ topic, messages: [] }));
  const values = asBuffer(batch.values);
  let start = 0;
  for (let i = 0; i < batch.ends.length; i++) {
    const end = batch.ends[i] as number;
    (byTopic[batch.refs[i * 3] as number] as TopicMessages).messages.push({
      key: keys[batch.refs[i * 3 + 1] as number],
      value: values.subarray(start, end),
      headers: headerSets[batch.refs[i * 3 + 2] as number],
    });
    start = end;
  }
  return byTopic;
}

/** Requests to the producer thread; each is answered with the same id. */
export type ProducerRequest =
  | { id: number; op: 'connect' }
  | { id: number; op: 'send'; epoch: number; batch: WireBatch }
  | { id: number; op: 'reset' }
  | { id: number; op: 'close' };

/** A request before it is given its id. */
type Unnumbered<R> = R extends unknown ? Omit<R, 'id'> : never;

/** Answers of the producer thread. */
export type ProducerReply =
  | { id: number; ok: true }
  | { id: number; ok: false; error: string }
  | ({ id: number; result: SendResult } & { ok: 'sent' });

/**
 * A {@link KafkaProducer} in a worker thread (`kafka-producer-worker`), with the same methods: the
 * collector's thread encodes records and keeps the bounded buffer; kafkajs' record encoding,
 * compression hand-off, checksums and socket I/O run on the other core. A worker that dies
 * fails what it had pending (as a failed send: the sink requeues and retries) and is started
 * again at the next `connect`.
 */
export class KafkaProducerThread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: ProducerReply) => void }>();

  constructor(private readonly config: KafkaProducerConfig) {}

  async connect(): Promise<void> {
    const reply = await this.request({ op: 'connect' });
    if (reply.ok !== true) throw new Error(reply.ok === false ? reply.error : 'unexpected reply');
  }

  async send(records: readonly OutgoingRecord[], epoch: number): Promise<SendResult> {
    const batch = packBatch(records);
    const reply = await this.request({ op: 'send', epoch, batch }, transferablesOf(batch));
    if (reply.ok === 'sent') return reply.result;
    const message = reply.ok === false ? reply.error : 'unexpected reply';
    return { ok: false, message, retriable: true, tooLarge: false, skipped: false };
  }

  async reset(): Promise<void> {
    if (this.worker) await this.request({ op: 'reset' });
  }

  /**
   * Disconnects and ends the worker; `now`: ends it at once, whatever kafkajs is doing (a
   * connection being retried), failing what is pending.
   */
  async close(now = false): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    if (!now) {
      const cap = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      await Promise.race([this.request({ op: 'close' }), cap(3000)]);
      await Promise.race([exited, cap(2000)]);
    }
    await worker.terminate();
  }

  private request(
    message: Unnumbered<ProducerRequest>,
    transfer: ArrayBuffer[] = [],
  ): Promise<ProducerReply> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<ProducerReply>((resolve) => {
      this.pending.set(id, { resolve });
      worker.postMessage({ id, ...message } as ProducerRequest, transfer);
    });
  }

  private start(): Worker {
    const ext = extname(__filename);
    const file = join(__dirname, `kafka-producer-worker${ext}`);
    // From sources (tests, benches under tsx), the worker loads tsx's require hook first.
    const worker =
      ext === '.ts'
        ? new Worker(
            `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(file)});`,
            {
              eval: true,
              workerData: this.config,
            },
          )
        : new Worker(file, { workerData: this.config });
    worker.unref();
    worker.on('message', (reply: ProducerReply) => {
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      p?.resolve(reply);
    });
    const fail = (error: string): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, p] of this.pending) p.resolve({ id, ok: false, error });
      this.pending.clear();
    };
    worker.on('error', (err) => fail(`producer thread failed: ${err.message}`));
    worker.on('exit', (code) => fail(`producer thread exited (${code})`));
    this.worker = worker;
    return worker;
  }
}

import type { EachBatchPayload } from 'kafkajs';
import type { BatchPart } from '../graph/batch-processor';
import { progressId } from '../graph/progress';

/** How long the writer waits for batches being decoded to join its next transaction. */
const DECODE_WAIT_MS = 500;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A decoded Kafka batch waiting for the transaction that applies it. */
export interface QueuedBatch {
  payload: EachBatchPayload;
  part: BatchPart;
  /** Messages of the batch, valid or not. */
  size: number;
}

/** Something that happens again and again: `next` resolves the next time `notify` is called. */
class Signal {
  private resolve: () => void = () => undefined;
  next: Promise<void> = this.renew();

  notify(): void {
    this.resolve();
    this.next = this.renew();
  }

  private renew(): Promise<void> {
    return new Promise<void>((r) => (this.resolve = r));
  }
}

/** One part per topic-partition: consecutive batches of a partition are one run of offsets. */
export function mergeParts(parts: BatchPart[]): BatchPart[] {
  const out = new Map<string, BatchPart>();
  for (const p of parts) {
    const id = progressId(p.key);
    const cur = out.get(id);
    if (!cur) {
      out.set(id, {
        ...p,
        messages: [...p.messages],
        validOffsets: [...p.validOffsets],
        deadLetterOffsets: [...p.deadLetterOffsets],
      });
      continue;
    }
    for (const m of p.messages) cur.messages.push(m);
    for (const o of p.validOffsets) cur.validOffsets.push(o);
    for (const o of p.deadLetterOffsets) cur.deadLetterOffsets.push(o);
    cur.nextOffset = p.nextOffset;
  }
  return [...out.values()];
}

/**
 * What the consumer loop hands the writer: the decoded batches waiting for a transaction, in
 * order, with the signals the two loops wait on (batches being decoded, batches taken).
 */
export class TransactionQueue {
  private readonly queue: QueuedBatch[] = [];
  private queuedRecords = 0;
  /** Notified whenever the writer takes batches from the queue (and when it stops). */
  private readonly drained = new Signal();
  /** Batches being decoded, and a signal whenever one is done. */
  private decoding = 0;
  private readonly decoded = new Signal();

  /** @param maxTransactionRecords records one transaction takes at most */
  constructor(private readonly maxTransactionRecords: number) {}

  /** Batches waiting. */
  get length(): number {
    return this.queue.length;
  }

  /** More records wait than one transaction takes: the consumer should wait for {@link TransactionQueue.drainedOrAfter}. */
  get full(): boolean {
    return this.queuedRecords > this.maxTransactionRecords;
  }

  /** A batch is being decoded (the writer may wait for it: see {@link TransactionQueue.decodesJoined}). */
  decodeStarted(): void {
    this.decoding += 1;
  }

  decodeDone(): void {
    this.decoding -= 1;
    this.decoded.notify();
  }

  push(q: QueuedBatch): void {
    this.queue.push(q);
    this.queuedRecords += q.size;
  }

  /** Resolves the next time the writer takes batches (or the ingest stops), or after `ms`. */
  drainedOrAfter(ms: number): Promise<void> {
    return Promise.race([this.drained.next, sleep(ms)]);
  }

  /** Wakes the consumer waiting for room (the ingest stops). */
  wake(): void {
    this.drained.notify();
  }

  /**
   * Resolves once no batch is being decoded, the queue holds a transaction's worth, or a moment
   * has passed. kafkajs hands over a fetch's batches one after another: this lets the ones being
   * decoded join the next transaction (a connection's two ends are often on two partitions of one
   * fetch), for a moment at most (a decode may be waiting to send a dead letter to an unreachable
   * Kafka).
   */
  async decodesJoined(): Promise<void> {
    const until = Date.now() + DECODE_WAIT_MS;
    for (;;) {
      await new Promise<void>((r) => setImmediate(r));
      if (this.decoding === 0 || this.queuedRecords >= this.maxTransactionRecords) break;
      if (Date.now() >= until) break;
      await Promise.race([this.decoded.next, sleep(DECODE_WAIT_MS)]);
    }
  }

  /** Takes the batches of the next transaction: every one queued, up to the bound (at least one). */
  take(): QueuedBatch[] {
    const taken: QueuedBatch[] = [];
    let records = 0;
    while (
      this.queue.length > 0 &&
      (taken.length === 0 || records + this.queue[0].size <= this.maxTransactionRecords)
    ) {
      const q = this.queue.shift() as QueuedBatch;
      taken.push(q);
      records += q.size;
    }
    this.queuedRecords -= records;
    this.drained.notify();
    return taken;
  }

  /** Drops every batch queued (they will not be applied); returns how many. */
  clear(): number {
    const dropped = this.queue.length;
    this.queue.length = 0;
    this.queuedRecords = 0;
    this.drained.notify();
    return dropped;
  }
}

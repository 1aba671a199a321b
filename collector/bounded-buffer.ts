/** Options of {@link BoundedBuffer}. */
export interface BoundedBufferOptions<T> {
  /** Most bytes held (queued plus in flight), as measured by `sizeOf`. */
  maxBytes: number;
  /** The size an item is charged, in bytes. */
  sizeOf: (item: T) => number;
  /** Called with each item dropped to make room. */
  onDrop?: (item: T) => void;
}

/**
 * A FIFO with a memory cap, for records waiting for Kafka. Items are taken in batches (`take`),
 * stay charged while in flight, and are either acknowledged (`ack`, gone) or put back at the
 * front (`requeue`, to be sent again in order).
 *
 * When a new item would exceed the cap, the **oldest queued** items are dropped first (records
 * carry cumulative counters, so a newer record of a flow supersedes an older one); items in flight
 * are never dropped, and an item that cannot fit even then is dropped itself. Every drop is
 * counted in `dropped`.
 */
export class BoundedBuffer<T> {
  readonly maxBytes: number;
  private readonly sizeOf: (item: T) => number;
  private readonly onDrop: ((item: T) => void) | undefined;
  private queue: T[] = [];
  private head = 0;
  private inFlight: T[] = [];
  private queuedBytes = 0;
  private inFlightBytes = 0;
  private droppedCount = 0;

  constructor(options: BoundedBufferOptions<T>) {
    if (!(options.maxBytes > 0)) throw new RangeError('maxBytes must be > 0');
    this.maxBytes = options.maxBytes;
    this.sizeOf = options.sizeOf;
    this.onDrop = options.onDrop;
  }

  /** Items waiting (not in flight). */
  get length(): number {
    return this.queue.length - this.head;
  }

  /** Items taken and not yet acknowledged. */
  get inFlightCount(): number {
    return this.inFlight.length;
  }

  /** Bytes charged now (queued plus in flight). */
  get bytes(): number {
    return this.queuedBytes + this.inFlightBytes;
  }

  /** Items dropped because the cap was reached, since construction. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Nothing queued and nothing in flight. */
  get empty(): boolean {
    return this.length === 0 && this.inFlight.length === 0;
  }

  /** Adds an item; returns how many items were dropped to make room (0 when none). */
  push(item: T): number {
    const size = this.sizeOf(item);
    let dropped = 0;
    while (this.bytes + size > this.maxBytes && this.length > 0) {
      const oldest = this.shift();
      this.queuedBytes -= this.sizeOf(oldest);
      this.onDrop?.(oldest);
      dropped++;
    }
    if (this.bytes + size > this.maxBytes) {
      this.onDrop?.(item);
      dropped++;
    } else {
      this.queue.push(item);
      this.queuedBytes += size;
    }
    this.droppedCount += dropped;
    return dropped;
  }

  /**
   * Moves up to `maxItems` queued items (and at most about `maxBytes`, at least one) into flight.
   * Returns the items now in flight; call `ack` or `requeue` before taking again.
   */
  take(maxItems: number, maxBytes = Infinity): T[] {
    if (this.inFlight.length > 0) throw new Error('take() while a batch is in flight');
    let bytes = 0;
    while (this.length > 0 && this.inFlight.length < maxItems) {
      const next = this.queue[this.head] as T;
      const size = this.sizeOf(next);
      if (this.inFlight.length > 0 && bytes + size > maxBytes) break;
      this.shift();
      this.inFlight.push(next);
      bytes += size;
    }
    this.queuedBytes -= bytes;
    this.inFlightBytes = bytes;
    return this.inFlight;
  }

  /** The batch in flight was delivered: forget it. */
  ack(): void {
    this.inFlight = [];
    this.inFlightBytes = 0;
  }

  /** The batch in flight failed: put it back at the front, in order. */
  requeue(): void {
    if (this.inFlight.length === 0) return;
    this.queue = [...this.inFlight, ...this.queue.slice(this.head)];
    this.head = 0;
    this.queuedBytes += this.inFlightBytes;
    this.inFlight = [];
    this.inFlightBytes = 0;
  }

  private shift(): T {
    const item = this.queue[this.head] as T;
    (this.queue as (T | undefined)[])[this.head] = undefined;
    this.head++;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

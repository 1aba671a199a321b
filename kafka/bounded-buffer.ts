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
 * A FIFO with a memory cap, for records waiting for Kafka. Items are taken in batches (`take`;
 * several batches may be in flight, in order), stay charged while in flight, and are either
 * acknowledged (`ack`, the oldest batch in flight is gone) or all put back at the front
 * (`requeue`, to be sent again in order).
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
  /** Batches in flight, oldest first, with their bytes. */
  private inFlight: { items: T[]; bytes: number }[] = [];
  private inFlightItems = 0;
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
    return this.inFlightItems;
  }

  /** Batches taken and not yet acknowledged. */
  get inFlightBatches(): number {
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
    return this.length === 0 && this.inFlightItems === 0;
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
   * Moves up to `maxItems` queued items (and at most about `maxBytes`, at least one) into flight
   * as a new batch, after any batches already in flight. Returns the batch (empty when nothing is
   * queued); each batch is later acknowledged (`ack`, oldest first) or requeued.
   */
  take(maxItems: number, maxBytes = Infinity): T[] {
    const items: T[] = [];
    let bytes = 0;
    while (this.length > 0 && items.length < maxItems) {
      const next = this.queue[this.head] as T;
      const size = this.sizeOf(next);
      if (items.length > 0 && bytes + size > maxBytes) break;
      this.shift();
      items.push(next);
      bytes += size;
    }
    if (items.length === 0) return items;
    this.queuedBytes -= bytes;
    this.inFlightBytes += bytes;
    this.inFlightItems += items.length;
    this.inFlight.push({ items, bytes });
    return items;
  }

  /** The oldest batch in flight was delivered: forget it. */
  ack(): void {
    const batch = this.inFlight.shift();
    if (!batch) return;
    this.inFlightBytes -= batch.bytes;
    this.inFlightItems -= batch.items.length;
  }

  /**
   * Removes the oldest queued item (not counted as dropped: the caller says why it goes) and
   * returns it; undefined when nothing is queued.
   */
  removeFirst(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.shift();
    this.queuedBytes -= this.sizeOf(item);
    return item;
  }

  /** Sending failed: every batch in flight goes back to the front, in order. */
  requeue(): void {
    if (this.inFlight.length === 0) return;
    this.queue = [...this.inFlight.flatMap((b) => b.items), ...this.queue.slice(this.head)];
    this.head = 0;
    this.queuedBytes += this.inFlightBytes;
    this.inFlight = [];
    this.inFlightItems = 0;
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

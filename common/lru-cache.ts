/**
 * A small least-recently-used cache on top of `Map`'s insertion order: `get` moves an entry to
 * the young end, `set` evicts the oldest entries beyond `capacity`. O(1) per operation.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();

  /** @param capacity - most entries kept; at least 1. */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be ≥ 1: ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The value for `key`, marked as most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** The value for `key` without touching its recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as K;
      this.map.delete(oldest);
    }
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** Entries from the oldest to the most recently used. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}

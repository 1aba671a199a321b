import neo4j from 'neo4j-driver';

/**
 * Deep copy of a parameter value with every integral number as a Neo4j Integer, so that counters
 * stay integers in the graph (the driver sends plain JavaScript numbers as floats).
 */
export function int64Params<T>(value: T): T {
  if (typeof value === 'number') return (Number.isInteger(value) ? neo4j.int(value) : value) as T;
  if (Array.isArray(value)) return value.map((v) => int64Params(v)) as T;
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = int64Params(v);
    return out as T;
  }
  return value;
}

/** A Neo4j Integer, number or null → number or null. */
export function toNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return (value as { toNumber(): number }).toNumber();
}

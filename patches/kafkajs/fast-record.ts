/**
 * kafkajs 2.2.4 encodes each record of a produce request (`src/protocol/recordBatch/record/v0`)
 * through its generic `Encoder`: a zero-filled 512-byte `Buffer.alloc` for the record and one per
 * header, a `Buffer.from(array)` per varint and `Long` arithmetic for the timestamp delta. That was
 * about half of the producer's CPU time (and much of its garbage) for small flow records.
 *
 * This module replaces that function in Node's module cache with one that computes the record's
 * exact size and writes it into one `Buffer.allocUnsafe` (pooled) — the same bytes: Kafka's v2
 * record (length varint, attributes 0, timestamp delta varlong, offset delta varint, key and value
 * as varint-prefixed bytes, null as -1, headers as varint count then varint-prefixed key and value,
 * a header whose value is an array repeated once per element). Anything it does not handle the way
 * kafkajs does, byte for byte (a key or value that is neither string, Buffer nor null; a
 * non-integer or out-of-range delta; a null header value), goes to kafkajs' own function, so the
 * result is always kafkajs' encoding; `test/kafkajs-patches.test.ts` compares both on many inputs.
 *
 * The record module is loaded lazily by the produce request (v3, which v4–v7 build on), so this
 * takes effect whenever it is imported before the first produce. {@link fastRecordApplied} says
 * whether it took effect.
 */
import { checkedVersion } from '../library-version';
import { kafkajsRequire } from './internals';

/** The argument of kafkajs' record encoder. */
export interface RecordArgs {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
}

/** What kafkajs' encoders consume: an `Encoder` (`writeEncoder` checks `buf`, reads `buffer`). */
interface EncoderLike {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
}

type RecordEncoder = (args: RecordArgs) => EncoderLike;

/** Bytes of a zigzag varint of a 32-bit integer, as kafkajs writes it. */
function sizeOfVarInt(v: number): number {
  let zz = ((v << 1) ^ (v >> 31)) >>> 0;
  let bytes = 1;
  while (zz >= 0x80) {
    bytes++;
    zz >>>= 7;
  }
  return bytes;
}

function writeVarInt(buf: Buffer, at: number, v: number): number {
  let zz = ((v << 1) ^ (v >> 31)) >>> 0;
  while (zz >= 0x80) {
    buf[at++] = (zz & 0x7f) | 0x80;
    zz >>>= 7;
  }
  buf[at++] = zz;
  return at;
}

/** Zigzag of a safe integer within ±2^51 (so that the result stays exact in a double). */
const zigzag64 = (v: number): number => (v >= 0 ? v * 2 : -v * 2 - 1);

function sizeOfVarLong(v: number): number {
  let zz = zigzag64(v);
  let bytes = 1;
  while (zz >= 0x80) {
    bytes++;
    zz = Math.floor(zz / 0x80);
  }
  return bytes;
}

function writeVarLong(buf: Buffer, at: number, v: number): number {
  let zz = zigzag64(v);
  while (zz >= 0x80) {
    buf[at++] = (zz % 0x80) | 0x80;
    zz = Math.floor(zz / 0x80);
  }
  buf[at++] = zz;
  return at;
}

/** Bytes of a string's or Buffer's content; -1 for null/undefined; undefined for anything else. */
function byteLength(v: unknown): number | undefined {
  if (v === null || v === undefined) return -1;
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Buffer.isBuffer(v)) return v.length;
  return undefined;
}

/** Writes varint length then content; -1 for null. */
function writeBytes(buf: Buffer, at: number, v: unknown, length: number): number {
  at = writeVarInt(buf, at, length);
  if (length <= 0) return at;
  if (typeof v === 'string') buf.write(v, at, length, 'utf8');
  else (v as Buffer).copy(buf, at);
  return at + length;
}

/** Builds the fast encoder around kafkajs' own (`original`) and its `Encoder` class. */
export function fastRecordEncoder(original: RecordEncoder, encoderPrototype: object): RecordEncoder {
  const MAX_DELTA = 2 ** 51;
  return function record(args: RecordArgs): EncoderLike {
    const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = args;
    if (
      !Number.isInteger(offsetDelta) ||
      offsetDelta < 0 ||
      offsetDelta >= 2 ** 30 ||
      !Number.isInteger(timestampDelta) ||
      Math.abs(timestampDelta) >= MAX_DELTA ||
      typeof headers !== 'object' ||
      headers === null
    )
      return original(args);
    const keyLength = byteLength(key);
    const valueLength = byteLength(value);
    if (keyLength === undefined || valueLength === undefined) return original(args);

    // Headers, flattened as kafkajs does (an array value is one header per element).
    const names = Object.keys(headers);
    let headerCount = 0;
    let headerBytes = 0;
    for (const name of names) {
      const h = headers[name];
      const values = Array.isArray(h) ? (h as unknown[]) : [h];
      const nameLength = Buffer.byteLength(name, 'utf8');
      for (const v of values) {
        if (typeof v !== 'string' && !Buffer.isBuffer(v)) return original(args);
        const length = byteLength(v) as number;
        headerCount++;
        headerBytes += sizeOfVarInt(nameLength) + nameLength + sizeOfVarInt(length) + length;
      }
    }

    const body =
      1 +
      sizeOfVarLong(timestampDelta) +
      sizeOfVarInt(offsetDelta) +
      sizeOfVarInt(keyLength) +
      Math.max(keyLength, 0) +
      sizeOfVarInt(valueLength) +
      Math.max(valueLength, 0) +
      sizeOfVarInt(headerCount) +
      headerBytes;
    const total = sizeOfVarInt(body) + body;
    const buf = Buffer.allocUnsafe(total);
    let at = writeVarInt(buf, 0, body);
    buf[at++] = 0; // attributes: none used
    at = writeVarLong(buf, at, timestampDelta);
    at = writeVarInt(buf, at, offsetDelta);
    at = writeBytes(buf, at, key, keyLength);
    at = writeBytes(buf, at, value, valueLength);
    at = writeVarInt(buf, at, headerCount);
    for (const name of names) {
      const h = headers[name];
      const values = Array.isArray(h) ? (h as unknown[]) : [h];
      const nameLength = Buffer.byteLength(name, 'utf8');
      for (const v of values) {
        at = writeBytes(buf, at, name, nameLength);
        at = writeBytes(buf, at, v, byteLength(v) as number);
      }
    }
    const encoder = Object.create(encoderPrototype) as EncoderLike;
    encoder.buf = buf;
    encoder.offset = at;
    return encoder;
  };
}

/** kafkajs' own record encoder (also when patched) and its Encoder's prototype: for tests. */
export function kafkajsRecordEncoder(): { original: RecordEncoder; encoderPrototype: object } {
  const { local } = kafkajsRequire();
  const current = local('./src/protocol/recordBatch/record/v0') as RecordEncoder & {
    original?: RecordEncoder;
  };
  const Encoder = local('./src/protocol/encoder') as { prototype: object };
  return { original: current.original ?? current, encoderPrototype: Encoder.prototype };
}

function apply(): boolean {
  if (!checkedVersion('kafkajs', 'fast record encoder')) return false;
  try {
    const { req, local } = kafkajsRequire();
    const target = local.resolve('./src/protocol/recordBatch/record/v0');
    const { original, encoderPrototype } = kafkajsRecordEncoder();
    const cached = req.cache[target];
    if (typeof original !== 'function' || !cached) return false;
    if (cached.exports !== original) return true; // patched already (another copy of this module)
    // The produce request binds the record encoder when it first loads (at the first produce).
    if (req.cache[local.resolve('./src/protocol/requests/produce/v3/request')]) return false;
    cached.exports = Object.assign(fastRecordEncoder(original, encoderPrototype), { original });
    return true;
  } catch {
    return false;
  }
}

/** Whether kafkajs' producer encodes records with the fast encoder. */
export const fastRecordApplied: boolean = apply();

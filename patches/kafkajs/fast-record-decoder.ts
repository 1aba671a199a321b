/**
 * kafkajs 2.2.4 decodes each record of a fetch response (`src/protocol/recordBatch/record/v0/decoder`)
 * with `Long` arithmetic: the timestamp delta is read as a varlong through a dozen `Long` objects,
 * then the batch's first timestamp and first offset (decimal strings) are parsed by `Long` and the
 * sums printed back — twice per record; the headers object is rebuilt with an object spread per
 * header. For the ingest's small flow records that was most of kafkajs' share of its CPU time.
 *
 * This module replaces that function in Node's module cache with one that reads the same fields
 * with plain numbers and gives the same object: same properties in the same order, the same
 * strings, Buffer views of the same bytes. The batch's first offset and timestamp are parsed once
 * per batch. Whatever it does not read the way kafkajs does — a varint longer than the fast path
 * reads exactly, a length that runs past the record, a sum beyond 2^53, a header named
 * `__proto__` — goes to kafkajs' own function, from the record's first byte, so the result is
 * always kafkajs' own; `test/kafkajs-patches.test.ts` compares both on many records.
 *
 * The record decoder is bound when kafkajs first decodes a fetch response (the record batch
 * decoder loads it), so this takes effect whenever it is imported before the first fetch.
 * {@link fastRecordDecoderApplied} says whether it took effect.
 */
import { LastText, utf8Text } from '../../common/last-text';
import { checkedVersion } from '../library-version';
import { kafkajsRequire } from './internals';

/** What kafkajs' record decoder reads from: its `Decoder` over one record's bytes. */
export interface DecoderLike {
  buffer: Buffer;
  offset: number;
}

/** The record batch's fields each record carries (kafkajs' `recordContext` plus `magicByte`). */
export interface BatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
  [field: string]: unknown;
}

export type RecordDecoder = (decoder: DecoderLike, batchContext?: BatchContext) => unknown;

/** kafkajs' TimestampTypes.LOG_APPEND_TIME. */
const LOG_APPEND_TIME = 1;
/** Varints of up to 4 bytes (28 bits) read the same with 32-bit arithmetic as kafkajs reads them. */
const VARINT_BYTES = 4;
/** Varlongs of up to 7 bytes (49 bits) are exact as doubles. */
const VARLONG_BYTES = 7;

/** A decimal string's number when it is a safe integer written canonically; else undefined. */
function exactNumber(text: string | undefined): number | undefined {
  if (typeof text !== 'string') return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && String(n) === text ? n : undefined;
}

/** A cursor over one record's bytes (methods, not closures: nothing is allocated per record). */
class Cursor {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;

  /** A zigzag varint of at most VARINT_BYTES; NaN when longer or past the end. */
  varint(): number {
    const buf = this.buf;
    let raw = 0;
    for (let i = 0; i < VARINT_BYTES; i++) {
      if (this.pos >= buf.length) return NaN;
      const b = buf[this.pos++];
      raw |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return (raw >>> 1) ^ -(raw & 1);
    }
    return NaN;
  }

  /** A zigzag varlong of at most VARLONG_BYTES; NaN when longer or past the end. */
  varlong(): number {
    const buf = this.buf;
    let raw = 0;
    let scale = 1;
    for (let i = 0; i < VARLONG_BYTES; i++) {
      if (this.pos >= buf.length) return NaN;
      const b = buf[this.pos++];
      raw += (b & 0x7f) * scale;
      if (b < 0x80) return raw % 2 === 1 ? -(raw + 1) / 2 : raw / 2;
      scale *= 128;
    }
    return NaN;
  }

  /** Varint-prefixed bytes as a view; null for -1; undefined when kafkajs would read them otherwise. */
  bytes(): Buffer | null | undefined {
    const length = this.varint();
    if (length === -1) return null;
    if (!(length >= 0) || this.pos + length > this.buf.length) return undefined;
    this.pos += length;
    return this.buf.subarray(this.pos - length, this.pos);
  }

  /**
   * The `index`th header's name: varint-prefixed UTF-8 text; 'null' for -1 (kafkajs names such a
   * header "null"); undefined as `bytes`. Records of a stream carry the same headers in the same
   * order: the text is made once per header position.
   */
  name(index: number): string | undefined {
    const length = this.varint();
    if (length === -1) return 'null';
    if (!(length >= 0) || this.pos + length > this.buf.length) return undefined;
    this.pos += length;
    const names = this.names[index] ?? (this.names[index] = new LastText(64));
    return names.get(this.buf, this.pos - length, this.pos, utf8Text);
  }

  private readonly names: LastText[] = [];
}

/** Builds the fast decoder around kafkajs' own (`original`). */
export function fastRecordDecoder(original: RecordDecoder): RecordDecoder {
  // The batch being decoded: its first offset and timestamp as numbers (undefined: not exact).
  let context: BatchContext | undefined;
  let firstOffset: number | undefined;
  let firstTimestamp: number | undefined;
  const at = new Cursor();

  return function decodeRecord(decoder: DecoderLike, batchContext: BatchContext = {}): unknown {
    if (batchContext !== context) {
      context = batchContext;
      firstOffset = exactNumber(batchContext.firstOffset);
      firstTimestamp = exactNumber(batchContext.firstTimestamp);
    }
    const record = read(decoder, batchContext);
    return record === undefined ? original(decoder, batchContext) : record;
  };

  /** The record, decoder.offset moved past it; undefined (decoder untouched) when kafkajs must read it. */
  function read(decoder: DecoderLike, batchContext: BatchContext): object | undefined {
    const { magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
    const buf = decoder.buffer;
    at.buf = buf;
    at.pos = decoder.offset;
    if (at.pos >= buf.length) return undefined;
    const attributes = (buf[at.pos++] << 24) >> 24;

    const timestampDelta = at.varlong();
    if (Number.isNaN(timestampDelta)) return undefined;
    let timestamp: string;
    if (timestampType === LOG_APPEND_TIME && maxTimestamp) {
      timestamp = maxTimestamp;
    } else {
      if (firstTimestamp === undefined || !Number.isSafeInteger(firstTimestamp + timestampDelta))
        return undefined;
      timestamp = String(firstTimestamp + timestampDelta);
    }

    const offsetDelta = at.varint();
    if (
      Number.isNaN(offsetDelta) ||
      firstOffset === undefined ||
      !Number.isSafeInteger(firstOffset + offsetDelta)
    )
      return undefined;
    const offset = String(firstOffset + offsetDelta);

    const key = at.bytes();
    if (key === undefined) return undefined;
    const value = at.bytes();
    if (value === undefined) return undefined;

    const count = at.varint();
    if (!(count >= -1)) return undefined;
    const headers: Record<string, unknown> = {};
    for (let h = 0; h < count; h++) {
      const name = at.name(h);
      if (name === undefined || name === '__proto__') return undefined;
      const headerValue = at.bytes();
      if (headerValue === undefined) return undefined;
      const before = headers[name];
      headers[name] =
        before === undefined
          ? headerValue
          : Array.isArray(before)
            ? before.concat([headerValue])
            : [before, headerValue];
    }
    decoder.offset = at.pos;
    return {
      magicByte,
      attributes,
      timestamp,
      offset,
      key,
      value,
      headers,
      isControlRecord: isControlBatch,
      batchContext,
    };
  }
}

/** kafkajs' own record decoder (also when patched): for tests. */
export function kafkajsRecordDecoder(): RecordDecoder {
  const { local } = kafkajsRequire();
  const current = local('./src/protocol/recordBatch/record/v0/decoder') as RecordDecoder & {
    original?: RecordDecoder;
  };
  return current.original ?? current;
}

function apply(): boolean {
  if (!checkedVersion('kafkajs', 'fast record decoder')) return false;
  try {
    const { req, local } = kafkajsRequire();
    const target = local.resolve('./src/protocol/recordBatch/record/v0/decoder');
    const original = kafkajsRecordDecoder();
    const cached = req.cache[target];
    if (typeof original !== 'function' || !cached) return false;
    if (cached.exports !== original) return true; // patched already (another copy of this module)
    // The record batch decoder binds the record decoder when it first loads (at the first fetch).
    if (req.cache[local.resolve('./src/protocol/recordBatch/v0/decoder')]) return false;
    cached.exports = Object.assign(fastRecordDecoder(original), { original });
    return true;
  } catch {
    return false;
  }
}

/** Whether kafkajs' consumer decodes records with the fast decoder. */
export const fastRecordDecoderApplied: boolean = apply();

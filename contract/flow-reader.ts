import type { FlowRecord } from './flow-record';
import { LastText, utf8Text } from '../common/last-text';
import { uuidFromBytes } from './ids';
import { ipFromBytes } from './ip-address';

/*
 * The ingest decodes every flow record it consumes; through avsc and `flowFromAvro` that was about
 * a fifth of its CPU time: avsc copies each fixed and bytes field into a pooled buffer, builds the
 * Avro-shaped record, and the conversion then builds the FlowRecord from it, turning the same
 * host id, run id and addresses into the same strings record after record.
 *
 * FlowReader reads the Avro binary of one schema, flow.v1, straight into a FlowRecord, and keeps
 * the last text made from each id, address and name, so a collector's stream of records costs one
 * conversion per distinct value. It accepts and rejects exactly what avsc does for that schema
 * (the same varint arithmetic, precision check on longs, enum and union indices, truncation and
 * trailing data) and gives the record `flowFromAvro` would; `test/contract-flow-reader.test.ts`
 * compares both on many records, truncations and corruptions. The codec uses it only for a
 * message whose writer schema is this one and is also the reader schema (see `Codec.decodeFlow`).
 */

/** The schema FlowReader reads: its name and fingerprint (as the schema catalog computes it). */
export const FLOW_READER_SCHEMA = { name: 'flow.v1', fingerprint: 'e304b9831be5400c' } as const;

/** The bytes are not a valid record of the schema (avsc's message where it has one). */
export class FlowReadError extends Error {}

const ROLES = ['client', 'server', 'unknown'] as const;
const STATES = ['open', 'closed', 'failed'] as const;
/** AddressFamily's symbols (ipv4, ipv6) as the FlowRecord's family. */
const FAMILIES = [4, 6] as const;
/** avsc's bound for a long read as a JavaScript number. */
const SAFE_LONG = 9007199254740990;
const V4_CACHE_LIMIT = 4096;

const hexText = (buf: Buffer, start: number, end: number): string => buf.toString('hex', start, end);
const uuidText = (buf: Buffer, start: number, end: number): string => uuidFromBytes(buf.subarray(start, end));
const ipText = (buf: Buffer, start: number, end: number): string => ipFromBytes(buf.subarray(start, end));

/** Reads flow.v1 Avro binary into FlowRecords. One reader per decoding thread (it keeps caches). */
export class FlowReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private readonly hostIds = new LastText(16);
  private readonly runIds = new LastText(16);
  private readonly localV6 = new LastText(16);
  private readonly remoteV6 = new LastText(16);
  private readonly comms = new LastText(64);
  // One cache per union branch: a text id may have the same bytes as a binary one.
  private readonly containerDigests = new LastText(32);
  private readonly containerTexts = new LastText(64);
  private readonly runtimes = new LastText(32);
  private readonly podIds = new LastText(16);
  private readonly podTexts = new LastText(64);
  private readonly v4 = new Map<number, string>();

  /**
   * One record. Throws {@link FlowReadError} when the bytes are not a flow.v1 record (avsc would
   * throw), or what `flowFromAvro` throws when a field does not convert (an address that is
   * neither 4 nor 16 bytes) — in that order, as avsc decodes the whole record before converting.
   */
  read(buf: Buffer): FlowRecord {
    this.buf = buf;
    this.pos = 0;
    const hostId = this.text(this.hostIds, hexText, 16);
    const runId = this.text(this.runIds, uuidText, 16);
    const seq = this.long();
    const cookie = this.long();
    const netns = this.long();
    const role = this.symbol(ROLES, 'FlowRole');
    const state = this.symbol(STATES, 'FlowState');
    const family = this.symbol(FAMILIES, 'AddressFamily');
    // Addresses are converted once the whole record is read: a bad length must not hide a truncation.
    const localLength = this.length();
    const localAt = this.skip(localLength);
    const localPort = this.int();
    const remoteLength = this.length();
    const remoteAt = this.skip(remoteLength);
    const remotePort = this.int();
    const pid = this.branch(2) === 0 ? 0 : this.int();
    const processStartTime = this.branch(2) === 0 ? 0 : this.long();
    const comm = this.branch(2) === 0 ? '' : this.text(this.comms, utf8Text);
    const cgroupId = this.branch(2) === 0 ? 0 : this.long();
    const containerBranch = this.branch(3);
    const containerId =
      containerBranch === 0
        ? null
        : containerBranch === 1
          ? this.text(this.containerDigests, hexText, 32)
          : this.text(this.containerTexts, utf8Text);
    const containerRuntime = this.branch(2) === 0 ? null : this.text(this.runtimes, utf8Text);
    const podBranch = this.branch(3);
    const podUid =
      podBranch === 0
        ? null
        : podBranch === 1
          ? this.text(this.podIds, uuidText, 16)
          : this.text(this.podTexts, utf8Text);
    const bytesSent = this.long();
    const bytesReceived = this.long();
    const retransmits = this.long();
    const srttUs = this.branch(2) === 0 ? 0 : this.long();
    const connectLatencyUs = this.branch(2) === 0 ? null : this.long();
    const openedAt = this.long();
    const closedAt = this.branch(2) === 0 ? null : this.long();
    const observedAt = this.long();
    const preexisting = !!buf[this.pos++];
    if (this.pos > buf.length) throw new FlowReadError('truncated buffer');
    if (this.pos < buf.length) throw new FlowReadError('trailing data');

    return {
      hostId,
      runId,
      seq,
      cookie,
      netns,
      role,
      state,
      family,
      localAddr: this.address(localAt, localLength, this.localV6),
      localPort,
      remoteAddr: this.address(remoteAt, remoteLength, this.remoteV6),
      remotePort,
      pid,
      processStartTime,
      comm,
      cgroupId,
      containerId,
      containerRuntime,
      podUid,
      bytesSent,
      bytesReceived,
      retransmits,
      srttUs,
      connectLatencyUs,
      openedAt,
      closedAt,
      observedAt,
      preexisting,
    };
  }

  /** A fixed (`size` bytes) or length-prefixed field's text, through its cache. */
  private text(
    cache: LastText,
    make: (buf: Buffer, start: number, end: number) => string,
    size = this.length(),
  ): string {
    const at = this.skip(size);
    return cache.get(this.buf, at, at + size, make);
  }

  /** A zigzag varint, as avsc reads it (float arithmetic beyond 28 bits); past the end reads 0. */
  private int(): number {
    const buf = this.buf;
    let b = buf[this.pos++];
    let n = b & 0x7f;
    let k = 7;
    while (b & 0x80 && k < 28) {
      b = buf[this.pos++];
      n |= (b & 0x7f) << k;
      k += 7;
    }
    if (b & 0x80) {
      let f = n;
      let scale = 268435456; // 2 ** 28
      do {
        b = buf[this.pos++];
        f += (b & 0x7f) * scale;
        scale *= 128;
      } while (b & 0x80);
      return (f % 2 ? -(f + 1) : f) / 2;
    }
    return (n >> 1) ^ -(n & 1);
  }

  /** An Avro long: a varint that must be exact as a number. */
  private long(): number {
    const n = this.int();
    if (!(n >= -SAFE_LONG && n <= SAFE_LONG)) throw new FlowReadError('potential precision loss');
    return n;
  }

  private symbol<T>(symbols: readonly T[], name: string): T {
    const i = this.int();
    const symbol = symbols[i];
    if (symbol === undefined) throw new FlowReadError(`invalid ${name} enum index: ${i}`);
    return symbol;
  }

  /** A union's branch index, checked against its number of branches. */
  private branch(branches: number): number {
    const i = this.int();
    if (!(i >= 0 && i < branches)) throw new FlowReadError(`invalid union index: ${i}`);
    return i;
  }

  /** The length of a bytes or string field. */
  private length(): number {
    const n = this.int();
    if (n < 0) throw new FlowReadError('truncated buffer');
    return n;
  }

  /** Steps over `length` bytes and returns where they start; throws when they run past the end. */
  private skip(length: number): number {
    const at = this.pos;
    this.pos += length;
    if (this.pos > this.buf.length) throw new FlowReadError('truncated buffer');
    return at;
  }

  /** Address text (see ip-address.ts) through the caches; another length throws as `ipFromBytes` does. */
  private address(at: number, length: number, v6: LastText): string {
    const buf = this.buf;
    if (length === 16) return v6.get(buf, at, at + 16, ipText);
    if (length !== 4) return ipText(buf, at, at + length);
    const key = buf.readUInt32BE(at);
    let text = this.v4.get(key);
    if (text === undefined) {
      if (this.v4.size >= V4_CACHE_LIMIT) this.v4.clear();
      text = ipText(buf, at, at + 4);
      this.v4.set(key, text);
    }
    return text;
  }
}

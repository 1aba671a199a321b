import { InvalidRecordError } from './errors';

/*
 * Identifiers that are 128 or 256 bits by definition travel as Avro `fixed` (16 or 32 bytes)
 * rather than as 33- to 65-byte text. Text forms:
 * - host id: machine-id(5), 32 lowercase hex characters;
 * - run id: a UUID, 8-4-4-4-12 lowercase hex;
 * - container id: 64 lowercase hex characters → Digest256, any other form stays text;
 * - pod uid: a UUID → Id128, any other form (static pods' hash uids) stays text.
 */

const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** machine-id text (32 lowercase hex) → 16 bytes. */
export function machineIdToBytes(text: string): Buffer {
  if (!HEX32.test(text)) {
    throw new InvalidRecordError(
      'invalid-record',
      `host id ${JSON.stringify(text)} is not a machine-id (32 lowercase hex)`,
    );
  }
  return Buffer.from(text, 'hex');
}

/** 16 bytes → machine-id text. */
export function machineIdFromBytes(bytes: Buffer): string {
  return bytes.toString('hex');
}

/** UUID text (lowercase, with dashes) → 16 bytes. */
export function uuidToBytes(text: string): Buffer {
  if (!UUID.test(text))
    throw new InvalidRecordError('invalid-record', `${JSON.stringify(text)} is not a lowercase UUID`);
  return Buffer.from(text.replace(/-/g, ''), 'hex');
}

/** 16 bytes → UUID text. */
export function uuidFromBytes(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Container id text → its Avro union branch: 32 bytes for a 64-hex id, else the text. */
export function containerIdToAvro(text: string | null): Buffer | string | null {
  if (text === null) return null;
  return HEX64.test(text) ? Buffer.from(text, 'hex') : text;
}

/** Avro container id → text. */
export function containerIdFromAvro(value: Buffer | string | null): string | null {
  return Buffer.isBuffer(value) ? value.toString('hex') : value;
}

/** Pod uid text → its Avro union branch: 16 bytes for a UUID, else the text. */
export function podUidToAvro(text: string | null): Buffer | string | null {
  if (text === null) return null;
  return UUID.test(text) ? Buffer.from(text.replace(/-/g, ''), 'hex') : text;
}

/** Avro pod uid → text. */
export function podUidFromAvro(value: Buffer | string | null): string | null {
  return Buffer.isBuffer(value) ? uuidFromBytes(value) : value;
}

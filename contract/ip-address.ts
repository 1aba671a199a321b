import { InvalidRecordError } from './errors';

/*
 * Addresses travel as Avro `bytes` in network byte order: 4 bytes for IPv4 (IPv4-mapped IPv6
 * addresses written as IPv4 text included), 16 bytes for IPv6. Text comes back in canonical form
 * (dotted quad; RFC 5952 for IPv6: lowercase, longest zero run compressed, ::ffff:a.b.c.d).
 */

const V4 =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function invalid(text: string): InvalidRecordError {
  return new InvalidRecordError('invalid-record', `not an IP address: ${JSON.stringify(text)}`);
}

function parseV4(text: string, out: Buffer, at: number): boolean {
  const m = V4.exec(text);
  if (!m) return false;
  out[at] = Number(m[1]);
  out[at + 1] = Number(m[2]);
  out[at + 2] = Number(m[3]);
  out[at + 3] = Number(m[4]);
  return true;
}

function parseGroups(part: string, text: string): string[] {
  if (part === '') return [];
  const groups = part.split(':');
  if (groups.includes('')) throw invalid(text);
  return groups;
}

/** IP address text → 4 or 16 bytes. Throws {@link InvalidRecordError} on anything else (zone ids included). */
export function ipToBytes(text: string): Buffer {
  if (!text.includes(':')) {
    const out = Buffer.allocUnsafe(4);
    if (!parseV4(text, out, 0)) throw invalid(text);
    return out;
  }
  const out = Buffer.alloc(16);
  const halves = text.split('::');
  if (halves.length > 2) throw invalid(text);
  const head = parseGroups(halves[0], text);
  const tail = halves.length === 2 ? parseGroups(halves[1], text) : [];
  // An embedded IPv4 address counts as two groups and may only be the address's last part.
  const lastPart = halves.length === 2 ? tail : head;
  const v4Tail = lastPart.length > 0 && lastPart[lastPart.length - 1].includes('.');
  const groupCount = head.length + tail.length + (v4Tail ? 1 : 0);
  if (halves.length === 2 ? groupCount > 7 : groupCount !== 8) throw invalid(text);
  const writeGroups = (groups: string[], at: number): void => {
    groups.forEach((g, i) => {
      if (groups === lastPart && i === groups.length - 1 && v4Tail) {
        if (!parseV4(g, out, at)) throw invalid(text);
      } else {
        if (!HEX_GROUP.test(g)) throw invalid(text);
        out.writeUInt16BE(parseInt(g, 16), at);
        at += 2;
      }
    });
  };
  writeGroups(head, 0);
  if (halves.length === 2) writeGroups(tail, 16 - (tail.length + (v4Tail ? 1 : 0)) * 2);
  return out;
}

/** 4 or 16 bytes → canonical address text. Throws {@link InvalidRecordError} on another length. */
export function ipFromBytes(bytes: Buffer): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) {
    throw new InvalidRecordError('invalid-record', `an IP address has 4 or 16 bytes, not ${bytes.length}`);
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  // Longest run of at least two zero groups, the first one on a tie (RFC 5952 §4.2).
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

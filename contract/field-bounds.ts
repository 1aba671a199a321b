/**
 * The most a collector puts into each text field of a record, in UTF-8 bytes. A process on a
 * host chooses its own name and command line; these bounds keep every record far below what a
 * Kafka broker accepts (1 MiB by default), whatever it chooses. Where the kernel already bounds a
 * value (a task name, a path), the bound is the kernel's and the collector checks it; where it
 * does not (a command line), the collector cuts the value and marks the record
 * (`cmdlineTruncated`, `namespacesTruncated`). The contract README lists them.
 */
export const FIELD_BOUNDS = {
  /** A task name: the kernel's TASK_COMM_LEN (16) less its NUL. */
  commBytes: 15,
  /** An executable's path: PATH_MAX (4096) with the kernel's ` (deleted)` suffix. */
  exeBytes: 4096 + ' (deleted)'.length,
  /** Command line: arguments kept. */
  cmdlineArgs: 128,
  /** Command line: bytes kept of one argument. */
  cmdlineArgBytes: 1024,
  /** Command line: bytes kept in all (each argument counting one more byte, its NUL, as in /proc). */
  cmdlineBytes: 8192,
  /** A host name: the kernel's __NEW_UTS_LEN. */
  hostnameBytes: 64,
  /** A kernel release (uname -r): __NEW_UTS_LEN. */
  kernelBytes: 64,
  /** An interface name: IFNAMSIZ (16) less its NUL. */
  ifnameBytes: 15,
  /** Network namespaces listed in one host record. */
  hostNamespaces: 1024,
  /** Addresses listed in one host record, all namespaces together. */
  hostAddresses: 8192,
  /** A probe's error text in a heartbeat (the collector's own words and libbpf's). */
  capabilityErrorBytes: 512,
} as const;

/** Bytes of a string in UTF-8. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * How many leading bytes of `bytes[0, end)` form whole UTF-8 characters: `end`, or less when a
 * multi-byte character starts before `end` and ends after it. Invalid bytes count as whole
 * (each decodes to U+FFFD on its own).
 */
export function utf8Boundary(bytes: Uint8Array, end: number): number {
  if (end >= bytes.length) return bytes.length;
  // Step back over continuation bytes (10xxxxxx) to the lead byte of the character at `end`.
  let lead = end;
  while (lead > 0 && end - lead < 3 && ((bytes[lead] as number) & 0xc0) === 0x80) lead--;
  const b = bytes[lead] as number;
  const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return lead < end && lead + length > end ? lead : end;
}

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes, at a character boundary (a cut never splits a
 * character into replacement characters). `cut` says whether anything was left out.
 */
export function cutUtf8(text: string, maxBytes: number): { text: string; cut: boolean } {
  // Each UTF-16 unit is at most 3 UTF-8 bytes: short strings need no measuring.
  if (text.length * 3 <= maxBytes) return { text, cut: false };
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return { text, cut: false };
  return { text: bytes.toString('utf8', 0, utf8Boundary(bytes, maxBytes)), cut: true };
}

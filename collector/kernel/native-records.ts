/**
 * Decoders of the packed records the native addon hands over. They mirror `bpf/nettopo.h`
 * byte for byte (little endian): `struct flow` (136 bytes) and `struct event` (152 bytes).
 */

/** Size of `struct flow` in bytes. */
export const FLOW_RECORD_SIZE = 136;
/** Size of `struct event` in bytes. */
export const EVENT_RECORD_SIZE = 152;

/** `enum nettopo_role`. */
export const NativeRole = { unknown: 0, client: 1, server: 2, listener: 3 } as const;
export type NativeRoleName = keyof typeof NativeRole;

/** `enum nettopo_flow_flags`. */
export const FlowFlag = {
  closed: 1 << 0,
  failed: 1 << 1,
  preexisting: 1 << 2,
  liveOpen: 1 << 3,
  missed: 1 << 4,
  established: 1 << 5,
  destroyed: 1 << 6,
} as const;

/**
 * `enum nettopo_event_type`. The kernel emits only `connect` / `attributed` (the first socket of a
 * process not announced yet), `connect-failed`, `listen` and `unlisten`; `connected`, `accepted`
 * and `close` are retired (the flows map carries their data) and decoded for old records only.
 */
export const NativeEventType = {
  1: 'connect',
  2: 'connected',
  3: 'connect-failed',
  4: 'accepted',
  5: 'attributed',
  6: 'close',
  7: 'listen',
  8: 'unlisten',
} as const;
export type NativeEventTypeName = (typeof NativeEventType)[keyof typeof NativeEventType];

/** One socket end as the kernel side knows it (`struct flow`). */
export interface NativeFlow {
  cookie: number;
  cgroupId: number;
  netns: number;
  /** tgid of the owning process; 0 when not attributed (yet). */
  pid: number;
  comm: string;
  /**
   * The owner's start time (its group leader's `start_boottime`), CLOCK_BOOTTIME nanoseconds;
   * 0 when unknown. With the pid it names the process safely across pid reuse.
   */
  startBootNs: number;
  /** 4 or 6; an IPv4-mapped IPv6 socket is reported as 4. */
  family: 4 | 6;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  role: NativeRoleName;
  /** Kernel TCP state number when last updated (1 = ESTABLISHED, 7 = CLOSE, 10 = LISTEN). */
  tcpState: number;
  bytesSent: number;
  bytesReceived: number;
  /** CLOCK_BOOTTIME nanoseconds. */
  openedNs: number;
  /** CLOCK_BOOTTIME nanoseconds; 0 while open. */
  closedNs: number;
  retransmits: number;
  srttUs: number;
  /** SYN_SENT → ESTABLISHED in µs; 0 when unknown. */
  connectUs: number;
  flags: number;
  /** Reached TCP_CLOSE; the application may still read what was queued. */
  closed: boolean;
  /** The socket was freed: nothing can follow, this is the flow's final state. */
  destroyed: boolean;
  failed: boolean;
  preexisting: boolean;
}

/** One lifecycle event (`struct event`). */
export interface NativeEvent {
  tsNs: number;
  type: NativeEventTypeName | 'unknown';
  oldState: number;
  newState: number;
  flow: NativeFlow;
}

const ROLE_NAMES: NativeRoleName[] = ['unknown', 'client', 'server', 'listener'];
const AF_INET = 2;

function ipv4Text(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function ipv6Text(b: Buffer, off: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(off + i * 2));
  // the longest run of two or more zero groups becomes '::' (RFC 5952)
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function isV4Mapped(b: Buffer, off: number): boolean {
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) return false;
  return b[off + 10] === 0xff && b[off + 11] === 0xff;
}

function u64(b: Buffer, off: number): number {
  return Number(b.readBigUInt64LE(off));
}

/** Decodes the `struct flow` at `off`. */
export function decodeFlow(b: Buffer, off = 0): NativeFlow {
  const af = b.readUInt16LE(off + 56);
  let family: 4 | 6 = af === AF_INET ? 4 : 6;
  let localAddr: string;
  let remoteAddr: string;
  if (family === 4) {
    localAddr = ipv4Text(b, off);
    remoteAddr = ipv4Text(b, off + 16);
  } else if (isV4Mapped(b, off) && isV4Mapped(b, off + 16)) {
    family = 4;
    localAddr = ipv4Text(b, off + 12);
    remoteAddr = ipv4Text(b, off + 28);
  } else {
    localAddr = ipv6Text(b, off);
    remoteAddr = ipv6Text(b, off + 16);
  }
  const commEnd = b.indexOf(0, off + 64);
  const comm = b.toString('utf8', off + 64, commEnd < 0 || commEnd > off + 80 ? off + 80 : commEnd);
  const flags = b.readUInt32LE(off + 132);
  return {
    cookie: u64(b, off + 32),
    cgroupId: u64(b, off + 40),
    netns: b.readUInt32LE(off + 48),
    pid: b.readUInt32LE(off + 52),
    comm,
    startBootNs: u64(b, off + 80),
    family,
    localAddr,
    localPort: b.readUInt16LE(off + 58),
    remoteAddr,
    remotePort: b.readUInt16LE(off + 60),
    role: ROLE_NAMES[b[off + 62]] ?? 'unknown',
    tcpState: b[off + 63],
    bytesSent: u64(b, off + 88),
    bytesReceived: u64(b, off + 96),
    openedNs: u64(b, off + 104),
    closedNs: u64(b, off + 112),
    retransmits: b.readUInt32LE(off + 120),
    srttUs: b.readUInt32LE(off + 124),
    connectUs: b.readUInt32LE(off + 128),
    flags,
    closed: (flags & FlowFlag.closed) !== 0,
    destroyed: (flags & FlowFlag.destroyed) !== 0,
    failed: (flags & FlowFlag.failed) !== 0,
    preexisting: (flags & FlowFlag.preexisting) !== 0,
  };
}

/** Decodes a Buffer of packed `struct flow` (readFlows(), snapshot()). */
export function decodeFlows(b: Buffer): NativeFlow[] {
  const out: NativeFlow[] = [];
  for (let off = 0; off + FLOW_RECORD_SIZE <= b.length; off += FLOW_RECORD_SIZE) out.push(decodeFlow(b, off));
  return out;
}

/** Decodes a Buffer of packed `struct event` (a batch handed to start()'s callback). */
export function decodeEvents(b: Buffer): NativeEvent[] {
  const out: NativeEvent[] = [];
  for (let off = 0; off + EVENT_RECORD_SIZE <= b.length; off += EVENT_RECORD_SIZE) {
    const type = b.readUInt32LE(off + 8) as keyof typeof NativeEventType;
    out.push({
      tsNs: u64(b, off),
      type: NativeEventType[type] ?? 'unknown',
      oldState: b.readUInt16LE(off + 12),
      newState: b.readUInt16LE(off + 14),
      flow: decodeFlow(b, off + 16),
    });
  }
  return out;
}

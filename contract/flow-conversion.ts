import type { FlowRecord } from './flow-record';
import { InvalidRecordError } from './errors';
import {
  containerIdFromAvro,
  containerIdToAvro,
  machineIdFromBytes,
  machineIdToBytes,
  podUidFromAvro,
  podUidToAvro,
  uuidFromBytes,
  uuidToBytes,
} from './ids';
import { ipFromBytes, ipToBytes } from './ip-address';
import type { FlowV1 } from './types.generated';

/*
 * FlowRecord (the collector's model) ⇄ the Avro flow record. The model's "unknown" sentinels
 * become nulls on the wire, so a reader never mistakes pid 0 or srtt 0 for a measurement:
 * pid 0, processStartTime 0, comm '', cgroupId 0 and srttUs 0 ⇄ null. Addresses become 4/16
 * bytes, ids become fixed bytes (see ids.ts). The conversion is lossless for canonical text.
 */

const nullIfZero = (n: number): number | null => (n === 0 ? null : n);

/**
 * The last conversion of a text id: a collector's records all carry the same host id and run id,
 * so each is checked and converted once, not per record. The bytes are shared between the
 * records converted from the same text (read-only, as every Avro value here).
 */
function lastOf(convert: (text: string) => Buffer): (text: string) => Buffer {
  let lastText: string | undefined;
  let lastBytes: Buffer = Buffer.alloc(0);
  return (text) => {
    if (text !== lastText) {
      lastBytes = convert(text);
      lastText = text;
    }
    return lastBytes;
  };
}
const hostIdBytes = lastOf(machineIdToBytes);
const runIdBytes = lastOf(uuidToBytes);

/** FlowRecord → Avro flow record. Throws {@link InvalidRecordError} when a field cannot be converted. */
export function flowToAvro(r: FlowRecord): FlowV1 {
  const localAddr = ipToBytes(r.localAddr);
  const remoteAddr = ipToBytes(r.remoteAddr);
  if (r.family === 4 && (localAddr.length !== 4 || remoteAddr.length !== 4)) {
    throw new InvalidRecordError(
      'invalid-record',
      `IPv4 flow with IPv6 address ${r.localAddr} → ${r.remoteAddr}`,
    );
  }
  return {
    hostId: hostIdBytes(r.hostId),
    runId: runIdBytes(r.runId),
    seq: r.seq,
    cookie: r.cookie,
    netns: r.netns,
    role: r.role,
    state: r.state,
    family: r.family === 4 ? 'ipv4' : 'ipv6',
    localAddr,
    localPort: r.localPort,
    remoteAddr,
    remotePort: r.remotePort,
    pid: nullIfZero(r.pid),
    processStartTime: nullIfZero(r.processStartTime),
    comm: r.comm === '' ? null : r.comm,
    cgroupId: nullIfZero(r.cgroupId),
    containerId: containerIdToAvro(r.containerId),
    containerRuntime: r.containerRuntime,
    podUid: podUidToAvro(r.podUid),
    bytesSent: r.bytesSent,
    bytesReceived: r.bytesReceived,
    retransmits: r.retransmits,
    srttUs: nullIfZero(r.srttUs),
    connectLatencyUs: r.connectLatencyUs,
    openedAt: r.openedAt,
    closedAt: r.closedAt,
    observedAt: r.observedAt,
    preexisting: r.preexisting,
  };
}

/** Avro flow record → FlowRecord. */
export function flowFromAvro(a: FlowV1): FlowRecord {
  return {
    hostId: machineIdFromBytes(a.hostId),
    runId: uuidFromBytes(a.runId),
    seq: a.seq,
    cookie: a.cookie,
    netns: a.netns,
    role: a.role,
    state: a.state,
    family: a.family === 'ipv4' ? 4 : 6,
    localAddr: ipFromBytes(a.localAddr),
    localPort: a.localPort,
    remoteAddr: ipFromBytes(a.remoteAddr),
    remotePort: a.remotePort,
    pid: a.pid ?? 0,
    processStartTime: a.processStartTime ?? 0,
    comm: a.comm ?? '',
    cgroupId: a.cgroupId ?? 0,
    containerId: containerIdFromAvro(a.containerId),
    containerRuntime: a.containerRuntime,
    podUid: podUidFromAvro(a.podUid),
    bytesSent: a.bytesSent,
    bytesReceived: a.bytesReceived,
    retransmits: a.retransmits,
    srttUs: a.srttUs ?? 0,
    connectLatencyUs: a.connectLatencyUs,
    openedAt: a.openedAt,
    closedAt: a.closedAt,
    observedAt: a.observedAt,
    preexisting: a.preexisting,
  };
}

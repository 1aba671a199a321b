import {
  containerIdFromAvro,
  flowFromAvro,
  ipFromBytes,
  machineIdFromBytes,
  podUidFromAvro,
  uuidFromBytes,
  type DecodedRecord,
} from '../contract';

/** Fields that hold an IP address as 4 or 16 bytes, in any record kind. */
const ADDRESS_FIELDS = new Set(['address', 'localAddr', 'remoteAddr', 'ips', 'clusterIPs']);

function view(value: unknown, field: string): unknown {
  if (Buffer.isBuffer(value)) {
    if (field === 'hostId') return machineIdFromBytes(value);
    if (field === 'runId') return uuidFromBytes(value);
    if (field === 'containerId') return containerIdFromAvro(value);
    if (field === 'podUid' || field === 'uid') return podUidFromAvro(value);
    if (ADDRESS_FIELDS.has(field) && (value.length === 4 || value.length === 16)) return ipFromBytes(value);
    return value.toString('base64');
  }
  if (Array.isArray(value)) return value.map((v) => view(v, field));
  // Maps (labels, selectors) and records alike: every value seen under its own name.
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = view(v, k);
    return out;
  }
  return value;
}

/**
 * A decoded record as plain JSON-ready data, readable by people: a flow as the collector's
 * `FlowRecord` (exactly what `nettopo collect --format json` prints); in other kinds ids as text
 * (machine-id hex, UUIDs, container ids), addresses as canonical text, other bytes as base64.
 */
export function recordView(decoded: DecodedRecord): Record<string, unknown> {
  if (decoded.kind === 'flow') return { ...flowFromAvro(decoded.record) };
  return view(decoded.record, '') as Record<string, unknown>;
}

import type { FlowRecord } from '../../contract/flow-record';
import { terminalJson, terminalText } from '../../common/terminal-text';

/** How `nettopo collect` prints flow records. */
export type FlowOutputFormat = 'json' | 'table';

interface Column {
  title: string;
  width: number;
  value: (r: FlowRecord) => string;
  right?: boolean;
}

const columns: Column[] = [
  { title: 'PID', width: 7, value: (r) => String(r.pid), right: true },
  { title: 'COMM', width: 15, value: (r) => r.comm },
  { title: 'ROLE', width: 6, value: (r) => r.role },
  { title: 'STATE', width: 6, value: (r) => r.state },
  { title: 'LOCAL', width: 28, value: (r) => endpoint(r.localAddr, r.localPort) },
  { title: 'REMOTE', width: 28, value: (r) => endpoint(r.remoteAddr, r.remotePort) },
  { title: 'TX_B', width: 10, value: (r) => String(r.bytesSent), right: true },
  { title: 'RX_B', width: 10, value: (r) => String(r.bytesReceived), right: true },
  { title: 'RETR', width: 4, value: (r) => String(r.retransmits), right: true },
  { title: 'RTT_US', width: 7, value: (r) => String(r.srttUs), right: true },
  {
    title: 'CONN_US',
    width: 7,
    value: (r) => (r.connectLatencyUs === null ? '-' : String(r.connectLatencyUs)),
    right: true,
  },
  { title: 'PRE', width: 3, value: (r) => (r.preexisting ? 'yes' : '') },
  { title: 'CONTAINER', width: 12, value: (r) => (r.containerId ?? '').slice(0, 12) },
  { title: 'POD', width: 36, value: (r) => r.podUid ?? '' },
];

function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** A cell: its text made safe for a terminal (names come from the host's processes), padded. */
function cell(c: Column, text: string): string {
  const safe = terminalText(text);
  return c.right ? safe.padStart(c.width) : safe.padEnd(c.width);
}

/** The header line of the table format. */
export function tableHeader(): string {
  return columns
    .map((c) => cell(c, c.title))
    .join(' ')
    .trimEnd();
}

/**
 * One flow record as a line of the chosen format (no trailing newline), safe to print to a
 * terminal: table cells escape control characters (`\x1b`), JSON escapes them as JSON does
 * (`\u001b`) and the C1 and bidirectional controls JSON.stringify leaves raw.
 */
export function formatFlow(record: FlowRecord, format: FlowOutputFormat): string {
  if (format === 'json') return terminalJson(record);
  return columns
    .map((c) => cell(c, c.value(record)))
    .join(' ')
    .trimEnd();
}

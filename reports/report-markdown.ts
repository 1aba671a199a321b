import { formatDuration } from '../common/duration';
import type {
  ChangeKind,
  EdgeFigures,
  MetricChange,
  NodeDescription,
  TopologyChange,
  TopologyReport,
} from './report-model';

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** A table cell: pipes and line breaks would break the table. */
function cell(v: unknown): string {
  return String(v ?? '–')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');
}

function table(head: string[], rows: unknown[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

function node(n: NodeDescription | null): string {
  if (!n) return '–';
  return n.label === 'ExternalEndpoint' ? n.name : `${n.name} (${n.label})`;
}

function figuresCells(f: EdgeFigures | null): string[] {
  if (!f) return ['–', '–', '–'];
  return [String(f.connections), bytes(f.bytesToServer), bytes(f.bytesToClient)];
}

const METRIC_NAMES: Record<MetricChange['metric'], [string, (v: number) => string]> = {
  trafficBytesPerMin: ['traffic', (v) => `${bytes(Math.round(v))}/min`],
  connectionsPerMin: ['connection rate', (v) => `${v.toFixed(2)}/min`],
  failedConnectPct: ['failed connects', (v) => `${v.toFixed(1)} %`],
  retransmitPct: ['retransmits', (v) => `${v.toFixed(2)} %`],
  connectLatencyUs: ['connect latency', (v) => `${Math.round(v)} µs`],
};

/** `traffic 12.0 KiB/min → 120.5 KiB/min (×10.0)`. */
export function describeMetric(m: MetricChange): string {
  const [name, fmt] = METRIC_NAMES[m.metric];
  const show = (v: number | null): string => (v === null ? '–' : fmt(v));
  const ratio = m.before && m.after ? ` (×${(m.after / m.before).toFixed(1)})` : '';
  return `${name} ${show(m.before)} → ${show(m.after)}${ratio}`;
}

const SUMMARY_WORDS: [ChangeKind, string, string][] = [
  ['edge-appeared', 'edge appeared', 'edges appeared'],
  ['edge-vanished', 'edge vanished', 'edges vanished'],
  ['edge-changed', 'edge changed', 'edges changed'],
  ['external-endpoint-appeared', 'new external endpoint', 'new external endpoints'],
  ['external-endpoint-vanished', 'external endpoint no longer seen', 'external endpoints no longer seen'],
  ['node-appeared', 'node appeared', 'nodes appeared'],
  ['node-vanished', 'node vanished', 'nodes vanished'],
  ['listener-appeared', 'new listening port', 'new listening ports'],
];

/** The summary sentence: what changed, in counts. */
export function summaryLine(r: TopologyReport): string {
  const parts = SUMMARY_WORDS.filter(([k]) => r.summary.counts[k] > 0).map(
    ([k, one, many]) => `${r.summary.counts[k]} ${r.summary.counts[k] === 1 ? one : many}`,
  );
  const what = parts.length > 0 ? parts.join(', ') : 'no change';
  return `${what.charAt(0).toUpperCase()}${what.slice(1)} (${r.summary.edgesBefore} edges before, ${r.summary.edgesAfter} after).`;
}

function of(r: TopologyReport, kind: ChangeKind): TopologyChange[] {
  return r.changes.filter((c) => c.kind === kind);
}

/** The report as Markdown: the summary first (with what may make it partial), then one table per kind of change. */
export function renderMarkdown(r: TopologyReport): string {
  const out: string[] = [];
  out.push(`# Topology report: ${r.level} level`);
  out.push('');
  out.push(`**Summary.** ${summaryLine(r)}`);
  if (r.health.partial || r.health.notes.length > 0) {
    out.push('');
    out.push(`> **${r.health.partial ? 'Partial or empty window' : 'Note'}.** ${r.health.notes.join(' ')}`);
  }
  out.push('');
  out.push(
    table(
      ['', 'earlier window', 'later window'],
      [
        ['from', iso(r.before.from), iso(r.after.from)],
        ['to', iso(r.before.to), iso(r.after.to)],
        ['length', formatDuration(r.before.to - r.before.from), formatDuration(r.after.to - r.after.from)],
        ['edges', r.summary.edgesBefore, r.summary.edgesAfter],
      ],
    ),
  );
  out.push('');
  out.push(
    `Report \`${r.id}\`${r.schedule ? `, schedule \`${r.schedule}\`` : ', made on demand'}, created ${iso(r.createdAt)}` +
      (r.scope.hosts.length > 0 ? `, hosts ${r.scope.hosts.map((h) => `\`${h}\``).join(', ')}` : '') +
      '.',
  );
  const section = (title: string, head: string[], rows: unknown[][]): void => {
    if (rows.length === 0) return;
    out.push('', `## ${title}`, '', table(head, rows));
  };
  const edgeHead = ['client', 'server', 'port', 'connections', 'bytes to server', 'bytes to client'];
  section(
    'Edges that appeared',
    edgeHead,
    of(r, 'edge-appeared').map((c) => [node(c.from), node(c.to), c.port, ...figuresCells(c.after)]),
  );
  section(
    'Edges that vanished',
    edgeHead.map((h, i) => (i >= 3 ? `${h} (before)` : h)),
    of(r, 'edge-vanished').map((c) => [node(c.from), node(c.to), c.port, ...figuresCells(c.before)]),
  );
  section(
    'Edges that changed',
    ['client', 'server', 'port', 'change'],
    of(r, 'edge-changed').map((c) => [
      node(c.from),
      node(c.to),
      c.port,
      c.metrics.map(describeMetric).join('; '),
    ]),
  );
  section(
    'New external endpoints',
    ['endpoint'],
    of(r, 'external-endpoint-appeared').map((c) => [node(c.from)]),
  );
  section(
    'External endpoints no longer seen',
    ['endpoint'],
    of(r, 'external-endpoint-vanished').map((c) => [node(c.from)]),
  );
  const nodeRow = (c: TopologyChange): unknown[] => [c.from?.label, node(c.from), c.from?.namespace ?? '–'];
  section('Nodes that appeared', ['kind', 'node', 'namespace'], of(r, 'node-appeared').map(nodeRow));
  section('Nodes that vanished', ['kind', 'node', 'namespace'], of(r, 'node-vanished').map(nodeRow));
  section(
    'New listening ports',
    ['host', 'port', 'process'],
    of(r, 'listener-appeared').map((c) => [c.from?.hostId ?? '–', c.port, node(c.from)]),
  );
  out.push('');
  return out.join('\n');
}

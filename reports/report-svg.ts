import { Graphviz } from '@hpcc-js/wasm-graphviz';
import { describeMetric } from './report-markdown';
import type { NodeDescription, TopologyReport } from './report-model';

/** The colours of the picture (also what a test checks). */
export const SVG_COLOURS = {
  appeared: '#2e7d32',
  vanished: '#c62828',
  changed: '#ef6c00',
  context: '#9e9e9e',
  listener: '#1565c0',
} as const;

/** The colour a change is drawn in. */
export function colourOf(kind: string): string {
  if (kind.endsWith('-appeared')) return SVG_COLOURS.appeared;
  if (kind.endsWith('-vanished')) return SVG_COLOURS.vanished;
  return SVG_COLOURS.changed;
}

/** An id Graphviz and SVG both take: the change id with anything but [A-Za-z0-9_-] as `_`. */
export function svgId(changeId: string): string {
  return `c-${changeId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function attrs(a: Record<string, string | undefined>): string {
  return `[${Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${quote(v as string)}`)
    .join(', ')}]`;
}

/** Edges of the later window between the changed nodes (their unchanged neighbourhood), for context. */
export interface ContextEdge {
  from: NodeDescription;
  to: NodeDescription;
  port: number;
}

/**
 * The changed neighbourhood as Graphviz DOT: every node a change touches, the changed edges
 * (appeared green, vanished red and dashed, changed orange and labelled with what moved), the
 * unchanged edges among those nodes in grey; appeared nodes with a green border, vanished ones
 * with a red dashed one, new listening ports noted in blue on their node. At most `maxChanges`
 * changes are drawn (the picture says how many more there are).
 */
export function renderDot(r: TopologyReport, context: ContextEdge[] = [], maxChanges = 300): string {
  const drawn = r.changes.slice(0, maxChanges);
  const ids = new Map<string, string>();
  const nodes = new Map<
    string,
    { d: NodeDescription; style: Record<string, string | undefined>; notes: string[] }
  >();
  const nodeOf = (d: NodeDescription): string => {
    const key = `${d.label}:${d.key}`;
    let id = ids.get(key);
    if (!id) {
      id = `n${ids.size}`;
      ids.set(key, id);
      nodes.set(id, { d, style: {}, notes: [] });
    }
    return id;
  };
  const lines: string[] = [];
  for (const c of drawn) {
    if (c.from && c.to) {
      const colour = colourOf(c.kind);
      const label =
        c.kind === 'edge-changed' ? `:${c.port}\n${c.metrics.map(describeMetric).join('\n')}` : `:${c.port}`;
      lines.push(
        `  ${nodeOf(c.from)} -> ${nodeOf(c.to)} ${attrs({
          id: svgId(c.id),
          class: c.kind,
          color: colour,
          fontcolor: colour,
          style: c.kind === 'edge-vanished' ? 'dashed' : undefined,
          penwidth: '2',
          label,
        })};`,
      );
    } else if (c.from) {
      const n = nodes.get(nodeOf(c.from)) as { style: Record<string, string | undefined>; notes: string[] };
      if (c.kind === 'listener-appeared') n.notes.push(`new: listens :${c.port}`);
      else if (c.kind.endsWith('-appeared'))
        n.style = { color: SVG_COLOURS.appeared, penwidth: '2', class: c.kind, id: svgId(c.id) };
      else
        n.style = {
          color: SVG_COLOURS.vanished,
          style: 'dashed,rounded',
          penwidth: '2',
          class: c.kind,
          id: svgId(c.id),
        };
    }
  }
  context.forEach((e, i) => {
    const from = ids.get(`${e.from.label}:${e.from.key}`);
    const to = ids.get(`${e.to.label}:${e.to.key}`);
    if (from && to)
      lines.push(
        `  ${from} -> ${to} ${attrs({ id: `context-${i}`, class: 'context', color: SVG_COLOURS.context, fontcolor: SVG_COLOURS.context, label: `:${e.port}` })};`,
      );
  });
  const nodeLines = [...nodes].map(([id, n]) => {
    const label = [n.d.name, ...(n.d.label === 'ExternalEndpoint' ? [] : [n.d.label]), ...n.notes].join('\n');
    return `  ${id} ${attrs({
      label,
      shape: n.d.label === 'ExternalEndpoint' ? 'ellipse' : 'box',
      style: n.style.style ?? 'rounded',
      color: n.style.color,
      penwidth: n.style.penwidth,
      class: n.style.class,
      id: n.style.id,
      fontcolor: n.notes.length > 0 ? SVG_COLOURS.listener : undefined,
    })};`;
  });
  const more = r.changes.length - drawn.length;
  const title = `${r.level} level: ${new Date(r.after.from).toISOString()} – ${new Date(r.after.to).toISOString()} vs the window before${more > 0 ? ` (${more} more changes not drawn)` : ''}`;
  return [
    'digraph topology {',
    `  graph [rankdir=LR, fontname="Helvetica", fontsize=12, labelloc=t, label=${quote(title)}];`,
    '  node [fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9];',
    ...nodeLines,
    ...lines,
    '}',
  ].join('\n');
}

let graphviz: Promise<Graphviz> | undefined;

/** The report's picture as SVG, rendered by Graphviz compiled to WebAssembly (no system binary). */
export async function renderSvg(r: TopologyReport, context: ContextEdge[] = []): Promise<string> {
  graphviz ??= Graphviz.load();
  return (await graphviz).dot(renderDot(r, context));
}

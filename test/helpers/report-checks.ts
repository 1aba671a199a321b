import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { Logger } from '../../common/log';
import { projectRoot } from '../../common/paths';
import type { TopologyReport } from '../../reports';

/** Validates a report against reports/topology-report.schema.json; throws with every error. */
export function assertValidReport(report: unknown): void {
  const schema = JSON.parse(
    readFileSync(join(projectRoot(), 'reports', 'topology-report.schema.json'), 'utf8'),
  ) as object;
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const validate = ajv.compile(schema);
  assert.ok(validate(report), JSON.stringify(validate.errors, null, 2));
}

/** An SVG's drawn items: `<g id class>` with the stroke of its first shape, entities decoded. */
export function svgItems(
  svg: string,
): { id: string; classes: string[]; stroke: string | null; dashed: boolean }[] {
  const decode = (s: string): string =>
    s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');
  const out: { id: string; classes: string[]; stroke: string | null; dashed: boolean }[] = [];
  const groups = [...svg.matchAll(/<g id="([^"]+)" class="([^"]+)">([\s\S]*?)<\/g>/g)];
  for (const g of groups) {
    const shape = /<(?:path|ellipse|polygon)[^>]*stroke="([^"]+)"([^>]*)>/.exec(g[3]);
    out.push({
      id: decode(g[1]),
      classes: decode(g[2]).split(' '),
      stroke: shape ? shape[1] : null,
      dashed: shape ? /stroke-dasharray/.test(shape[0]) : false,
    });
  }
  return out;
}

/** The (kind, entity) pairs of a report, sorted. */
export function changeSet(r: Pick<TopologyReport, 'changes'>): string[] {
  return r.changes.map((c) => `${c.kind} ${c.entity}`).sort();
}

/** A logger that keeps its lines (and prints nothing). */
export function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, error: add('error'), warn: add('warn'), info: add('info'), debug: add('debug') };
}

/** Waits until `check` returns a value (not undefined/false), polling; throws after `ms`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

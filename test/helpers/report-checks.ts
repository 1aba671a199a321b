import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { Driver } from 'neo4j-driver';
import type { Logger } from '../../common/log';
import { Codec, type TopologyChangeV1 } from '../../contract';
import { CliRun } from './cli-run';
import type { TestTopics } from './kafka-topics';
import type { FleetHost } from './netns';
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

/**
 * The report's TopologyReport node is done and published, linked to exactly `expected` changes,
 * and the change topic holds exactly those of this report, each keyed by its entity. Returns
 * every change record read (of any report).
 */
export async function assertRecordedAndPublished(
  driver: Driver,
  topics: TestTopics,
  reportId: string,
  expected: string[],
): Promise<TopologyChangeV1[]> {
  const { records } = await driver.executeQuery(
    `MATCH (r:TopologyReport {id: $id})-[:HAS_CHANGE]->(c:TopologyChange)
     RETURN r.state AS state, r.published AS published, collect(c.kind + ' ' + c.entity) AS changes`,
    { id: reportId },
  );
  assert.equal(records[0]?.get('state'), 'done');
  assert.equal(records[0]?.get('published'), true);
  assert.deepEqual([...(records[0]?.get('changes') as string[])].sort(), expected);
  const codec = new Codec();
  const messages = await topics.read(
    [`${topics.prefix}nettopo.topology-changes.v1`],
    (m) => m.length >= expected.length,
    20_000,
  );
  const all = messages.map((m) => ({
    key: m.message.key?.toString(),
    rec: codec.decode(m.message.value, m.message.headers, 'topology-change').record,
  }));
  const mine = all.filter((m) => m.rec.reportId === reportId);
  assert.deepEqual(mine.map((m) => `${m.rec.kind.replace(/_/g, '-')} ${m.rec.entity}`).sort(), expected);
  for (const m of mine) assert.equal(m.key, m.rec.entity);
  return all.map((m) => m.rec);
}

/** Starts one `nettopo collect --kafka` per host (its own host id and namespace) and waits for their snapshots. */
export async function startCollectors(
  topics: TestTopics,
  hosts: (readonly [FleetHost, string])[],
): Promise<CliRun[]> {
  const runs = hosts.map(
    ([host, id]) =>
      new CliRun([
        'collect',
        ...topics.collectArgs(),
        '--interval',
        '0.5',
        '--host-id',
        id,
        '--netns',
        host.ns,
      ]),
  );
  await Promise.all(runs.map((c) => c.waitForLog(/snapshot: /, 60_000)));
  return runs;
}

/** What the README promises: new green, vanished red (dashed), changed orange. */
const EXPECTED_COLOURS: Record<string, string> = {
  appeared: '#2e7d32',
  vanished: '#c62828',
  changed: '#ef6c00',
};

/**
 * Every change of the report but new listening ports (a note on their node) is drawn in the SVG
 * under its change's id, in its kind's colour, dashed exactly when it vanished. Returns the items.
 */
export function assertChangesDrawn(svg: string, report: TopologyReport): ReturnType<typeof svgItems> {
  const items = svgItems(svg);
  const byId = new Map(items.map((i) => [i.id, i]));
  for (const c of report.changes) {
    if (c.kind === 'listener-appeared') continue;
    const item = byId.get(`c-${c.id.replace(/[^A-Za-z0-9_-]/g, '_')}`);
    assert.ok(item, `${c.kind} ${c.entity} drawn`);
    const colour =
      EXPECTED_COLOURS[
        c.kind.endsWith('appeared') ? 'appeared' : c.kind.endsWith('vanished') ? 'vanished' : 'changed'
      ];
    assert.equal(item.stroke, colour, `${c.kind} ${c.entity}`);
    assert.equal(item.dashed, c.kind.endsWith('vanished'), `${c.kind} ${c.entity} dashed`);
  }
  return items;
}

/**
 * A report's files: the JSON is valid against its schema and lists exactly `expected`; the SVG
 * draws every change in its colour; the Markdown opens with `summary` and has exactly the
 * `sections`. Returns the Markdown's lines and the SVG's items.
 */
export function assertReportFiles(
  files: { json: string; markdown: string; svg: string },
  expected: string[],
  summary: RegExp,
  sections: string[],
): { lines: string[]; items: ReturnType<typeof svgItems> } {
  const json = JSON.parse(readFileSync(files.json, 'utf8')) as TopologyReport;
  assertValidReport(json);
  assert.deepEqual(changeSet(json), expected);
  const lines = readFileSync(files.markdown, 'utf8').split('\n');
  assert.match(lines[2], summary);
  assert.deepEqual(
    lines.filter((l) => l.startsWith('## ')),
    sections.map((s) => `## ${s}`),
  );
  return { lines, items: assertChangesDrawn(readFileSync(files.svg, 'utf8'), json) };
}

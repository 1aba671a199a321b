import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import type { Driver } from 'neo4j-driver';
import { createLogger, type Logger } from '../common/log';
import type { ChangePublisher } from './change-publisher';
import { HistoryReader } from './history-reader';
import { renderMarkdown } from './report-markdown';
import {
  CHANGE_KINDS,
  type NodeDescription,
  type NodeRef,
  type TimeWindow,
  type TopologyChange,
  type TopologyReport,
  type WindowSnapshot,
} from './report-model';
import { ReportStore } from './report-store';
import { renderSvg, type ContextEdge } from './report-svg';
import type { Thresholds } from './thresholds';
import { diffWindows, scopeSnapshot } from './topology-diff';
import { checkWindows } from './window-health';

/** What to compare. */
export interface ReportRequest {
  /** The schedule's name; null for a report made on demand. */
  schedule: string | null;
  level: string;
  before: TimeWindow;
  after: TimeWindow;
  /** Only edges with an end on these hosts (empty: all). */
  hosts: string[];
  thresholds: Thresholds;
}

/** Options of {@link ReportRunner}. */
export interface ReportRunnerOptions {
  driver: Driver;
  /** Where the Markdown, JSON and SVG files go (created when missing). */
  outputDir: string;
  /** Publishes the changes on the change topic; without it nothing is published. */
  publisher?: ChangePublisher;
  /** The ingest's consumer group, whose lag the report's health check reads. @defaultValue `'nettopo-ingest'` */
  ingestGroup?: string;
  /** Kafka admin for that check (optional). */
  admin?: Admin;
  /** @defaultValue 60 s */
  collectorSilenceMs?: number;
  /** @defaultValue `Date.now` */
  now?: () => number;
  /** @defaultValue a logger named `reports` */
  log?: Logger;
}

/** What {@link ReportRunner.run} did. */
export interface RunResult {
  id: string;
  /** The report was already made (or is being made), by another owner or an earlier run: nothing was done. */
  duplicate: boolean;
  report: TopologyReport | null;
  files: { markdown: string; json: string; svg: string } | null;
  published: number;
}

const compact = (ms: number): string =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/**
 * The id of a report: `<schedule>-<level>-<end of the later window>-<hash of everything compared>`,
 * the same for the same request, so that a schedule's report is made once whoever runs it. A
 * report made on demand also hashes the time it was asked for (each request is a new report).
 */
export function reportId(req: ReportRequest, requestedAt?: number): string {
  const hash = createHash('sha256')
    .update(
      JSON.stringify([
        req.schedule,
        req.level,
        req.before,
        req.after,
        [...req.hosts].sort(),
        req.thresholds,
        requestedAt ?? null,
      ]),
    )
    .digest('hex')
    .slice(0, 10);
  const name = (req.schedule ?? 'adhoc').replace(/[^A-Za-z0-9_.-]/g, '_');
  return `${name}-${req.level}-${compact(req.after.to)}-${hash}`;
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** The hosts a node's key names (process and host keys carry one; others are looked up for scoping). */
function hostOfKey(n: NodeRef): string | undefined {
  if (n.label === 'Host') return n.key;
  if (n.label === 'Process') return n.key.slice(0, n.key.indexOf('/'));
  return undefined;
}

/**
 * Makes one topology report: reads both windows of the history, keeps the scope, diffs them,
 * names the nodes, checks the windows' health, writes the Markdown, JSON and SVG files, records
 * the report in Neo4j and publishes its changes — once per report id: the id is claimed in Neo4j
 * first, and a second owner (another worker, a duplicated job) finds it taken and does nothing.
 */
export class ReportRunner {
  private readonly reader: HistoryReader;
  private readonly store: ReportStore;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly options: ReportRunnerOptions) {
    this.reader = new HistoryReader(options.driver);
    this.store = new ReportStore(options.driver);
    this.log = options.log ?? createLogger('reports');
    this.now = options.now ?? Date.now;
  }

  /** Makes the report of `req` as `owner` (a job id; a retry of the same job is the same owner). */
  async run(req: ReportRequest, owner: string = randomUUID(), id = reportId(req)): Promise<RunResult> {
    const claim = await this.store.claim(id, owner);
    if (!claim.mine) {
      this.log.info(
        `report ${id} is already ${claim.state === 'done' ? 'made' : 'being made'} by ${claim.owner}: skipped`,
      );
      return { id, duplicate: true, report: null, files: null, published: 0 };
    }
    if (claim.state === 'done' && claim.published) {
      this.log.info(`report ${id} was made and published by an earlier run of the same job: nothing to do`);
      return { id, duplicate: true, report: null, files: null, published: 0 };
    }
    const report = await this.build(id, req);
    const files = await this.write(report);
    await this.store.save(report, files);
    let published = 0;
    if (this.options.publisher) {
      published = await this.options.publisher.publish(report, `nettopo-reports-${id}`);
      await this.store.markPublished(id);
    }
    this.log.info(
      `report ${id}: ${report.changes.length} changes${report.health.partial ? ' (partial window)' : ''} → ${files.markdown}`,
    );
    return { id, duplicate: false, report, files, published };
  }

  /** Reads, scopes and diffs the windows; describes the changes; checks the windows. */
  async build(id: string, req: ReportRequest): Promise<TopologyReport> {
    const [settings, rawBefore, rawAfter] = await Promise.all([
      this.reader.settings(),
      this.reader.window(req.level, req.before),
      this.reader.window(req.level, req.after),
    ]);
    let before = rawBefore;
    let after = rawAfter;
    if (req.hosts.length > 0) {
      const refs = [...rawBefore.edges.values(), ...rawAfter.edges.values()].flatMap((e) => [e.from, e.to]);
      const hostsOf = await this.reader.hostsOf(refs);
      const scope = new Set(req.hosts);
      before = scopeSnapshot(rawBefore, scope, hostsOf);
      after = scopeSnapshot(rawAfter, scope, hostsOf);
    }
    const found = diffWindows(before, after, req.thresholds);
    const described = await this.reader.describe(
      found.flatMap((c) => [c.from, c.to]).filter((n): n is NodeRef => n !== null),
    );
    const desc = (n: NodeRef | null): NodeDescription | null =>
      n ? (described.get(`${n.label}:${n.key}`) ?? null) : null;
    const changes: TopologyChange[] = found.map((c, i) => ({
      ...c,
      id: `${id}/${i + 1}`,
      from: desc(c.from),
      to: desc(c.to),
    }));
    const hosts = req.hosts.length > 0 ? req.hosts : this.hostsOfWindows(before, after);
    const health = await checkWindows(this.options.driver, before, after, {
      settings,
      now: this.now(),
      hosts,
      collectorSilenceMs: this.options.collectorSilenceMs,
      ingestGroup: this.options.ingestGroup ?? 'nettopo-ingest',
      admin: this.options.admin,
    });
    const counts = Object.fromEntries(CHANGE_KINDS.map((k) => [k, 0])) as TopologyReport['summary']['counts'];
    for (const c of changes) counts[c.kind] += 1;
    const report: TopologyReport = {
      id,
      schedule: req.schedule,
      level: req.level,
      createdAt: this.now(),
      before: req.before,
      after: req.after,
      scope: { hosts: [...req.hosts].sort() },
      thresholds: { ...req.thresholds },
      health,
      summary: { edgesBefore: before.edges.size, edgesAfter: after.edges.size, counts },
      changes,
    };
    this.contextOf.set(report, this.context(after, described));
    return report;
  }

  /** The unchanged edges of the later window between nodes a change touches (drawn grey for context). */
  private readonly contextOf = new WeakMap<TopologyReport, ContextEdge[]>();

  private context(after: WindowSnapshot, described: Map<string, NodeDescription>): ContextEdge[] {
    const out: ContextEdge[] = [];
    for (const e of after.edges.values()) {
      const from = described.get(`${e.from.label}:${e.from.key}`);
      const to = described.get(`${e.to.label}:${e.to.key}`);
      if (from && to) out.push({ from, to, port: e.port });
      if (out.length >= 500) break;
    }
    return out;
  }

  private hostsOfWindows(before: WindowSnapshot, after: WindowSnapshot): string[] {
    const hosts = new Set<string>();
    for (const s of [before, after])
      for (const e of s.edges.values())
        for (const n of [e.from, e.to]) {
          const h = hostOfKey(n);
          if (h) hosts.add(h);
        }
    return [...hosts].sort();
  }

  /** Writes `<id>.md`, `<id>.json` and `<id>.svg` (each replaced atomically). */
  async write(report: TopologyReport): Promise<{ markdown: string; json: string; svg: string }> {
    mkdirSync(this.options.outputDir, { recursive: true });
    const base = join(this.options.outputDir, report.id);
    const files = { markdown: `${base}.md`, json: `${base}.json`, svg: `${base}.svg` };
    // The changed edges' own entries are drawn in colour; context edges only where no change is.
    const changed = new Set(
      report.changes
        .filter((c) => c.from && c.to)
        .map((c) => `${c.from?.label}:${c.from?.key}>${c.to?.label}:${c.to?.key}:${c.port}`),
    );
    const context = (this.contextOf.get(report) ?? []).filter(
      (e) => !changed.has(`${e.from.label}:${e.from.key}>${e.to.label}:${e.to.key}:${e.port}`),
    );
    writeAtomically(files.json, `${JSON.stringify(report, null, 2)}\n`);
    writeAtomically(files.markdown, renderMarkdown(report));
    writeAtomically(files.svg, await renderSvg(report, context));
    return files;
  }
}

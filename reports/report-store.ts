import neo4j, { type Driver } from 'neo4j-driver';
import { NODE_KEY_PROPERTY } from '../graph-schema/history';
import { num } from './history-reader';
import { describeMetric, summaryLine } from './report-markdown';
import type { TopologyReport } from './report-model';

/** Who holds a report id, as {@link ReportStore.claim} found it. */
export interface Claim {
  /** This owner holds it (it created the claim now, or did before: a retry). */
  mine: boolean;
  owner: string;
  state: 'claimed' | 'done';
  published: boolean;
}

/** A recorded report, as `reports status` lists it. */
export interface StoredReport {
  id: string;
  schedule: string | null;
  level: string;
  state: string;
  createdAt: number | null;
  afterTo: number | null;
  partial: boolean;
  changes: number;
  summary: string | null;
}

const CLAIM = `
MERGE (r:TopologyReport {id: $id})
  ON CREATE SET r.owner = $owner, r.state = 'claimed', r.claimedAt = datetime(), r.published = false
RETURN r.owner AS owner, r.state AS state, r.published AS published`;

const SAVE_REPORT = `
MATCH (r:TopologyReport {id: $r.id})
SET r += $r.props,
    r.createdAt = datetime({epochMillis: $r.createdAt}),
    r.beforeFrom = datetime({epochMillis: $r.beforeFrom}), r.beforeTo = datetime({epochMillis: $r.beforeTo}),
    r.afterFrom = datetime({epochMillis: $r.afterFrom}), r.afterTo = datetime({epochMillis: $r.afterTo})`;

function endLink(side: 'from' | 'to', rel: 'FROM' | 'TO'): string {
  return `CALL {
  WITH x, c
  WITH x, c WHERE c.${side} IS NOT NULL
  CALL {
    WITH c
${Object.entries(NODE_KEY_PROPERTY)
  .map(
    ([label, key]) =>
      `    WITH c WHERE c.${side}.label = '${label}' MATCH (n:${label} {${key}: c.${side}.key}) RETURN n`,
  )
  .join('\n    UNION ALL\n    WITH c\n')}
  }
  MERGE (x)-[:${rel}]->(n)
}`;
}

/** Each change a node linked to its report and to the nodes it is about (when they are still in the graph). */
const SAVE_CHANGES = `
MATCH (r:TopologyReport {id: $reportId})
UNWIND $changes AS c
MERGE (x:TopologyChange {id: c.id})
SET x.reportId = $reportId, x.kind = c.kind, x.level = c.level, x.entity = c.entity, x.port = c.port,
    x.fromName = c.fromName, x.toName = c.toName, x.metrics = c.metrics
MERGE (r)-[:HAS_CHANGE]->(x)
WITH x, c
${endLink('from', 'FROM')}
${endLink('to', 'TO')}`;

const LIST = `
MATCH (r:TopologyReport)
WHERE $schedule IS NULL OR r.schedule = $schedule
RETURN r.id AS id, r.schedule AS schedule, r.level AS level, r.state AS state,
       r.createdAt.epochMillis AS createdAt, r.afterTo.epochMillis AS afterTo, r.partial AS partial,
       r.changeCount AS changes, r.summary AS summary
ORDER BY coalesce(r.createdAt, r.claimedAt) DESC
LIMIT $limit`;

/**
 * Records reports in Neo4j as `(:TopologyReport)-[:HAS_CHANGE]->(:TopologyChange)-[:FROM|TO]->(node)`,
 * so that Cypher can ask what changed (graph-schema/README.md has the queries). A report id is
 * claimed first (`TopologyReport.id` is unique): whoever claims it makes it; anyone else finds it
 * taken, so two workers never make the same report twice.
 */
export class ReportStore {
  constructor(
    private readonly driver: Driver,
    private readonly database = 'neo4j',
  ) {}

  /** Claims a report id for `owner` (a job id); a retry of the same owner finds it its own. */
  async claim(id: string, owner: string): Promise<Claim> {
    const { records } = await this.driver.executeQuery(CLAIM, { id, owner }, { database: this.database });
    const r = records[0];
    const holder = r.get('owner') as string;
    return {
      mine: holder === owner,
      owner: holder,
      state: r.get('state') as Claim['state'],
      published: r.get('published') === true,
    };
  }

  /** Stores a claimed report, its changes and its files; marks it done. */
  async save(report: TopologyReport, files: Record<string, string>): Promise<void> {
    const session = this.driver.session({ database: this.database, defaultAccessMode: neo4j.session.WRITE });
    try {
      await session.executeWrite(async (tx) => {
        await tx.run(SAVE_REPORT, {
          r: {
            id: report.id,
            createdAt: neo4j.int(report.createdAt),
            beforeFrom: neo4j.int(report.before.from),
            beforeTo: neo4j.int(report.before.to),
            afterFrom: neo4j.int(report.after.from),
            afterTo: neo4j.int(report.after.to),
            props: {
              schedule: report.schedule,
              level: report.level,
              partial: report.health.partial,
              notes: report.health.notes,
              summary: summaryLine(report),
              changeCount: neo4j.int(report.changes.length),
              hosts: report.scope.hosts,
              markdown: files.markdown ?? null,
              json: files.json ?? null,
              svg: files.svg ?? null,
              state: 'done',
              ...Object.fromEntries(
                Object.entries(report.summary.counts).map(([k, v]) => [
                  k.replace(/-(.)/g, (_, ch: string) => ch.toUpperCase()),
                  neo4j.int(v),
                ]),
              ),
            },
          },
        });
        for (let i = 0; i < report.changes.length; i += 5000) {
          const changes = report.changes.slice(i, i + 5000).map((c) => ({
            id: c.id,
            kind: c.kind,
            level: report.level,
            entity: c.entity,
            port: c.port === null ? null : neo4j.int(c.port),
            from: c.from ? { label: c.from.label, key: c.from.key } : null,
            to: c.to ? { label: c.to.label, key: c.to.key } : null,
            fromName: c.from?.name ?? null,
            toName: c.to?.name ?? null,
            metrics: c.metrics.map(describeMetric),
          }));
          await tx.run(SAVE_CHANGES, { reportId: report.id, changes });
        }
      });
    } finally {
      await session.close();
    }
  }

  /** Records that the report's changes are on the change topic. */
  async markPublished(id: string): Promise<void> {
    await this.driver.executeQuery(
      'MATCH (r:TopologyReport {id: $id}) SET r.published = true, r.publishedAt = datetime()',
      { id },
      { database: this.database },
    );
  }

  /** The newest reports (of one schedule, or all). */
  async list(limit = 20, schedule: string | null = null): Promise<StoredReport[]> {
    const { records } = await this.driver.executeQuery(
      LIST,
      { limit: neo4j.int(limit), schedule },
      { database: this.database, routing: 'READ' },
    );
    return records.map((r) => ({
      id: r.get('id') as string,
      schedule: (r.get('schedule') as string | null) ?? null,
      level: (r.get('level') as string | null) ?? '',
      state: r.get('state') as string,
      createdAt: r.get('createdAt') === null ? null : num(r.get('createdAt')),
      afterTo: r.get('afterTo') === null ? null : num(r.get('afterTo')),
      partial: r.get('partial') === true,
      changes: num(r.get('changes')),
      summary: (r.get('summary') as string | null) ?? null,
    }));
  }
}

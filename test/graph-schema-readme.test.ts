import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import neo4j, { type Driver } from 'neo4j-driver';
import { projectRoot } from '../common/paths';
import { createGraphDriver } from '../graph-schema';
import { GraphWriter, IngestService } from '../ingest';
import { cleanUp, hex, IngestScenario, produce } from './helpers/ingest-scenario';

/** The ```cypher blocks of graph-schema/README.md with the parameters of their `// params:` line. */
function readmeQueries(): { query: string; params: Record<string, unknown> }[] {
  const readme = readFileSync(join(projectRoot(), 'graph-schema', 'README.md'), 'utf8');
  return [...readme.matchAll(/```cypher\n([\s\S]*?)```/g)].map((m) => {
    const text = m[1];
    const line = /^\/\/ params: (.*)$/m.exec(text);
    assert.ok(line, `a README query has no '// params:' line:\n${text}`);
    const params = new Function(`return (${line[1]});`)() as Record<string, unknown>;
    return { query: text, params };
  });
}

describe('graph-schema README queries', function () {
  this.timeout(120_000);
  const prefix = `test-${hex(4)}.`;
  const group = `g-${hex(4)}`;
  const s = new IngestScenario({ connections: 5, recordsPerFlow: 2 });
  let driver: Driver;
  let ingest: IngestService;

  before(async () => {
    driver = createGraphDriver();
    ingest = new IngestService({ topicPrefix: prefix, groupId: group });
    await ingest.start();
    await produce(prefix, s.stateMessages());
    await ingest.waitUntilCaughtUp(60_000);
    await produce(prefix, s.flowMessages());
    await ingest.waitUntilCaughtUp(60_000);
    const session = driver.session({ defaultAccessMode: neo4j.session.WRITE });
    try {
      await session.executeWrite((tx) =>
        new GraphWriter().upsertPodMetadata(tx, [
          {
            uid: s.podA,
            namespace: 'shop',
            name: 'frontend-7d4b9',
            workloadKind: 'Deployment',
            workloadName: 'frontend',
          },
          {
            uid: s.podB,
            namespace: 'payments',
            name: 'api-5c8f2',
            workloadKind: 'Deployment',
            workloadName: 'api',
          },
        ]),
      );
    } finally {
      await session.close();
    }
  });

  after(async () => {
    await ingest?.stop();
    await driver.executeQuery(
      "MATCH (w:Workload) WHERE w.key IN ['shop/Deployment/frontend', 'payments/Deployment/api'] AND NOT (w)<-[:OWNED_BY]-() DETACH DELETE w",
    );
    await cleanUp(driver, s, prefix, [group]);
    await driver.executeQuery(
      "MATCH (w:Workload) WHERE w.key IN ['shop/Deployment/frontend', 'payments/Deployment/api'] AND NOT (w)<-[:OWNED_BY]-() DETACH DELETE w",
    );
    await driver.close();
  });

  it('when every documented query is run on an ingested topology, then each runs and returns rows', async () => {
    const queries = readmeQueries();
    assert.ok(queries.length >= 10, `only ${queries.length} queries in the README`);
    for (const { query, params } of queries) {
      const p = { ...params };
      if (p.podUid === '<pod uid>') p.podUid = s.podB;
      const { records } = await driver.executeQuery(query, p);
      assert.ok(records.length > 0, `no rows from:\n${query}`);
    }
  });
});

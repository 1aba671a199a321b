import { strict as assert } from 'node:assert';
import type { Driver } from 'neo4j-driver';
import { createGraphDriver, MIGRATIONS, SchemaMigrator } from '../graph-schema';

describe('graph schema migrations', function () {
  this.timeout(60_000);
  let driver: Driver;
  before(() => {
    driver = createGraphDriver();
  });
  after(async () => {
    await driver.close();
  });

  it('when migrate runs twice, then the second run applies nothing and the recorded version is the newest', async () => {
    const m = new SchemaMigrator(driver);
    await m.migrate();
    const again = await m.migrate();
    assert.deepEqual(again.applied, []);
    assert.equal(again.to, MIGRATIONS.length);
    assert.equal(await m.currentVersion(), MIGRATIONS.length);
    const { records } = await driver.executeQuery(
      'MATCH (m:GraphSchemaMigration) RETURN m.version AS v ORDER BY v',
    );
    assert.deepEqual(
      records.map((r) => Number(r.get('v'))),
      MIGRATIONS.map((x) => x.version),
    );
  });

  it('when the schema is migrated, then every node key of the graph model has a uniqueness constraint', async () => {
    await new SchemaMigrator(driver).migrate();
    const { records } = await driver.executeQuery(
      "SHOW CONSTRAINTS YIELD labelsOrTypes, properties, type WHERE type = 'UNIQUENESS' RETURN labelsOrTypes[0] AS label, properties AS props",
    );
    const have = new Set(records.map((r) => `${r.get('label')}.${(r.get('props') as string[]).join(',')}`));
    for (const key of [
      'Host.hostId',
      'Process.key',
      'Container.containerId',
      'Pod.uid',
      'Workload.key',
      'Service.key',
      'ExternalEndpoint.ip',
      'Connection.key',
      'IngestProgress.key',
    ]) {
      assert.ok(have.has(key), `no uniqueness constraint on ${key}`);
    }
  });

  it('when every statement of every migration is run again, then none fails (they are idempotent)', async () => {
    for (const m of MIGRATIONS) for (const s of m.statements) await driver.executeQuery(s);
  });
});

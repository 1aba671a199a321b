import type { Command } from 'commander';
import { createGraphDriver, SchemaMigrator } from '../../graph-schema';

/** `nettopo schema migrate|status`: the graph schema's versioned migrations. */
export function registerSchema(program: Command): void {
  const schema = program
    .command('schema')
    .description('the Neo4j graph schema (constraints, indexes), versioned');
  schema
    .command('migrate')
    .description('apply every migration newer than the version recorded in the database')
    .action(async () => {
      const driver = createGraphDriver();
      try {
        const r = await new SchemaMigrator(driver).migrate();
        process.stdout.write(
          r.applied.length
            ? `graph schema migrated ${r.from} → ${r.to}\n`
            : `graph schema up to date (version ${r.to})\n`,
        );
      } finally {
        await driver.close();
      }
    });
  schema
    .command('status')
    .description("print the database's graph schema version and this build's newest")
    .action(async () => {
      const driver = createGraphDriver();
      try {
        const m = new SchemaMigrator(driver);
        process.stdout.write(`database version ${await m.currentVersion()}, this build ${m.latest}\n`);
      } finally {
        await driver.close();
      }
    });
}

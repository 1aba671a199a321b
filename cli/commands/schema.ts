import type { Command } from 'commander';
import type { Driver } from 'neo4j-driver';
import { connectGraph, graphError, SchemaMigrator } from '../../graph-schema';
import { withConfigOption } from '../command-config';
import { graphConnectionOf, neo4jOptions, type Neo4jOptionValues } from './connection-options';

/** Runs `work` against a Neo4j reached first (an unreachable server or a wrong password: one line, at once). */
async function withGraph<T>(
  command: Command,
  flags: Neo4jOptionValues,
  work: (driver: Driver, database: string) => Promise<T>,
): Promise<T> {
  const connection = graphConnectionOf(command, flags);
  const driver = await connectGraph(connection);
  try {
    return await work(driver, connection.database ?? 'neo4j');
  } catch (err) {
    throw graphError(err, connection);
  } finally {
    await driver.close();
  }
}

/** `nettopo schema migrate|status`: the graph schema's versioned migrations. */
export function registerSchema(program: Command): void {
  const schema = program
    .command('schema')
    .description('the Neo4j graph schema (constraints, indexes), versioned');
  const migrate = schema
    .command('migrate')
    .description('apply every migration newer than the version recorded in the database');
  withConfigOption(neo4jOptions(migrate)).action(async (flags: Neo4jOptionValues) => {
    const r = await withGraph(migrate, flags, (driver, database) =>
      new SchemaMigrator(driver, { database }).migrate(),
    );
    process.stdout.write(
      r.applied.length
        ? `graph schema migrated ${r.from} → ${r.to}\n`
        : `graph schema up to date (version ${r.to})\n`,
    );
  });
  const status = schema
    .command('status')
    .description("print the database's graph schema version and this build's newest");
  withConfigOption(neo4jOptions(status)).action(async (flags: Neo4jOptionValues) => {
    const line = await withGraph(status, flags, async (driver, database) => {
      const m = new SchemaMigrator(driver, { database });
      return `database version ${await m.currentVersion()}, this build ${m.latest}`;
    });
    process.stdout.write(`${line}\n`);
  });
}

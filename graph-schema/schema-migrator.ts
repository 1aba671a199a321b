import neo4j, { type Driver } from 'neo4j-driver';
import { GraphSchemaError, SchemaTooNewError } from './errors';
import type { Migration } from './migration';
import { MIGRATIONS } from './migrations';

/** What {@link SchemaMigrator.migrate} did. */
export interface MigrationResult {
  /** Version before the run (0 for an empty database). */
  from: number;
  /** Version after the run. */
  to: number;
  /** Versions applied by this run. */
  applied: number[];
}

/** Options of {@link SchemaMigrator}. */
export interface SchemaMigratorOptions {
  /** @defaultValue `'neo4j'` */
  database?: string;
  /** @defaultValue {@link MIGRATIONS} */
  migrations?: readonly Migration[];
}

/**
 * Applies the graph schema's versioned migrations. The applied version is recorded in the
 * database as `(:GraphSchema {id: 'nettopo'}).version`, with one `(:GraphSchemaMigration)` node
 * per applied step (version, name, description, appliedAt). Every statement is idempotent, so a
 * crash between a statement and the version record only repeats harmless work; two processes
 * migrating at once converge on the same schema.
 */
export class SchemaMigrator {
  private readonly database: string;
  private readonly migrations: readonly Migration[];

  constructor(
    private readonly driver: Driver,
    options: SchemaMigratorOptions = {},
  ) {
    this.database = options.database ?? 'neo4j';
    this.migrations = [...(options.migrations ?? MIGRATIONS)].sort((a, b) => a.version - b.version);
    this.migrations.forEach((m, i) => {
      if (m.version !== i + 1)
        throw new GraphSchemaError(`migration versions must be 1..n, got ${m.version}`);
    });
  }

  /** The newest version this build knows. */
  get latest(): number {
    return this.migrations.length;
  }

  /** The version recorded in the database (0 when none). */
  async currentVersion(): Promise<number> {
    const { records } = await this.driver.executeQuery(
      "OPTIONAL MATCH (s:GraphSchema {id: 'nettopo'}) RETURN s.version AS version",
      {},
      { database: this.database, routing: neo4j.routing.READ },
    );
    const v = records[0]?.get('version') as { toNumber(): number } | number | null | undefined;
    if (v === null || v === undefined) return 0;
    return typeof v === 'number' ? v : v.toNumber();
  }

  /** Applies every migration newer than the database's version. */
  async migrate(): Promise<MigrationResult> {
    const from = await this.currentVersion();
    if (from > this.latest) {
      throw new SchemaTooNewError(
        `the database's graph schema is version ${from}, this build knows up to ${this.latest}: upgrade nettopo`,
      );
    }
    const applied: number[] = [];
    for (const m of this.migrations.filter((x) => x.version > from)) {
      for (const statement of m.statements) {
        try {
          await this.driver.executeQuery(statement, {}, { database: this.database });
        } catch (err) {
          throw new GraphSchemaError(`migration ${m.version} (${m.name}) failed on: ${statement}`, {
            cause: err,
          });
        }
      }
      await this.driver.executeQuery(
        `MERGE (s:GraphSchema {id: 'nettopo'})
         SET s.version = CASE WHEN coalesce(s.version, 0) > $version THEN s.version ELSE $version END,
             s.updatedAt = datetime()
         MERGE (m:GraphSchemaMigration {version: $version})
         ON CREATE SET m.name = $name, m.description = $description, m.appliedAt = datetime()`,
        { version: neo4j.int(m.version), name: m.name, description: m.description },
        { database: this.database },
      );
      applied.push(m.version);
    }
    return { from, to: Math.max(from, applied.at(-1) ?? from), applied };
  }
}

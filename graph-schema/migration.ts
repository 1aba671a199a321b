/**
 * One versioned step of the graph schema. Every statement must be idempotent
 * (`CREATE … IF NOT EXISTS`), so that re-running a migration after a crash is harmless.
 */
export interface Migration {
  /** Strictly increasing, starting at 1; the database records the highest applied. */
  readonly version: number;
  /** Short kebab-case name, e.g. `node-keys`. */
  readonly name: string;
  /** What it creates and why, one sentence (stored with the applied version). */
  readonly description: string;
  /** Schema statements, each run in its own auto-commit transaction (Neo4j refuses schema and data in one). */
  readonly statements: readonly string[];
}

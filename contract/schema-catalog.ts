import { Type } from 'avsc';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../common/paths';
import type { ContractSchema } from './contract-schema';
import { SchemaDefinitionError } from './errors';

const SCHEMA_NAME = /^([a-z][a-z0-9-]*)\.v([1-9][0-9]*)$/;

/** A schema to add to a catalog: its name (`flow.v2`) and its Avro definition. */
export interface SchemaDefinition {
  name: string;
  definition: object;
}

/** Splits `flow.v1` into kind and version; undefined when the name is not of that form. */
export function parseSchemaName(name: string): { kind: string; version: number } | undefined {
  const m = SCHEMA_NAME.exec(name);
  return m ? { kind: m[1], version: Number(m[2]) } : undefined;
}

/** The folder holding the `.avsc` files (also when running from dist/). */
export function schemaDirectory(): string {
  return join(projectRoot(), 'contract', 'schemas');
}

let defaultCatalog: SchemaCatalog | undefined;

/**
 * Every schema this build knows, by name, with the newest version of each kind as its reader
 * schema. Building a catalog checks that each kind's newest schema can read every older one, so
 * an incompatible schema change fails at start-up (and in the tests), never per message.
 */
export class SchemaCatalog {
  private readonly byName = new Map<string, ContractSchema>();
  private readonly newest = new Map<string, ContractSchema>();

  constructor(definitions: readonly SchemaDefinition[]) {
    for (const { name, definition } of definitions) {
      const parsed = parseSchemaName(name);
      if (!parsed)
        throw new SchemaDefinitionError('invalid-schema', `schema name ${name} is not <kind>.v<N>`);
      if (this.byName.has(name))
        throw new SchemaDefinitionError('invalid-schema', `schema ${name} defined twice`);
      let type: Type;
      try {
        type = Type.forSchema(definition as Parameters<typeof Type.forSchema>[0], { wrapUnions: 'never' });
      } catch (err) {
        throw new SchemaDefinitionError('invalid-schema', `schema ${name}: ${(err as Error).message}`, {
          schema: name,
          cause: err,
        });
      }
      const schema: ContractSchema = {
        name,
        kind: parsed.kind,
        version: parsed.version,
        type,
        fingerprint: type.fingerprint('sha256').subarray(0, 8).toString('hex'),
        definition,
      };
      this.byName.set(name, schema);
      const cur = this.newest.get(parsed.kind);
      if (!cur || cur.version < parsed.version) this.newest.set(parsed.kind, schema);
    }
    for (const schema of this.byName.values()) {
      const reader = this.newest.get(schema.kind) as ContractSchema;
      if (reader === schema) continue;
      try {
        reader.type.createResolver(schema.type);
      } catch (err) {
        throw new SchemaDefinitionError(
          'invalid-schema',
          `${reader.name} cannot read records written with ${schema.name}: ${(err as Error).message}`,
          { schema: schema.name, cause: err },
        );
      }
    }
  }

  /** Loads every `<kind>.v<N>.avsc` file of a folder. */
  static fromDirectory(dir: string = schemaDirectory()): SchemaCatalog {
    const definitions = readdirSync(dir)
      .filter((f) => f.endsWith('.avsc'))
      .sort()
      .map((f) => {
        const name = f.slice(0, -'.avsc'.length);
        let definition: object;
        try {
          definition = JSON.parse(readFileSync(join(dir, f), 'utf8')) as object;
        } catch (err) {
          throw new SchemaDefinitionError('invalid-schema', `${join(dir, f)}: ${(err as Error).message}`, {
            schema: name,
            cause: err,
          });
        }
        return { name, definition };
      });
    return new SchemaCatalog(definitions);
  }

  /** The catalog of contract/schemas/, loaded once per process. */
  static default(): SchemaCatalog {
    defaultCatalog ??= SchemaCatalog.fromDirectory();
    return defaultCatalog;
  }

  /** A new catalog with these schemas added (e.g. a hypothetical next version, in a test). */
  extend(definitions: readonly SchemaDefinition[]): SchemaCatalog {
    return new SchemaCatalog([...this.definitions(), ...definitions]);
  }

  /** The definitions this catalog was built from. */
  definitions(): SchemaDefinition[] {
    return [...this.byName.values()].map((s) => ({ name: s.name, definition: s.definition }));
  }

  /** The schema of that name, or undefined. */
  get(name: string): ContractSchema | undefined {
    return this.byName.get(name);
  }

  /** The newest schema of a kind: the writer schema for encoding and the reader schema for decoding. */
  latest(kind: string): ContractSchema | undefined {
    return this.newest.get(kind);
  }

  /** Every schema name, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** Every kind, sorted. */
  kinds(): string[] {
    return [...this.newest.keys()].sort();
  }
}

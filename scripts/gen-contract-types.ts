/**
 * Generates contract/types.generated.ts from the Avro schemas in contract/schemas/.
 *
 * Usage: `npx tsx scripts/gen-contract-types.ts` (writes the file) or `--check` (exits 1 when the
 * file on disk differs from what the schemas give), or `--lock` (records new schemas' fingerprints
 * in contract/schemas.lock.json). Tests run the same checks.
 *
 * Mapping: record → interface, enum → union of string literals, fixed/bytes → Buffer,
 * int/long/float/double → number (long with logicalType timestamp-millis: ms since the epoch),
 * string → string, boolean → boolean, union → `A | B` (avsc reads unions unwrapped), array → `T[]`,
 * map → `Record<string, T>`. Named types get the version of their file as suffix (`FlowV1`,
 * `FlowRoleV1`); a name defined identically by several files is emitted once.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { projectRoot } from '../common/paths';
import { SchemaCatalog } from '../contract/schema-catalog';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const SCHEMA_FILE = /^([a-z][a-z0-9-]*)\.v([1-9][0-9]*)\.avsc$/;

export const GENERATED_PATH = 'contract/types.generated.ts';

interface SchemaFile {
  name: string;
  kind: string;
  version: number;
  schema: JsonObject;
}

function readSchemas(dir: string): SchemaFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.avsc'))
    .sort()
    .map((f) => {
      const m = SCHEMA_FILE.exec(f);
      if (!m) throw new Error(`schema file name ${f} is not <kind>.v<N>.avsc`);
      return {
        name: `${m[1]}.v${m[2]}`,
        kind: m[1],
        version: Number(m[2]),
        schema: JSON.parse(readFileSync(join(dir, f), 'utf8')) as JsonObject,
      };
    });
}

function docComment(doc: Json | undefined, indent = ''): string {
  if (typeof doc !== 'string' || doc === '') return '';
  return `${indent}/** ${doc.replace(/\*\//g, '*\\/')} */\n`;
}

class Emitter {
  /** TS name → declaration text, in emission order. */
  readonly declarations = new Map<string, string>();

  constructor(private readonly version: number) {}

  private tsName(avroName: string): string {
    const short = avroName.split('.').pop() as string;
    return `${short}V${this.version}`;
  }

  /** Avro name (short) → TS type expression, for named types already seen in this file. */
  private readonly named = new Map<string, string>();

  typeOf(schema: Json): string {
    if (typeof schema === 'string') {
      switch (schema) {
        case 'null':
          return 'null';
        case 'boolean':
          return 'boolean';
        case 'int':
        case 'long':
        case 'float':
        case 'double':
          return 'number';
        case 'bytes':
          return 'Buffer';
        case 'string':
          return 'string';
        default: {
          const ref = this.named.get(schema.split('.').pop() as string);
          if (!ref) throw new Error(`unknown type reference ${schema}`);
          return ref;
        }
      }
    }
    if (Array.isArray(schema)) return schema.map((s) => this.typeOf(s)).join(' | ');
    if (schema === null || typeof schema !== 'object')
      throw new Error(`bad schema ${JSON.stringify(schema)}`);
    const type = schema.type as Json;
    switch (type) {
      case 'array':
        return `${this.wrap(this.typeOf(schema.items))}[]`;
      case 'map':
        return `Record<string, ${this.typeOf(schema.values)}>`;
      case 'fixed':
        this.named.set(schema.name as string, 'Buffer');
        return 'Buffer';
      case 'enum': {
        const name = this.tsName(schema.name as string);
        this.named.set(schema.name as string, name);
        const body = (schema.symbols as string[]).map((s) => `'${s}'`).join(' | ');
        this.declare(name, `${docComment(schema.doc)}export type ${name} = ${body};\n`);
        return name;
      }
      case 'record': {
        const name = this.tsName(schema.name as string);
        this.named.set(schema.name as string, name);
        const fields = (schema.fields as JsonObject[]).map((f) => {
          const logical =
            typeof f.type === 'object' && f.type !== null && !Array.isArray(f.type)
              ? f.type.logicalType
              : undefined;
          const unionLogical = Array.isArray(f.type)
            ? f.type.some((b) => typeof b === 'object' && b !== null && !Array.isArray(b) && b.logicalType)
            : false;
          let doc = typeof f.doc === 'string' ? f.doc : '';
          if (logical === 'timestamp-millis' || unionLogical)
            doc = `${doc} (timestamp-millis: ms since the epoch)`.trim();
          if (f.default !== undefined) doc = `${doc}\n@defaultValue \`${JSON.stringify(f.default)}\``.trim();
          const comment =
            doc === ''
              ? ''
              : `  /**\n${doc
                  .split('\n')
                  .map((l) => `   * ${l}`)
                  .join('\n')}\n   */\n`;
          return `${comment}  ${f.name as string}: ${this.typeOf(f.type)};\n`;
        });
        this.declare(name, `${docComment(schema.doc)}export interface ${name} {\n${fields.join('')}}\n`);
        return name;
      }
      default:
        // A primitive written as an object, possibly with a logical type.
        return this.typeOf(type);
    }
  }

  private wrap(t: string): string {
    return t.includes('|') ? `(${t})` : t;
  }

  private declare(name: string, text: string): void {
    this.declarations.set(name, text);
  }
}

/** The text of contract/types.generated.ts for the schemas in `dir`, formatted with prettier. */
export async function generateContractTypes(
  dir = join(projectRoot(), 'contract', 'schemas'),
): Promise<string> {
  const files = readSchemas(dir);
  const declarations = new Map<string, string>();
  const top = new Map<string, string>();
  for (const file of files) {
    const emitter = new Emitter(file.version);
    top.set(file.name, emitter.typeOf(file.schema));
    for (const [name, text] of emitter.declarations) {
      const previous = declarations.get(name);
      if (previous !== undefined && previous !== text) {
        throw new Error(`type ${name} is defined differently by two schema files; rename one of them`);
      }
      declarations.set(name, text);
    }
  }
  const latest = new Map<string, SchemaFile>();
  for (const f of files) {
    const cur = latest.get(f.kind);
    if (!cur || cur.version < f.version) latest.set(f.kind, f);
  }
  const kinds = [...latest.keys()].sort();
  const out: string[] = [
    '// Generated by scripts/gen-contract-types.ts from contract/schemas/*.avsc. Do not edit:',
    '// change a schema, then run `npx tsx scripts/gen-contract-types.ts`.',
    '',
    '/** Every schema name known to this build: `<kind>.v<version>`, one per file in contract/schemas/. */',
    `export type SchemaName = ${files.map((f) => `'${f.name}'`).join(' | ')};`,
    '',
    '/** Every record kind; each has one or more schema versions. */',
    `export type RecordKind = ${kinds.map((k) => `'${k}'`).join(' | ')};`,
    '',
    '/** The newest schema of each kind: what this build writes, and the reader schema it decodes with. */',
    'export const LATEST_SCHEMA = {',
    ...kinds.map((k) => `  ${JSON.stringify(k)}: '${(latest.get(k) as SchemaFile).name}',`),
    '} as const;',
    '',
    ...[...declarations.values()],
    '/** The record type of the newest schema of each kind, as avsc reads and writes it. */',
    'export interface ContractRecords {',
    ...kinds.map((k) => `  ${JSON.stringify(k)}: ${top.get((latest.get(k) as SchemaFile).name) as string};`),
    '}',
    '',
    '/** Every top-level field name of each newest schema, in schema order (for drift tests and tooling). */',
    'export const FIELD_NAMES = {',
    ...kinds.map(
      (k) =>
        `  ${JSON.stringify(k)}: [${((latest.get(k) as SchemaFile).schema.fields as JsonObject[])
          .map((f) => `'${f.name as string}'`)
          .join(', ')}],`,
    ),
    '} as const;',
    '',
  ];
  const options = (await resolveConfig(join(projectRoot(), GENERATED_PATH))) ?? {};
  return format(out.join('\n'), { ...options, parser: 'typescript' });
}

export const LOCK_PATH = 'contract/schemas.lock.json';

/**
 * `--lock`: adds the fingerprint of every schema missing from contract/schemas.lock.json. It never
 * changes an existing entry: a released schema is immutable; change it by adding a new version.
 */
function lock(): void {
  const catalog = SchemaCatalog.fromDirectory();
  const path = join(projectRoot(), LOCK_PATH);
  const current = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
  for (const name of catalog.names()) {
    const fp = catalog.get(name)?.fingerprint as string;
    if (current[name] !== undefined && current[name] !== fp) {
      throw new Error(
        `${name} changed after release (${current[name]} → ${fp}); add ${name.replace(/v\d+$/, 'v<N+1>')} instead`,
      );
    }
    current[name] = fp;
  }
  const sorted = Object.fromEntries(Object.entries(current).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(path, `${JSON.stringify(sorted, null, 2)}\n`);
  process.stdout.write(`wrote ${LOCK_PATH}\n`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--lock')) return lock();
  const text = await generateContractTypes();
  const target = join(projectRoot(), GENERATED_PATH);
  if (process.argv.includes('--check')) {
    const current = readFileSync(target, 'utf8');
    if (current !== text) {
      process.stderr.write(`${GENERATED_PATH} is stale: run npx tsx scripts/gen-contract-types.ts\n`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(target, text);
  process.stdout.write(`wrote ${GENERATED_PATH}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

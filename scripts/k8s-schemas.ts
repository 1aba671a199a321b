/**
 * Makes kubeconform's JSON schemas, one file per kind and version, named as kubeconform looks them up with
 * `-schema-location '<out>/{{ .ResourceKind }}{{ .KindSuffix }}.json'` (daemonset-apps-v1.json, service-v1.json,
 * clusterrole-rbac-v1.json, servicemonitor-monitoring-v1.json), from:
 *  - Kubernetes' OpenAPI v3 documents (api/openapi-spec/v3/*.json of k8s.io/kubernetes): every schema that
 *    carries x-kubernetes-group-version-kind, with the definitions it refers to under $defs;
 *  - CustomResourceDefinition files (YAML): each served version's openAPIV3Schema.
 * Every object schema that lists its properties is made strict (additionalProperties: false) unless it keeps
 * unknown fields (x-kubernetes-preserve-unknown-fields), so that a misspelt field is an error, as the API
 * server's strict field validation makes it. OpenAPI's `nullable` becomes a "null" type.
 *
 *   npx tsx scripts/k8s-schemas.ts --out <folder> <openapi-v3 folder | crd.yaml>...
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

type Schema = { [key: string]: unknown };

interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** kubeconform's file name of a kind: lower-case kind, the group's first label (none for core), the version. */
export function schemaFileName({ group, version, kind }: GroupVersionKind): string {
  const groupLabel = group ? `-${group.split('.')[0]!.toLowerCase()}` : '';
  return `${kind.toLowerCase()}${groupLabel}-${version.toLowerCase()}.json`;
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A copy of `schema` made strict and plain JSON Schema: additionalProperties false where properties are listed
 * (and unknown fields are not kept), `nullable` turned into a "null" type, `$ref`s rewritten by `ref`.
 */
export function toStrictJsonSchema(schema: unknown, ref: (target: string) => string = (t) => t): unknown {
  if (Array.isArray(schema)) return schema.map((s) => toStrictJsonSchema(s, ref));
  if (!isSchema(schema)) return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') out[key] = ref(value);
    else if (key === 'properties' && isSchema(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, toStrictJsonSchema(sub, ref)]),
      );
    } else if (key === 'nullable') continue;
    else out[key] = toStrictJsonSchema(value, ref);
  }
  if (
    isSchema(schema.properties) &&
    schema.additionalProperties === undefined &&
    schema['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false;
  }
  if (schema.nullable === true && typeof schema.type === 'string') out.type = [schema.type, 'null'];
  return out;
}

/** The names every `#/components/schemas/<name>` reference below `schema` leads to, transitively. */
function referencedNames(schema: unknown, all: Record<string, unknown>, seen: Set<string>): Set<string> {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (isSchema(node)) {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string') {
          const name = value.replace('#/components/schemas/', '');
          if (!seen.has(name)) {
            seen.add(name);
            visit(all[name]);
          }
        } else visit(value);
      }
    }
  };
  visit(schema);
  return seen;
}

/** The schemas of every kind in one OpenAPI v3 document, by file name. */
export function kindsOfOpenApi(document: {
  components?: { schemas?: Record<string, unknown> };
}): Map<string, unknown> {
  const all = document.components?.schemas ?? {};
  const ref = (target: string): string => target.replace('#/components/schemas/', '#/$defs/');
  const out = new Map<string, unknown>();
  for (const schema of Object.values(all)) {
    if (!isSchema(schema)) continue;
    const gvks = schema['x-kubernetes-group-version-kind'] as GroupVersionKind[] | undefined;
    if (!Array.isArray(gvks)) continue;
    const defs = [...referencedNames(schema, all, new Set())].sort();
    for (const gvk of gvks) {
      out.set(schemaFileName(gvk), {
        ...(toStrictJsonSchema(schema, ref) as Schema),
        $defs: Object.fromEntries(defs.map((name) => [name, toStrictJsonSchema(all[name], ref)])),
      });
    }
  }
  return out;
}

/** The schema of every served version of the CustomResourceDefinitions in a YAML text, by file name. */
export function kindsOfCrds(text: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const doc of parseAllDocuments(text)) {
    const crd = doc.toJS() as {
      kind?: string;
      spec?: {
        group: string;
        names: { kind: string };
        versions: { name: string; served?: boolean; schema?: { openAPIV3Schema?: unknown } }[];
      };
    } | null;
    if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec) continue;
    for (const version of crd.spec.versions) {
      if (version.served === false || !version.schema?.openAPIV3Schema) continue;
      const gvk = { group: crd.spec.group, version: version.name, kind: crd.spec.names.kind };
      out.set(schemaFileName(gvk), toStrictJsonSchema(version.schema.openAPIV3Schema));
    }
  }
  return out;
}

function main(args: string[]): void {
  const at = args.indexOf('--out');
  const out = at >= 0 ? args[at + 1] : undefined;
  const inputs = args.filter((_, i) => i !== at && i !== at + 1);
  if (!out || inputs.length === 0) {
    process.stderr.write('usage: k8s-schemas.ts --out <folder> <openapi-v3 folder | crd.yaml>...\n');
    process.exit(2);
  }
  mkdirSync(out, { recursive: true });
  let written = 0;
  const write = (kinds: Map<string, unknown>): void => {
    for (const [file, schema] of kinds) {
      writeFileSync(join(out, file), JSON.stringify(schema));
      written++;
    }
  };
  for (const input of inputs) {
    if (statSync(input).isDirectory()) {
      for (const file of readdirSync(input)
        .filter((f) => f.endsWith('.json'))
        .sort())
        write(kindsOfOpenApi(JSON.parse(readFileSync(join(input, file), 'utf8'))));
    } else write(kindsOfCrds(readFileSync(input, 'utf8')));
  }
  process.stderr.write(`k8s-schemas: ${written} schemas in ${out}\n`);
}

if (require.main === module) main(process.argv.slice(2));

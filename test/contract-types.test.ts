import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowRecord } from '../contract/flow-record';
import { projectRoot } from '../common/paths';
import {
  ALL_TOPICS,
  FIELD_NAMES,
  LATEST_SCHEMA,
  isClusterKind,
  SchemaCatalog,
  schemaDirectory,
  type FlowV1,
  type RecordKind,
} from '../contract';
import { GENERATED_PATH, LOCK_PATH, generateContractTypes } from '../scripts/gen-contract-types';
import { samples } from './contract-samples';

// Compile-time: the flow schema carries exactly the FlowRecord's fields (the build fails on drift).
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const flowSchemaCarriesFlowRecord: SameKeys<FlowRecord, FlowV1> = true;

const COLLECTOR_FIELDS = ['hostId', 'runId', 'seq'];

describe('contract types and schema files', () => {
  it('when the types are regenerated from the .avsc files, then contract/types.generated.ts does not change', async () => {
    const onDisk = readFileSync(join(projectRoot(), GENERATED_PATH), 'utf8');
    assert.equal(await generateContractTypes(), onDisk, 'stale: run npx tsx scripts/gen-contract-types.ts');
  });

  it('when a sample of each kind is checked against its schema, then it is valid and has exactly the schema fields', () => {
    const catalog = SchemaCatalog.default();
    const all = samples();
    for (const kind of Object.keys(LATEST_SCHEMA) as RecordKind[]) {
      const schema = catalog.latest(kind);
      assert.ok(schema, kind);
      const problems: string[] = [];
      schema.type.isValid(all[kind], { errorHook: (path) => problems.push(path.join('.')) });
      assert.deepEqual(problems, [], `${kind} sample invalid at ${problems.join(', ')}`);
      assert.deepEqual(Object.keys(all[kind]), [...FIELD_NAMES[kind]], kind);
    }
  });

  it('when the flow schema is compared with the FlowRecord model, then it has every field in the same order', () => {
    assert.ok(flowSchemaCarriesFlowRecord);
    const model: Record<keyof FlowRecord, true> = {
      hostId: true, runId: true, seq: true, cookie: true, netns: true, role: true, state: true, family: true,
      localAddr: true, localPort: true, remoteAddr: true, remotePort: true, pid: true, processStartTime: true,
      comm: true, cgroupId: true, containerId: true, containerRuntime: true, podUid: true, bytesSent: true,
      bytesReceived: true, retransmits: true, srttUs: true, connectLatencyUs: true, openedAt: true,
      closedAt: true, observedAt: true, preexisting: true,
    }; // prettier-ignore
    assert.deepEqual(Object.keys(model).sort(), [...FIELD_NAMES.flow].sort());
  });

  it('when a released schema is compared with contract/schemas.lock.json, then its canonical form has not changed', () => {
    const locked = JSON.parse(readFileSync(join(projectRoot(), LOCK_PATH), 'utf8')) as Record<string, string>;
    const catalog = SchemaCatalog.default();
    assert.deepEqual(
      Object.keys(locked).sort(),
      catalog.names(),
      'new schema: run npx tsx scripts/gen-contract-types.ts --lock',
    );
    for (const name of catalog.names()) {
      assert.equal(
        catalog.get(name)?.fingerprint,
        locked[name],
        `${name} changed after release: add a new version instead`,
      );
    }
  });

  it('when the schema folder is listed, then every file is <kind>.v<N>.avsc in namespace io.nettopo', () => {
    const files = readdirSync(schemaDirectory());
    assert.ok(files.length >= 6);
    for (const f of files) {
      assert.match(f, /^[a-z][a-z0-9-]*\.v[1-9][0-9]*\.avsc$/);
      const schema = JSON.parse(readFileSync(join(schemaDirectory(), f), 'utf8')) as {
        namespace?: string;
        type: string;
      };
      assert.equal(schema.type, 'record', f);
      assert.equal(schema.namespace, 'io.nettopo', f);
    }
  });

  it('when a collector record is defined, then it starts with hostId, runId, seq and has observedAt, for dedupe and ordering', () => {
    for (const kind of Object.keys(FIELD_NAMES) as RecordKind[]) {
      if (kind === 'deadletter' || isClusterKind(kind) || kind === 'topology-change') continue;
      const fields: readonly string[] = FIELD_NAMES[kind];
      assert.deepEqual(fields.slice(0, 3), COLLECTOR_FIELDS, kind);
      assert.ok(fields.includes('observedAt'), kind);
    }
  });

  it('when a cluster record is defined, then it starts with cluster, runId, seq and has uid, resourceVersion, deletedAt and observedAt', () => {
    for (const kind of Object.keys(FIELD_NAMES) as RecordKind[]) {
      if (!isClusterKind(kind)) continue;
      const fields: readonly string[] = FIELD_NAMES[kind];
      assert.deepEqual(fields.slice(0, 3), ['cluster', 'runId', 'seq'], kind);
      for (const f of ['uid', 'namespace', 'name', 'resourceVersion', 'deletedAt', 'observedAt'])
        assert.ok(fields.includes(f), `${kind}.${f}`);
    }
  });

  it('when a field is a nullable union, then null comes first and is its default, so later versions can drop or add it', () => {
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
      if (node === null || typeof node !== 'object') return;
      const o = node as {
        fields?: { name: string; type: unknown; default?: unknown }[];
        items?: unknown;
        type?: unknown;
      };
      for (const f of o.fields ?? []) {
        if (Array.isArray(f.type) && f.type.includes('null')) {
          assert.equal(f.type[0], 'null', `${where}.${f.name}`);
          assert.equal(f.default, null, `${where}.${f.name}`);
        }
        walk(f.type, `${where}.${f.name}`);
      }
      walk(o.items, where);
      if (typeof o.type === 'object') walk(o.type, where);
    };
    for (const name of SchemaCatalog.default().names())
      walk(SchemaCatalog.default().get(name)?.definition, name);
  });

  it('when the topics are listed, then their names carry the version and state topics are compacted', () => {
    assert.deepEqual(
      ALL_TOPICS.map((t) => [t.topic, t.kind, t.compacted, t.keyDescription]),
      [
        ['nettopo.flows.v1', 'flow', false, 'hostId'],
        ['nettopo.processes.v1', 'process', true, 'hostId/pid/startTime'],
        ['nettopo.listeners.v1', 'listener', true, 'hostId/netns/address/port'],
        ['nettopo.hosts.v1', 'host', true, 'hostId'],
        ['nettopo.heartbeats.v1', 'heartbeat', false, 'hostId'],
        ['nettopo.k8s.pods.v1', 'pod', true, 'cluster/uid'],
        ['nettopo.k8s.services.v1', 'service', true, 'cluster/namespace/name'],
        ['nettopo.k8s.endpointslices.v1', 'endpointslice', true, 'cluster/namespace/name'],
        ['nettopo.deadletter.v1', 'deadletter', false, 'sourceTopic/partition/offset'],
        [
          'nettopo.topology-changes.v1',
          'topology-change',
          false,
          'the changed entity (edge id, Label:key, listener:hostId/netns/port)',
        ],
      ],
    );
    for (const t of ALL_TOPICS) assert.equal(t.schema, LATEST_SCHEMA[t.kind]);
  });
});

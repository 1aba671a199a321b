import { strict as assert } from 'node:assert';
import {
  Codec,
  SchemaCatalog,
  SchemaDefinitionError,
  UnknownSchemaError,
  flowFromAvro,
  flowToAvro,
} from '../contract';
import { containerFlow, hostFlow, plain, samples } from './contract-samples';

/** flow.v1 as shipped, plus a hypothetical flow.v2 made from it by `change`. */
function withFlowV2(change: (fields: object[]) => object[]): SchemaCatalog {
  const v1 = SchemaCatalog.default().get('flow.v1');
  assert.ok(v1);
  const definition = structuredClone(v1.definition) as { fields: object[] };
  return SchemaCatalog.default().extend([
    { name: 'flow.v2', definition: { ...definition, fields: change(definition.fields) } },
  ]);
}

/** The compatible next version: two new fields with defaults. */
const v2Catalog = withFlowV2((fields) => [
  ...fields,
  { name: 'congestionControl', type: ['null', 'string'], default: null },
  { name: 'segmentsOut', type: 'long', default: 0 },
]);

describe('contract evolution', () => {
  const v1 = new Codec(); // what a collector (and an ingest) of today builds
  const v2 = new Codec({ catalog: v2Catalog }); // a later build that knows flow.v2

  it('when a newer reader (flow.v2) reads records written with flow.v1, then every v1 field survives and new fields take their defaults', () => {
    for (const record of [containerFlow(), hostFlow()]) {
      const { value, headers } = v1.encode('flow', flowToAvro(record));
      assert.equal(headers['nettopo-schema'], 'flow.v1');
      const decoded = v2.decode(value, headers, 'flow');
      assert.equal(decoded.schema, 'flow.v1');
      const { congestionControl, segmentsOut, ...rest } = plain(decoded.record) as unknown as Record<
        string,
        unknown
      >;
      assert.equal(congestionControl, null);
      assert.equal(segmentsOut, 0);
      assert.deepEqual(flowFromAvro(rest as never), record);
    }
  });

  it('when the newer build writes, then its header names flow.v2 and it reads its own records', () => {
    const record = { ...flowToAvro(containerFlow()), congestionControl: 'bbr', segmentsOut: 2 ** 34 };
    const { value, headers } = v2.encodeAs('flow.v2', record);
    assert.equal(headers['nettopo-schema'], 'flow.v2');
    assert.deepEqual(plain(v2.decode(value, headers).record), record);
  });

  it('when an older ingest (flow.v1 only) receives a flow.v2 record, then it reports it as unknown-schema, not as garbage', () => {
    const record = { ...flowToAvro(containerFlow()), congestionControl: 'cubic', segmentsOut: 17 };
    const { value, headers } = v2.encodeAs('flow.v2', record);
    try {
      v1.decode(value, headers, 'flow');
      assert.fail('expected UnknownSchemaError');
    } catch (err) {
      assert.ok(err instanceof UnknownSchemaError);
      assert.equal(err.reason, 'unknown-schema');
      assert.equal(err.schema, 'flow.v2');
      assert.equal(err.retriable, false);
    }
  });

  it('when a next version adds a field without a default, then the catalog refuses it at build time', () => {
    assert.throws(
      () => withFlowV2((fields) => [...fields, { name: 'mustHave', type: 'long' }]),
      (err: unknown) =>
        err instanceof SchemaDefinitionError &&
        /flow\.v2 cannot read records written with flow\.v1/.test(err.message),
    );
  });

  it('when a next version changes a field type incompatibly, then the catalog refuses it at build time', () => {
    assert.throws(
      () =>
        withFlowV2((fields) =>
          fields.map((f) => ((f as { name: string }).name === 'comm' ? { name: 'comm', type: 'long' } : f)),
        ),
      SchemaDefinitionError,
    );
  });

  it('when a next version adds a role symbol, then a reader with it still reads v1 records (enum default kept)', () => {
    const catalog = withFlowV2((fields) =>
      fields.map((f) =>
        (f as { name: string }).name === 'role'
          ? {
              ...f,
              type: {
                type: 'enum',
                name: 'FlowRole',
                symbols: ['client', 'server', 'unknown', 'peer'],
                default: 'unknown',
              },
            }
          : f,
      ),
    );
    const { value, headers } = v1.encode('flow', flowToAvro(containerFlow({ role: 'server' })));
    assert.equal((new Codec({ catalog }).decode(value, headers).record as { role: string }).role, 'server');
  });
});

describe('contract evolution: the cut markers (process.v2, host.v2)', () => {
  const today = new Codec();
  /** What a build before the markers knew: every schema but process.v2 and host.v2. */
  const before = new Codec({
    catalog: new SchemaCatalog(
      SchemaCatalog.default()
        .definitions()
        .filter((d) => d.name !== 'process.v2' && d.name !== 'host.v2'),
    ),
  });
  const { process: processV2, host: hostV2 } = samples();

  it('when an ingest of this build reads process and host records of an older collector (v1), then every field survives and the markers read false', () => {
    const { cmdlineTruncated, ...processV1 } = processV2;
    const { namespacesTruncated, ...hostV1 } = hostV2;
    assert.equal(cmdlineTruncated, false);
    assert.equal(namespacesTruncated, false);
    for (const [kind, v1Record, v2Record] of [
      ['process', processV1, processV2],
      ['host', hostV1, hostV2],
    ] as const) {
      const { value, headers } = before.encode(kind, v1Record as never);
      assert.equal(headers['nettopo-schema'], `${kind}.v1`);
      const decoded = today.decode(value, headers, kind);
      assert.equal(decoded.schema, `${kind}.v1`);
      assert.deepEqual(plain(decoded.record), v2Record);
    }
  });

  it('when a collector of this build cuts a command line or a namespace list, then it writes v2 with the marker set and reads it back', () => {
    for (const [kind, record] of [
      ['process', { ...processV2, cmdlineTruncated: true }],
      ['host', { ...hostV2, namespacesTruncated: true }],
    ] as const) {
      const { value, headers } = today.encode(kind, record as never);
      assert.equal(headers['nettopo-schema'], `${kind}.v2`);
      assert.deepEqual(plain(today.decode(value, headers, kind).record), record);
    }
  });

  it('when an ingest that predates the markers receives a v2 record, then it reports unknown-schema (dead letter), never garbage', () => {
    const { value, headers } = today.encode('process', processV2);
    assert.throws(
      () => before.decode(value, headers, 'process'),
      (err: unknown) => err instanceof UnknownSchemaError && err.schema === 'process.v2',
    );
  });
});

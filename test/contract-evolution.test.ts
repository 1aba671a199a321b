import { strict as assert } from 'node:assert';
import {
  Codec,
  SchemaCatalog,
  SchemaDefinitionError,
  UnknownSchemaError,
  flowFromAvro,
  flowToAvro,
} from '../contract';
import { containerFlow, hostFlow, plain } from './contract-samples';

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

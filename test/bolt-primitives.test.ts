/**
 * The driver's transformer fast path (graph-schema/bolt-primitives.ts) answers for primitives and
 * Integers without asking the transformers: that is only right if no transformer of any protocol
 * takes one, and every value must still reach Neo4j as before.
 */
import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import neo4j, { type Driver } from 'neo4j-driver';
import { createGraphDriver } from '../graph-schema';
import { driverTransformer } from '../patches/neo4j-driver';

type Factory = (
  config: object,
  log: object,
) => { isTypeInstance(value: unknown): boolean; signature: number };

describe('graph: the driver transformer fast path', () => {
  it('when any protocol transformer is asked about a primitive or an Integer, then none takes it', () => {
    const driver = createRequire(require.resolve('neo4j-driver'));
    const dir = dirname(driver.resolve('neo4j-driver-bolt-connection/lib/bolt/transformer.js'));
    const modules = readdirSync(dir).filter((f) => /^bolt-protocol-.*\.transformer\.js$/.test(f));
    assert.ok(modules.length >= 10, `${modules.length} transformer modules found in ${dir}`);
    const log = { isDebugEnabled: () => false, debug: () => undefined, warn: () => undefined };
    const samples: unknown[] = [
      '',
      'host-1',
      0,
      -1,
      1.5,
      Number.NaN,
      true,
      false,
      null,
      undefined,
      10n,
      neo4j.int(5),
      neo4j.int('9007199254740993'),
    ];
    let transformers = 0;
    for (const file of modules) {
      const factories = (driver(`${dir}/${file}`) as { default: Record<string, Factory> }).default;
      for (const [name, create] of Object.entries(factories)) {
        const t = create({}, log);
        transformers++;
        for (const value of samples)
          assert.equal(t.isTypeInstance(value), false, `${file} ${name} takes ${String(value)}`);
      }
    }
    assert.ok(transformers > 100, `${transformers} transformers asked`);
    // A graph driver installs the fast path on the class the driver's protocols use.
    createGraphDriver()
      .close()
      .catch(() => undefined);
    const { module } = driverTransformer();
    assert.ok(Symbol.for('nettopo.boltPrimitives') in module.default.prototype, 'installed');
  });

  describe('against the real Neo4j', () => {
    let graph: Driver;
    before(() => {
      graph = createGraphDriver();
    });
    after(async () => {
      await graph.close();
    });

    it('when values of every kind are sent as parameters, then Neo4j reads each back unchanged', async () => {
      const when = new neo4j.types.DateTime(2026, 11, 25, 3, 4, 5, 6_000_000, 0);
      const where = new neo4j.types.Point(7203, 1.5, -2.25);
      const params = {
        text: 'é✓ host',
        integer: neo4j.int('9007199254740993'),
        float: 2.5,
        yes: true,
        none: null,
        list: ['a', neo4j.int(1), [neo4j.int(2)]],
        map: { rows: [{ key: 'k', at: when }] },
        when,
        where,
      };
      const { records } = await graph.executeQuery(
        `RETURN $text AS text, $integer AS integer, $float AS float, $yes AS yes, $none AS none,
                $list AS list, $map AS map, $when AS when, $where AS where,
                valueType($integer) AS integerType, valueType($when) AS whenType, valueType($where) AS whereType`,
        params,
      );
      const r = records[0].toObject();
      assert.equal(r.text, params.text);
      assert.ok(neo4j.int('9007199254740993').equals(r.integer as never));
      assert.equal(r.float, 2.5);
      assert.equal(r.yes, true);
      assert.equal(r.none, null);
      assert.deepEqual(r.list, params.list);
      assert.equal(String((r.map as { rows: { at: unknown }[] }).rows[0].at), String(when));
      assert.equal(String(r.when), String(when));
      const point = r.where as { srid: unknown; x: number; y: number };
      assert.deepEqual([Number(point.srid), point.x, point.y], [7203, 1.5, -2.25]);
      assert.deepEqual(
        [r.integerType, r.whenType, r.whereType],
        ['INTEGER NOT NULL', 'ZONED DATETIME NOT NULL', 'POINT NOT NULL'],
      );
    });
  });
});

import { createRequire } from 'node:module';
import { checkedVersion } from '../library-version';

/*
 * neo4j-driver (5.28) passes every parameter value it packs — each string, number and row of an
 * UNWIND list — through its transformer list (`Transformer.toStructure`), which asks a dozen
 * transformers (nodes, paths, points, temporal types) in turn whether the value is theirs. For
 * the ingest's parameters (thousands of rows of strings and Integers per transaction) that was
 * about 5% of its CPU. No transformer takes a primitive or a driver Integer (each tests for a
 * class or an identifier property those lack; see test/bolt-primitives.test.ts), so this answers
 * for them at once and leaves everything else to the transformers, unchanged.
 *
 * A protocol builds its transformer once per connection, binding `toStructure` as the prototype
 * has it then: install before the first connection opens.
 */

interface TransformerModule {
  default: { prototype: { toStructure(value: unknown): unknown } };
}

interface DriverCore {
  isInt(value: unknown): boolean;
}

const patched = Symbol.for('nettopo.boltPrimitives');

/** The driver's own `transformer` module and core (the ones its connections use). */
export function driverTransformer(): { module: TransformerModule; core: DriverCore } {
  const driver = createRequire(require.resolve('neo4j-driver'));
  return {
    module: driver('neo4j-driver-bolt-connection/lib/bolt/transformer.js') as TransformerModule,
    core: driver('neo4j-driver-core') as DriverCore,
  };
}

/** Installs the fast path (idempotent) and says whether it is in effect. */
export function installBoltPrimitives(): boolean {
  if (!checkedVersion('neo4j-driver', 'primitive packing')) return false;
  const { module, core } = driverTransformer();
  const proto = module.default.prototype as TransformerModule['default']['prototype'] & { [patched]?: true };
  if (proto[patched]) return true;
  const original = proto.toStructure;
  proto.toStructure = function toStructure(this: unknown, value: unknown): unknown {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function') || core.isInt(value))
      return value;
    return original.call(this, value);
  };
  proto[patched] = true;
  return true;
}

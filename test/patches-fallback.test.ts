/**
 * The library fast paths (patches/README.md) switch themselves off, loudly, when the installed
 * library is not the version they were checked against, and the library's own code then works.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CHECKED_VERSIONS, checkedVersion, installedVersion } from '../patches';
import { TestTopics } from './helpers/kafka-topics';

describe('library fast paths: version gate and fallback', () => {
  it('when the installed libraries are the checked versions, then the patches may install', () => {
    assert.equal(installedVersion('kafkajs'), CHECKED_VERSIONS.kafkajs);
    assert.equal(installedVersion('neo4j-driver'), CHECKED_VERSIONS['neo4j-driver']);
    assert.equal(checkedVersion('kafkajs', 'test', CHECKED_VERSIONS.kafkajs, {}), true);
  });

  it('when another version is installed, then the patch stays off and one warning names both versions', () => {
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (
      written.push(String(chunk)),
      true
    )) as typeof process.stderr.write;
    let first: boolean;
    let second: boolean;
    try {
      first = checkedVersion('neo4j-driver', 'fast thing', '6.0.0', {});
      second = checkedVersion('neo4j-driver', 'other thing', '6.0.0', {});
    } finally {
      process.stderr.write = original;
    }
    assert.equal(first, false);
    assert.equal(second, false);
    assert.equal(written.length, 1, written.join(''));
    assert.match(
      written[0],
      /neo4j-driver 6\.0\.0 is installed, but its fast paths were checked against 5\.28\.3/,
    );
  });

  describe('with every patch off (NETTOPO_NO_PATCHES=1), against the real Kafka and Neo4j', () => {
    const topics = new TestTopics();
    after(() => topics.cleanup());

    it("then nothing is patched and kafkajs' and the driver's own code produce, consume and query", async () => {
      const topic = `${topics.prefix}patches-off`;
      await topics.create([topic]);
      const child = spawnSync(
        process.execPath,
        ['--require', 'tsx/cjs', join(__dirname, 'fixtures', 'patches-off-roundtrip.ts'), topic],
        { env: { ...process.env, NETTOPO_NO_PATCHES: '1' }, encoding: 'utf8', timeout: 60_000 },
      );
      assert.equal(child.status, 0, child.stderr);
      const out = JSON.parse(child.stdout) as {
        kafkajsPatches: Record<string, boolean>;
        boltChunking: boolean;
        boltPrimitives: boolean;
        received: string[];
        bolt: { n: number; i: number };
      };
      assert.deepEqual(out.kafkajsPatches, {
        linearGrouping: false,
        fastRecord: false,
        fastRecordDecoder: false,
      });
      assert.equal(out.boltChunking, false);
      assert.equal(out.boltPrimitives, false);
      assert.deepEqual(
        out.received,
        Array.from({ length: 50 }, (_, i) => `value-${i}|${i}`),
      );
      assert.deepEqual(out.bolt, { n: 100_000, i: 7 });
    });
  });
});

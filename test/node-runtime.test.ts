/**
 * The runtime the suite runs on: the host's Node 20 (scripts/test.sh) and the LTS of
 * scripts/runtime.versions (scripts/test-node-lts.sh runs the runtime part of the suite on it).
 * Whichever it is, the collector's addon must be the one built with that Node.js' headers.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectRoot } from '../common';
import { loadNative, nativeCandidatePaths } from '../collector/kernel';

/** `"name version"` lines of scripts/runtime.versions. */
function pinnedVersion(name: string): string {
  const text = readFileSync(join(projectRoot(), 'scripts', 'runtime.versions'), 'utf8');
  const line = text.split('\n').find((l) => l.split(/\s+/)[0] === name);
  assert.ok(line, `scripts/runtime.versions has no ${name} line`);
  return line.split(/\s+/)[1]!;
}

describe('the Node.js runtime', () => {
  it('when the suite runs, then it runs on Node 20 or on the pinned LTS, nothing else', () => {
    const lts = pinnedVersion('node');
    assert.match(lts, /^24\.\d+\.\d+$/, 'the pinned LTS is a Node 24 release');
    const major = Number(process.versions.node.split('.')[0]);
    if (major !== 20) assert.equal(process.versions.node, lts);
  });

  it('when the addon is loaded, then it is the build made with the headers of the Node.js running it', () => {
    const native = loadNative();
    assert.equal(typeof native.Collector, 'function');
    // The module loadNative() required: the first candidate that loads.
    const loaded = nativeCandidatePaths().find((p) => require.cache[p]);
    assert.ok(loaded, `none of ${nativeCandidatePaths().join(', ')} was loaded`);
    // node-gyp records the headers it built against in build/config.gypi, next to build/Release/.
    const gypi = readFileSync(join(dirname(dirname(loaded)), 'config.gypi'), 'utf8');
    const built = /"node_module_version": (\d+)/.exec(gypi);
    assert.ok(built, `${loaded}: no node_module_version in its config.gypi`);
    assert.equal(built[1], process.versions.modules, `${loaded} was built for another Node.js`);
  });
});

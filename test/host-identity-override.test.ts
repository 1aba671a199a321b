/**
 * The options that let one machine act as one host of a simulated fleet: a host id override and
 * network namespaces named by name, path or inode (pure functions; no root needed).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostIdentityError, readHostInfo, resolveNetns } from '../collector';

describe('host identity override and namespace scope', function () {
  it('when a host id is given, then it is used (normalised) instead of the id files', function () {
    const info = readHostInfo({ hostId: 'ABCDEF01-2345-6789-abcd-ef0123456789', idFiles: [] });
    assert.equal(info.hostId, 'abcdef0123456789abcdef0123456789');
    assert.equal(info.hostIdSource, 'override');
  });

  it('when the given host id is not 32 hex digits, then it is refused', function () {
    for (const bad of ['', 'xyz', '0'.repeat(32), 'a'.repeat(31)])
      assert.throws(() => readHostInfo({ hostId: bad }), HostIdentityError, bad);
  });

  it('when a namespace is given by inode, name or path, then its inode number is returned; an unknown name is refused', function () {
    const dir = mkdtempSync(join(tmpdir(), 'nettopo-netns-'));
    try {
      writeFileSync(join(dir, 'blue'), '');
      const ino = statSync(join(dir, 'blue')).ino;
      assert.equal(resolveNetns('4026531840', dir), 4026531840);
      assert.equal(resolveNetns('blue', dir), ino);
      assert.equal(resolveNetns(join(dir, 'blue'), dir), ino);
      assert.throws(() => resolveNetns('absent', dir), /network namespace 'absent' not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

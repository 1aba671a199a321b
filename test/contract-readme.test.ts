import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../common/paths';

/** Runs a README code block as CommonJS, with `nettopo/<path>` resolved to the project's sources. */
function run(code: string): void {
  const js = ts.transpileModule(code, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  }).outputText;
  const localRequire = (id: string): unknown =>
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(id.startsWith('nettopo/') ? join(projectRoot(), id.slice('nettopo/'.length)) : id);
  new Function('require', 'exports', js)(localRequire, {});
}

describe('contract README', () => {
  it('when the README examples are run, then they hold against the code', () => {
    const readme = readFileSync(join(projectRoot(), 'contract', 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    assert.ok(blocks.length > 0, 'no ```ts block in contract/README.md');
    for (const block of blocks) run(block);
  });
});

/**
 * The README cannot drift from the code: every `nettopo …` command its table names exists with
 * its own --help, every `bash scripts/…` command points at a script, and its `collect` example runs.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '../cli/main';

const root = join(__dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

describe('README', () => {
  it('when it names a nettopo command, then the CLI has it (with its subcommands)', () => {
    const program = buildProgram();
    const rows = [...readme.matchAll(/^\| `nettopo ([a-z0-9-]+)((?: [a-z|\\]+)?)/gm)];
    assert.ok(rows.length >= 6, 'the commands table lists the commands');
    for (const [, name, subs] of rows) {
      const cmd = program.commands.find((c) => c.name() === name);
      assert.ok(cmd, `README names 'nettopo ${name}', which the CLI does not have`);
      for (const sub of subs
        .trim()
        .split(/\\?\|/)
        .filter((s) => s && !s.startsWith('['))) {
        if (cmd.commands.length === 0) continue; // e.g. `collect [--kafka …]`: options, not subcommands
        assert.ok(
          cmd.commands.some((c) => c.name() === sub),
          `README names 'nettopo ${name} ${sub}', which the CLI does not have`,
        );
      }
    }
  });

  it('when it tells people to run a script, then the script exists', () => {
    const scripts = [...readme.matchAll(/^bash (scripts\/[\w.-]+)/gm)].map((m) => m[1]);
    assert.deepEqual(scripts, ['scripts/run.sh', 'scripts/test.sh'], 'exactly two set-up commands');
    for (const s of scripts) assert.ok(existsSync(join(root, s)), `${s} is missing`);
  });

  it('when its collect example is run, then it prints the table header and exits at --duration', function () {
    if (process.geteuid?.() !== 0) {
      console.log('      skipped: needs root (loads eBPF programs)');
      this.skip();
    }
    this.timeout(30_000);
    const example = /^node dist\/cli\/main\.js (collect [^\n]+)$/m.exec(readme);
    assert.ok(example, 'README has a collect example');
    const args = example[1].replace('--duration 10', '--duration 1').split(' ');
    const out = execFileSync(
      process.execPath,
      ['--require', 'tsx/cjs', join(root, 'cli', 'main.ts'), ...args],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    assert.match(out.split('\n')[0], /^ +PID COMM +ROLE +STATE +LOCAL +REMOTE +TX_B +RX_B/);
  });
});

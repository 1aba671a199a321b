/**
 * The README's table of bad inputs, run: each input exits with the status the table gives, fast,
 * and says what is wrong in the one line the table shows (the last line of stderr; the only line
 * unless the command had started working). Needs the local stack's Kafka; the `collect` row needs
 * root.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

interface Row {
  status: number;
  input: string;
  prints: string;
}

/** The rows of "Bad inputs and what they print". */
function badInputs(): Row[] {
  const table = /^Bad inputs and what they print[\s\S]*?\n\n((?:\|.*\n)+)/m.exec(readme);
  assert.ok(table, 'README has the bad-inputs table');
  return table[1]
    .split('\n')
    .slice(2)
    .filter((l) => l.startsWith('|'))
    .map((l) => {
      const m = /^\| (\d) \| `nettopo ([^`]+)` \| `([^`]+)` \|$/.exec(l);
      assert.ok(m, `row not understood: ${l}`);
      return { status: Number(m[1]), input: m[2], prints: m[3] };
    });
}

/** A port nothing listens on (bound, then freed). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** What the table's `prints` cell means as a pattern: `…` anything, `N` a number. */
function pattern(prints: string): RegExp {
  const escaped = prints.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replace(/…/g, '.*').replace(/\bN\b/g, '\\d+')}$`);
}

function run(args: string[]): Promise<{ status: number | null; stderr: string; seconds: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(root, 'cli', 'main.ts'), ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NETTOPO_LOG_LEVEL: 'warn' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (status) => {
      clearTimeout(kill);
      resolve({ status, stderr, seconds: (Date.now() - t0) / 1000 });
    });
  });
}

describe('exit codes: every bad input of the README table gets its one line and its status', function () {
  this.timeout(180_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nettopo-exit-'));
    writeFileSync(join(dir, 'bad.yaml'), 'kafka:\n  brokerz: [kafka:9092]\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('when each input of the table is run, then it exits with its status and its last line is the one shown, within seconds', async () => {
    const rows = badInputs();
    assert.ok(rows.length >= 10, `${rows.length} rows`);
    const isRoot = process.geteuid?.() === 0;
    const results = await Promise.all(
      rows.map(async (row) => {
        if (row.input.startsWith('collect --kafka') && !isRoot) return undefined;
        const port = String(await freePort());
        const args = row.input.replace(/FREE/g, port).replace('CONFIG', join(dir, 'bad.yaml')).split(' ');
        return { row, port, result: await run(args) };
      }),
    );
    for (const r of results) {
      if (!r) continue;
      const { row, port, result } = r;
      const lines = result.stderr.trimEnd().split('\n');
      const what = `nettopo ${row.input}: status ${result.status}, stderr:\n${result.stderr}`;
      assert.equal(result.status, row.status, what);
      assert.match(lines[lines.length - 1], pattern(row.prints.replace(/FREE/g, port)), what);
      if (!row.input.startsWith('collect --kafka')) {
        assert.equal(lines.length, 1, `one line: ${what}`);
        // Everything up to the answer, the CLI's own start (tsx compiling it, ~2-4 s, more on a loaded
        // machine: all rows run at once) included; a hang would take the command's own timeouts (≥ 60 s).
        assert.ok(result.seconds < 45, `${result.seconds} s: ${what}`);
      }
    }
  });
});

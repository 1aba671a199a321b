/**
 * What the collector does to a command line before it leaves the host: scrubbing (every form the
 * README documents) and the bounds of FIELD_BOUNDS. Pure functions; the real-process paths are in
 * test/hostile-processes.test.ts.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  boundCommandLine,
  CommandLineFilter,
  commandLineOptionsFromEnv,
  DEFAULT_SENSITIVE_WORDS,
  parseSensitiveWords,
  SCRUBBED,
} from '../collector';
import { ConfigError, projectRoot } from '../common';
import { cutUtf8, FIELD_BOUNDS, utf8Boundary, utf8Length } from '../contract';

const CANARY = 'hunter2-c4n4ry';

/** argv as a process has it → argv as published. */
const SCRUBBED_FORMS: [string, string[], string[]][] = [
  ['--key=value', ['mysql', `--password=${CANARY}`, 'db'], ['mysql', `--password=${SCRUBBED}`, 'db']],
  ['--key value', ['app', '--password', CANARY, '-v'], ['app', '--password', SCRUBBED, '-v']],
  [
    'environment-like KEY=value',
    ['env', `MYSQL_PWD=${CANARY}`, 'mysqld'],
    ['env', `MYSQL_PWD=${SCRUBBED}`, 'mysqld'],
  ],
  [
    'a Java property',
    ['java', `-Djavax.net.ssl.keyStorePassword=${CANARY}`, '-jar', 'app.jar'],
    ['java', `-Djavax.net.ssl.keyStorePassword=${SCRUBBED}`, '-jar', 'app.jar'],
  ],
  [
    'a header, KEY: value',
    ['curl', '-H', `Authorization: Bearer ${CANARY}`, 'https://api.example'],
    ['curl', '-H', `Authorization: ${SCRUBBED}`, 'https://api.example'],
  ],
  [
    'a URL with user:password@',
    ['psql', `postgres://alice:${CANARY}@db:5432/app`],
    ['psql', `postgres://alice:${SCRUBBED}@db:5432/app`],
  ],
  [
    'a URL with only a password',
    ['redis-cli', '-u', `redis://:${CANARY}@cache:6379/0`],
    ['redis-cli', '-u', `redis://:${SCRUBBED}@cache:6379/0`],
  ],
  [
    'a query string',
    ['app', `jdbc:mysql://db/app?user=alice&password=${CANARY}&ssl=true`],
    ['app', `jdbc:mysql://db/app?user=alice&password=${SCRUBBED}&ssl=true`],
  ],
  [
    'a shell script (sh -c)',
    ['sh', '-c', `cd /app && PGPASSWORD=${CANARY} psql -h db --password ${CANARY}x && echo done`],
    ['sh', '-c', `cd /app && PGPASSWORD=${SCRUBBED} psql -h db --password ${SCRUBBED} && echo done`],
  ],
  [
    'an argument starting with a key, spaces in its value',
    ['app', `--password=correct horse ${CANARY}`, '--port=80'],
    ['app', `--password=${SCRUBBED}`, '--port=80'],
  ],
  [
    'JSON in an argument',
    ['app', `--config={"apiKey": "${CANARY}", "port": 80}`],
    ['app', `--config={"apiKey": "${SCRUBBED}", "port": 80}`],
  ],
  ['a bare sensitive word', ['vault', 'login', 'token', CANARY], ['vault', 'login', 'token', SCRUBBED]],
  ['api-key spelled with dashes', ['app', '--api-key', CANARY], ['app', '--api-key', SCRUBBED]],
  [
    'a longer key holding a word',
    ['aws', `--aws-secret-access-key=${CANARY}`],
    ['aws', `--aws-secret-access-key=${SCRUBBED}`],
  ],
  ['an Erlang cookie', ['erl', '-setcookie', CANARY], ['erl', '-setcookie', SCRUBBED]],
  ['upper case', ['app', `--PASSWORD=${CANARY}`], ['app', `--PASSWORD=${SCRUBBED}`]],
];

const LEFT_AS_IS: string[][] = [
  ['nginx', '-g', 'daemon off;'],
  ['python3', 'tcp-peer.py', '{"role": "client", "port": 8080}'],
  ['java', '-Xmx1g', '-cp', '/opt/app/lib/*', 'com.example.Main', '--port=8080'],
  ['curl', 'https://example.org/a?b=c&d=e'],
  ['psql', 'postgres://alice@db/app'],
];

describe('command lines: scrubbed before they leave the collector', () => {
  const filter = new CommandLineFilter();
  const { cmdlineArgBytes } = FIELD_BOUNDS;

  for (const [form, argv, published] of SCRUBBED_FORMS) {
    it(`when a process has a secret as ${form}, then the value reads ${SCRUBBED} and the rest is kept`, () => {
      const out = filter.apply(argv);
      assert.deepEqual(out.args, published);
      assert.ok(!out.args.join(' ').includes(CANARY), 'the canary is gone');
      assert.ok(out.scrubbed >= 1);
      assert.equal(out.truncated, false);
    });
  }

  it('when a command line holds nothing sensitive, then it is published as it is', () => {
    for (const argv of LEFT_AS_IS)
      assert.deepEqual(filter.apply(argv), { args: argv, truncated: false, scrubbed: 0 });
  });

  it('when a word is added, then keys holding it are scrubbed too, and the defaults still are', () => {
    const custom = new CommandLineFilter({ sensitiveWords: ['dsn'] });
    assert.deepEqual(custom.apply(['app', `--sentry-dsn=${CANARY}`, `--password=${CANARY}`]).args, [
      'app',
      `--sentry-dsn=${SCRUBBED}`,
      `--password=${SCRUBBED}`,
    ]);
    assert.deepEqual(filter.apply(['app', `--sentry-dsn=x`]).args, ['app', '--sentry-dsn=x']);
  });

  it('when scrubbing is turned off, then values are kept (bounds still apply)', () => {
    const off = new CommandLineFilter({ scrub: false });
    assert.deepEqual(off.apply(['app', `--password=${CANARY}`]).args, ['app', `--password=${CANARY}`]);
    assert.equal(off.apply(['x'.repeat(5000)]).truncated, true);
  });

  it('when words come from the environment, then they are checked and added; NETTOPO_SCRUB_CMDLINE=0 turns scrubbing off', () => {
    assert.deepEqual(commandLineOptionsFromEnv({ NETTOPO_SCRUB_WORDS: 'dsn, conn.string' }), {
      scrub: true,
      sensitiveWords: ['dsn', 'conn.string'],
    });
    assert.equal(commandLineOptionsFromEnv({ NETTOPO_SCRUB_CMDLINE: '0' }).scrub, false);
    assert.throws(() => parseSensitiveWords('ok,not a word'), ConfigError);
    assert.ok(DEFAULT_SENSITIVE_WORDS.includes('password'));
  });

  it('when arguments are crafted against the patterns (128 KiB runs of letters, schemes, keys, separators), then filtering them stays fast: its work is bounded by the cut', () => {
    const crafted = ['B', 'a:', 'a=', ',a', 'x://', '{"a":', ' -a', 'a.'].map((piece) =>
      piece.repeat(Math.floor(131_000 / piece.length)),
    );
    const argv = Array.from({ length: 200 }, (_, i) => crafted[i % crafted.length] as string);
    const started = performance.now();
    const out = filter.apply(argv);
    const ms = performance.now() - started;
    // Quadratic backtracking on one such argument took ~8 s before arguments were cut first.
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
    assert.equal(out.truncated, true);
    assert.ok(out.args.every((a) => utf8Length(a) <= cmdlineArgBytes));
  });

  it('when the read stopped inside a URL before its host, then the unfinished authority is scrubbed', () => {
    const out = filter.apply(['app', `postgres://alice:${CANARY.slice(0, 5)}`], false);
    assert.deepEqual(out.args, ['app', `postgres://${SCRUBBED}`]);
    assert.equal(out.truncated, true, 'an incomplete read is a cut command line');
  });
});

describe('command lines: bounded', () => {
  const { cmdlineArgs, cmdlineArgBytes, cmdlineBytes } = FIELD_BOUNDS;
  const bytesOf = (args: string[]): number => args.reduce((n, a) => n + utf8Length(a) + 1, 0);

  it(`when a process has more than ${cmdlineArgs} arguments, then the first ${cmdlineArgs} are kept and the line is marked cut`, () => {
    const argv = Array.from({ length: 300 }, (_, i) => `a${i}`);
    const out = boundCommandLine(argv);
    assert.deepEqual(out.args, argv.slice(0, cmdlineArgs));
    assert.equal(out.truncated, true);
  });

  it(`when one argument is 100 KiB, then it is cut to ${cmdlineArgBytes} bytes and the arguments after it are kept`, () => {
    const out = boundCommandLine(['java', '-cp', 'x'.repeat(100 * 1024), 'com.example.Main']);
    assert.deepEqual(out.args, ['java', '-cp', 'x'.repeat(cmdlineArgBytes), 'com.example.Main']);
    assert.equal(out.truncated, true);
  });

  it(`when arguments add up to more than ${cmdlineBytes} bytes, then what fits is kept, with the NULs counted as in /proc`, () => {
    const argv = Array.from({ length: 16 }, () => 'y'.repeat(1000));
    const out = boundCommandLine(argv);
    assert.equal(bytesOf(out.args), cmdlineBytes);
    assert.equal(out.args.length, 9);
    assert.equal(out.args[8], 'y'.repeat(cmdlineBytes - 8 * 1001 - 1));
    assert.equal(out.truncated, true);
  });

  it('when a cut falls inside a multi-byte character, then the character is left out whole (no U+FFFD made up)', () => {
    const out = boundCommandLine(['a' + 'é'.repeat(1000)]);
    assert.equal(out.args[0], 'a' + 'é'.repeat(Math.floor((cmdlineArgBytes - 1) / 2)));
    assert.ok(!out.args[0]!.includes('\ufffd'));
  });

  it('when a command line is within every bound, then it is not marked cut', () => {
    const argv = ['python3', '-m', 'http.server', '8080'];
    assert.deepEqual(boundCommandLine(argv), { args: argv, truncated: false });
  });

  it('when a byte prefix ends inside a character, then the boundary steps back to its first byte; invalid bytes count as whole', () => {
    const euro = Buffer.from('a€b'); // 61 e2 82 ac 62
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((n) => utf8Boundary(euro, n)),
      [0, 1, 1, 1, 4, 5],
    );
    const orphans = Buffer.from([0x61, 0x80, 0x80, 0x62]); // continuation bytes without a lead
    assert.equal(utf8Boundary(orphans, 2), 2);
    assert.deepEqual(cutUtf8('€€', 4), { text: '€', cut: true });
    assert.deepEqual(cutUtf8('€', 3), { text: '€', cut: false });
  });
});

describe('command lines: the README', () => {
  /** Splits a shell command line into arguments as sh does ('…' and "…" quote, no escapes). */
  const words = (line: string): string[] =>
    [...line.matchAll(/(?:'[^']*'|"[^"]*"|[^\s'"]+)+/g)].map((m) =>
      m[0].replace(/'([^']*)'|"([^"]*)"/g, '$1$2'),
    );

  it('when every example of its scrubbing table is filtered, then s3cr3t is gone and what it shows as published is what comes out', () => {
    const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');
    const table = /\| form \| as published \|\n\| --- \| --- \|\n((?:\|.*\n)+)/.exec(readme);
    assert.ok(table, 'README has the scrubbing table');
    const rows = table[1].trim().split('\n');
    assert.ok(rows.length >= 6);
    const filter = new CommandLineFilter();
    for (const row of rows) {
      const [forms, published] = row.replace(/^\| | \|$/g, '').split(' | ');
      const examples = [...(forms ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
      assert.ok(examples.length > 0, row);
      for (const example of examples) {
        const out = filter.apply(words(example)).args.join(' ');
        assert.ok(!out.includes('s3cr3t'), `${example} → ${out}`);
      }
      const shown = /`([^`]+)`/.exec(published ?? '')?.[1];
      if (shown?.includes(SCRUBBED))
        assert.ok(
          filter
            .apply(words(examples[0] as string))
            .args.join(' ')
            .includes(shown),
          row,
        );
    }
  });
});

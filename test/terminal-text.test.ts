/**
 * Names from hosts on their way to a terminal: the table and every human line escape what a
 * terminal would act on; JSON lines stay the same JSON value with those characters escaped.
 * The real-process path (`collect --format table|json`) is in test/hostile-processes.test.ts.
 */
import { strict as assert } from 'node:assert';
import { formatFlow } from '../collector';
import { terminalJson, terminalText } from '../common';
import { containerFlow } from './contract-samples';

/** Every character a terminal may act on, or that reorders or breaks a line. */
const UNSAFE_FOR_TERMINAL =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udfff]/;

/** A hostile name → how a table shows it. */
const HOSTILE: [string, string, string][] = [
  ['clear screen and home (ESC [2J ESC [H) and a newline', '\x1b[2J\x1b[Hfake\n', '\\x1b[2J\\x1b[Hfake\\x0a'],
  ['a carriage return hiding what came before', 'safe\rEVIL', 'safe\\x0dEVIL'],
  ['an 8-bit CSI (C1)', '\u009b31mred', '\\u009b31mred'],
  ['a right-to-left override', 'gpj.\u202eexe', 'gpj.\\u202eexe'],
  ['a terminal title (OSC … BEL)', '\x1b]0;pwned\x07', '\\x1b]0;pwned\\x07'],
  ['DEL and a NUL', 'a\x7fb\x00c', 'a\\x7fb\\x00c'],
  ['a lone surrogate', 'x\ud800y', 'x\\ud800y'],
  ['a backslash (so an escape is never ambiguous)', 'a\\x1b', 'a\\\\x1b'],
  ['bytes that were not UTF-8 (read as U+FFFD)', 'bad\ufffd\ufffd', 'bad\ufffd\ufffd'],
  ['a Cypher fragment', "x'}) DETACH DELETE n //", "x'}) DETACH DELETE n //"],
  ['an ordinary name', 'nginx: worker', 'nginx: worker'],
];

describe('terminal output of names from hosts', () => {
  for (const [what, name, shown] of HOSTILE) {
    it(`when a name holds ${what}, then the table shows it escaped and JSON keeps the same value safely`, () => {
      assert.equal(terminalText(name), shown);
      assert.doesNotMatch(terminalText(name), UNSAFE_FOR_TERMINAL);

      const record = containerFlow({ comm: name });
      const row = formatFlow(record, 'table');
      assert.ok(row.includes(shown), row);
      assert.doesNotMatch(row, UNSAFE_FOR_TERMINAL);

      const line = formatFlow(record, 'json');
      assert.doesNotMatch(line, UNSAFE_FOR_TERMINAL);
      assert.deepEqual(JSON.parse(line), JSON.parse(JSON.stringify(record)), 'the same JSON value');
    });
  }

  it('when any value holds C1 or bidirectional controls, then terminalJson writes them as \\u escapes', () => {
    const value = { a: '\u0085\u2028\u2029\u2066x\u2069', b: ['\x1b'] };
    assert.equal(terminalJson(value), '{"a":"\\u0085\\u2028\\u2029\\u2066x\\u2069","b":["\\u001b"]}');
    assert.deepEqual(JSON.parse(terminalJson(value)), value);
  });
});

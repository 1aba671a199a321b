/**
 * Text from hosts (process names, command lines, interface names) on its way to a terminal. A
 * process chooses its own name: `\e[2J\e[H` in it would clear the screen of whoever prints it,
 * a bidirectional override would reorder what follows. Invalid UTF-8 never gets this far: it was
 * read as U+FFFD when decoded; a lone UTF-16 surrogate (from no decoder of ours, but possible in
 * a string) is escaped too.
 */

/**
 * What a terminal may act on, or what reorders or breaks a line: C0 controls, DEL, C1 controls,
 * the bidirectional marks, embeddings, overrides and isolates, the line and paragraph separators,
 * and lone surrogates.
 */
/* eslint-disable no-control-regex -- matching control characters is the point */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/* eslint-enable no-control-regex */

/** The same set without the C0 controls and lone surrogates, which JSON.stringify escapes itself. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const hex = (c: string, width: number): string =>
  (c.codePointAt(0) as number).toString(16).padStart(width, '0');

/**
 * `text` safe to write to a terminal: every character of {@link UNSAFE} as `\xNN` (C0, DEL) or
 * `\uNNNN`, and `\` as `\\` so that an escape is never ambiguous with the same characters typed.
 */
export function terminalText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x80 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`;
  });
}

/**
 * `JSON.stringify(value)` with the characters a terminal may act on that JSON leaves raw (DEL, C1
 * controls, bidirectional controls, U+2028/U+2029) written as `\uNNNN`: still the same JSON
 * value, and safe to print. JSON.stringify escapes C0 controls and lone surrogates itself.
 */
export function terminalJson(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(UNSAFE_IN_JSON, (c) => `\\u${hex(c, 4)}`);
}

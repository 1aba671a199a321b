import { cutUtf8, FIELD_BOUNDS, utf8Length } from '../../contract/field-bounds';
import { ConfigError } from '../../common/errors';

/** What a scrubbed value reads as. */
export const SCRUBBED = '********';

/**
 * The words that make a key sensitive — the one list. A key matches when, lower-cased and without
 * `-`, `_` and `.`, it contains one of them (`--db-password`, `MYSQL_PWD`, `X-Api-Key`,
 * `-Djavax.net.ssl.keyStorePassword`, `oauth_token`). Add words with `--scrub-words` or
 * NETTOPO_SCRUB_WORDS.
 */
export const DEFAULT_SENSITIVE_WORDS: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'api_key',
  'access_key',
  'credential',
  'auth',
  'private_key',
  'cookie',
];

/** How command lines are scrubbed before anything leaves the collector. */
export interface CommandLineOptions {
  /**
   * Replace the values of sensitive keys and URL passwords with `********`.
   * @defaultValue `true`
   */
  scrub?: boolean;
  /**
   * Words added to {@link DEFAULT_SENSITIVE_WORDS} (letters, digits, `_`, `-`, `.`).
   * @defaultValue `[]`
   */
  sensitiveWords?: readonly string[];
}

/** A command line as published: bounded, scrubbed, and what was done to it. */
export interface FilteredCommandLine {
  args: string[];
  /** Arguments were left out or shortened (see FIELD_BOUNDS). */
  truncated: boolean;
  /** Values replaced by `********`. */
  scrubbed: number;
}

const normalise = (key: string): string => key.toLowerCase().replace(/[-_.]/g, '');

/**
 * Parses a comma-separated list of sensitive words (a flag's or NETTOPO_SCRUB_WORDS' value).
 * @throws ConfigError naming a word that is not letters, digits, `_`, `-` or `.`.
 */
export function parseSensitiveWords(list: string): string[] {
  const words = list
    .split(',')
    .map((w) => w.trim())
    .filter((w) => w.length > 0);
  for (const w of words) {
    if (!/^[A-Za-z0-9_.-]+$/.test(w) || normalise(w).length === 0)
      throw new ConfigError(`sensitive word '${w}' must be letters, digits, '_', '-' or '.'`);
  }
  return words;
}

/**
 * The command-line settings from the environment: NETTOPO_SCRUB_WORDS (comma-separated words
 * added to the defaults) and NETTOPO_SCRUB_CMDLINE=0 (turns scrubbing off).
 */
export function commandLineOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): CommandLineOptions {
  return {
    scrub: env.NETTOPO_SCRUB_CMDLINE !== '0',
    sensitiveWords: parseSensitiveWords(env.NETTOPO_SCRUB_WORDS ?? ''),
  };
}

/** `key=value` / `key: value` at the start of an argument (after its dashes): the rest is the value. */
const LEADING_KEY = /^(-*)([A-Za-z0-9_.-]+?)(\s*[=:]\s*)([\s\S]+)$/;
/** An argument that is only an option name (`--password`, `-token`) or a bare word. */
const KEY_ONLY = /^(-*)([A-Za-z0-9_.-]+)$/;
/** `scheme://user:password@` anywhere. */
const URL_USERINFO = /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/)([^\s:/@]*):([^\s@]*)@/g;
/** A URL at the end of a cut argument whose authority (maybe `user:pass…` or a token) was cut before its end. */
const UNFINISHED_AUTHORITY = /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/)([^\s/@]+)$/;
/**
 * `key=value` inside an argument, after a separator: a query string (`?user=a&password=b`), a list
 * (`a=1,token=b`), words (`sh -c "… PASSWORD=b …"`) or JSON (`{"apiKey": "b"}`).
 */
const EMBEDDED_KEY =
  /(?<=^|[\s?&;,{([])(["']?)([A-Za-z0-9_.-]+)\1(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,(){}[\]"']+)/g;

/**
 * Scrubs and bounds command lines: each argument is cut to `cmdlineArgBytes` and only the first
 * `cmdlineArgs` are kept (so the scrubbing's work is bounded, and every pattern is linear in its
 * input: a process cannot stall the collector with a crafted argument), then scrubbed, then held
 * to `cmdlineBytes` in all (see {@link FIELD_BOUNDS}). A URL cut in its authority is scrubbed there.
 *
 * Scrubbed forms, each case-insensitive, where a key is sensitive when it contains a sensitive
 * word (see {@link DEFAULT_SENSITIVE_WORDS}):
 * - an argument `KEY=VALUE`, `--KEY=VALUE` or `KEY: VALUE`: everything after the separator;
 * - an option `--KEY`/`-KEY` followed by its value (`--password hunter2`), or a bare argument that
 *   is exactly a sensitive word (`login token abc`): the next argument;
 * - `KEY=VALUE` after `?`, `&`, `;`, `,`, a bracket, a quote or a space inside an argument
 *   (query strings, lists, JSON, `sh -c "…"` scripts, whose words are also scrubbed as arguments):
 *   the value up to the next separator;
 * - `scheme://user:password@host` anywhere: the password; a URL cut in its authority: the authority.
 */
export class CommandLineFilter {
  readonly scrubbing: boolean;
  readonly words: readonly string[];
  private readonly sensitive: RegExp;
  private readonly exact: Set<string>;

  constructor(options: CommandLineOptions = {}) {
    this.scrubbing = options.scrub ?? true;
    const extra = parseSensitiveWords((options.sensitiveWords ?? []).join(','));
    this.words = [...new Set([...DEFAULT_SENSITIVE_WORDS, ...extra].map(normalise))];
    this.sensitive = new RegExp(this.words.map((w) => w.replace(/[^a-z0-9]/g, '')).join('|'));
    this.exact = new Set(this.words);
  }

  /**
   * @param args - argv as read
   * @param complete - false when the read stopped before the end (the last argument is partial)
   */
  apply(args: readonly string[], complete = true): FilteredCommandLine {
    const { cmdlineArgs, cmdlineArgBytes } = FIELD_BOUNDS;
    // Cut first, so that the scrubbing's work is bounded whatever a process puts in its arguments
    // (128 of 1 KiB at most); a key still precedes its value, so a cut never hides a key.
    let truncated = !complete || args.length > cmdlineArgs;
    let scrubbed = 0;
    const kept = args.slice(0, cmdlineArgs);
    const input = kept.map((arg, i) => {
      const one = cutUtf8(arg, cmdlineArgBytes);
      truncated ||= one.cut;
      const partial = one.cut || (!complete && i === args.length - 1);
      if (!this.scrubbing || !partial) return one.text;
      const masked = one.text.replace(UNFINISHED_AUTHORITY, `$1${SCRUBBED}`);
      if (masked !== one.text) scrubbed++;
      return masked;
    });
    let out = input;
    if (this.scrubbing) {
      const s = this.scrubList(input);
      out = s.args;
      scrubbed += s.count;
    }
    const bounded = boundCommandLine(out);
    return { args: bounded.args, truncated: truncated || bounded.truncated, scrubbed };
  }

  /** Whether a key (an option name, an environment variable, a JSON key) is sensitive. */
  isSensitive(key: string): boolean {
    return this.sensitive.test(normalise(key));
  }

  private scrubList(args: readonly string[]): { args: string[]; count: number } {
    const out: string[] = [];
    let count = 0;
    let valueNext = false;
    for (const arg of args) {
      if (valueNext && arg.length > 0) {
        valueNext = false;
        out.push(SCRUBBED);
        count++;
        continue;
      }
      // Most arguments hold no sensitive word and no URL password: nothing to look for in them.
      if (!arg.includes('@') && !this.isSensitive(arg)) {
        out.push(arg);
        continue;
      }
      const lead = LEADING_KEY.exec(arg);
      if (lead && this.isSensitive(lead[2] as string)) {
        out.push(`${lead[1]}${lead[2]}${lead[3]}${SCRUBBED}`);
        count++;
        continue;
      }
      const only = KEY_ONLY.exec(arg);
      if (only) {
        const key = only[2] as string;
        valueNext = only[1] ? this.isSensitive(key) : this.exact.has(normalise(key));
        out.push(arg);
        continue;
      }
      const inner = this.scrubInside(arg);
      out.push(inner.text);
      count += inner.count;
    }
    return { args: out, count };
  }

  /** URL passwords and embedded `key=value` pairs of one argument; its words when it has spaces. */
  private scrubInside(arg: string): { text: string; count: number } {
    let count = 0;
    let text = arg;
    if (/\s/.test(text)) {
      const parts = text.split(/(\s+)/);
      const words = this.scrubList(parts.filter((_, i) => i % 2 === 0));
      text = parts.map((p, i) => (i % 2 === 0 ? (words.args[i / 2] as string) : p)).join('');
      count += words.count;
    }
    text = text.replace(URL_USERINFO, (all, scheme: string, user: string, password: string) => {
      if (password === SCRUBBED) return all;
      count++;
      return `${scheme}${user}:${SCRUBBED}@`;
    });
    text = text.replace(EMBEDDED_KEY, (all, quote: string, key: string, sep: string, value: string) => {
      const quoted = value.length >= 2 && (value[0] === '"' || value[0] === "'");
      if ((quoted ? value.slice(1, -1) : value) === SCRUBBED || !this.isSensitive(key)) return all;
      count++;
      const masked = quoted ? `${value[0]}${SCRUBBED}${value[0]}` : SCRUBBED;
      return `${quote}${key}${quote}${sep}${masked}`;
    });
    return { text, count };
  }
}

/**
 * argv cut to the bounds of {@link FIELD_BOUNDS}: the first `cmdlineArgs` arguments, each cut to
 * `cmdlineArgBytes` (at a character boundary), while they fit in `cmdlineBytes` (one byte more
 * per argument, its NUL in /proc).
 */
export function boundCommandLine(args: readonly string[]): { args: string[]; truncated: boolean } {
  const { cmdlineArgs, cmdlineArgBytes, cmdlineBytes } = FIELD_BOUNDS;
  const out: string[] = [];
  let used = 0;
  let truncated = false;
  for (const arg of args) {
    const room = cmdlineBytes - used - 1;
    if (out.length === cmdlineArgs || room < 0) {
      truncated = true;
      break;
    }
    const one = cutUtf8(arg, Math.min(cmdlineArgBytes, room));
    truncated ||= one.cut;
    out.push(one.text);
    used += utf8Length(one.text) + 1;
  }
  return { args: out, truncated };
}

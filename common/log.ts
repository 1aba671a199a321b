import { hostname } from 'node:os';
import pino from 'pino';
import { ConfigError } from './errors';
import { terminalJson, terminalText } from './terminal-text';

/**
 * Structured logs on stderr (stdout stays free for data: JSON lines, tables), through pino.
 *
 * - **Level**: `error`, `warn`, `info` (default), `debug`, `trace` or `silent`, from
 *   {@link configureLogging} (the CLI's `--log-level` or the config file's `log.level`) or
 *   NETTOPO_LOG_LEVEL. An unknown level is a {@link ConfigError}, never silently `info`.
 * - **Format**: `json` — one JSON object per line (`level`, `time`, `component`, `msg`, fields,
 *   `pid`, `hostname`), for log collectors — or `pretty` — `time level [component] msg key=value`,
 *   for people. Default: `pretty` when stderr is a terminal, else `json` (NETTOPO_LOG_FORMAT).
 * - **Terminal safety**: text from hosts in a message can neither act on a terminal nor start a
 *   line of its own, in either format ({@link terminalText}, {@link terminalJson}).
 *
 * Every room logs through {@link createLogger}; loggers made before the configuration changes
 * follow it.
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type LogFormat = 'json' | 'pretty';

export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/** Values attached to a line: numbers, strings, booleans (JSON fields, `key=value` in pretty). */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
}

/** Validates a level; `source` names where it came from (a flag, a variable, a file's key). */
export function parseLogLevel(value: string, source = 'NETTOPO_LOG_LEVEL'): LogLevel {
  const level = value.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new ConfigError(`${source}: '${value}' is not a log level (one of ${LOG_LEVELS.join(', ')})`);
  return level as LogLevel;
}

/** Validates a format; `source` as for {@link parseLogLevel}. */
export function parseLogFormat(value: string, source = 'NETTOPO_LOG_FORMAT'): LogFormat {
  const format = value.trim().toLowerCase();
  if (!(LOG_FORMATS as readonly string[]).includes(format))
    throw new ConfigError(`${source}: '${value}' is not a log format (one of ${LOG_FORMATS.join(', ')})`);
  return format as LogFormat;
}

interface LogSettings {
  level: LogLevel;
  format: LogFormat;
}

/** The settings from NETTOPO_LOG_LEVEL / NETTOPO_LOG_FORMAT; throws ConfigError on a bad value. */
export function logSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): LogSettings {
  return {
    level: env.NETTOPO_LOG_LEVEL ? parseLogLevel(env.NETTOPO_LOG_LEVEL) : 'info',
    format: env.NETTOPO_LOG_FORMAT
      ? parseLogFormat(env.NETTOPO_LOG_FORMAT)
      : process.stderr.isTTY
        ? 'pretty'
        : 'json',
  };
}

/** A pino destination writing through process.stderr (synchronous for files, pipes and TTYs on Linux). */
function stderrDestination(format: LogFormat): { write(line: string): void } {
  if (format === 'json') return { write: (line) => void process.stderr.write(line) };
  return { write: (line) => void process.stderr.write(prettyLine(line)) };
}

const PRETTY_SKIP = new Set(['level', 'time', 'component', 'msg', 'pid', 'hostname']);

/** One pino JSON line as `time level [component] msg key=value…`. */
function prettyLine(json: string): string {
  const entry = JSON.parse(json) as Record<string, unknown>;
  const fields = Object.entries(entry)
    .filter(([k, v]) => !PRETTY_SKIP.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const text = `${String(entry.msg ?? '')}${fields ? ` ${fields}` : ''}`;
  return `${String(entry.time)} ${String(entry.level).padEnd(5)} [${String(entry.component)}] ${terminalText(text)}\n`;
}

let settings: LogSettings | undefined;
let root: pino.Logger | undefined;
const children = new Map<string, pino.Logger>();

function build(s: LogSettings): pino.Logger {
  return pino(
    {
      level: s.level,
      base: { pid: process.pid, hostname: hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      // Text from hosts: JSON keeps the same value with what a terminal acts on as \u escapes.
      hooks: {
        streamWrite: (line) => (s.format === 'json' ? terminalJsonLine(line) : line),
      },
    },
    stderrDestination(s.format),
  );
}

/** The characters JSON leaves raw that a terminal acts on (see terminal-text.ts). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

function terminalJsonLine(line: string): string {
  return UNSAFE_IN_JSON.test(line) ? `${terminalJson(JSON.parse(line))}\n` : line;
}

function current(component: string): pino.Logger {
  if (!root) {
    settings ??= logSettingsFromEnv();
    root = build(settings);
    children.clear();
  }
  let child = children.get(component);
  if (!child) {
    child = root.child({ component });
    children.set(component, child);
  }
  return child;
}

/**
 * Sets the level and format of every logger (made before or after). Unset parts keep the
 * environment's (NETTOPO_LOG_LEVEL / NETTOPO_LOG_FORMAT). The values are also put into the
 * environment, so worker threads and child processes log the same way.
 */
export function configureLogging(options: { level?: LogLevel; format?: LogFormat } = {}): void {
  const fromEnv = logSettingsFromEnv();
  settings = { level: options.level ?? fromEnv.level, format: options.format ?? fromEnv.format };
  process.env.NETTOPO_LOG_LEVEL = settings.level;
  process.env.NETTOPO_LOG_FORMAT = settings.format;
  root = undefined;
}

/** The level and format in force. */
export function loggingSettings(): LogSettings {
  settings ??= logSettingsFromEnv();
  return { ...settings };
}

export function createLogger(component: string): Logger {
  const write =
    (level: 'error' | 'warn' | 'info' | 'debug') =>
    (msg: string, fields?: LogFields): void => {
      const log = current(component);
      if (fields) log[level](fields, msg);
      else log[level](msg);
    };
  return {
    error: write('error'),
    warn: write('warn'),
    info: write('info'),
    debug: write('debug'),
  };
}

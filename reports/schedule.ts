import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { parseDuration } from '../common/duration';
import { ConfigError } from '../common/errors';
import { bucketStart } from '../graph-schema/history';
import type { TimeWindow } from './report-model';
import { thresholdsOf, type Thresholds } from './thresholds';

/** One scheduled report: what to compare, how often, and how hard to try. */
export interface ReportSchedule {
  /** Unique; names the job scheduler in Redis and the reports it makes. */
  name: string;
  level: string;
  /** Interval between runs, ms (or `cron`). */
  every: number | null;
  /** Cron pattern (with seconds optional), e.g. `0 6 * * *` (or `every`). */
  cron: string | null;
  /** Cron time zone. @defaultValue UTC */
  tz: string | null;
  /** Length of each window, ms (rounded up to whole history buckets). */
  window: number;
  /** How far back the earlier window lies from the later one, ms. @defaultValue the window length (the window right before) */
  baselineOffset: number;
  /** Time left for the ingest to catch up before a window is read, ms. @defaultValue 60 s */
  delay: number;
  /** Only edges with an end on these hosts (host ids). @defaultValue all */
  hosts: string[];
  thresholds: Thresholds;
  /** Tries before a run is left failed. @defaultValue 5 */
  attempts: number;
  /** First back-off between tries, ms; doubles each time. @defaultValue 30 s */
  backoff: number;
}

/** The whole configuration of `nettopo reports run`. */
export interface ReportsConfig {
  /** Where report files go. @defaultValue `./nettopo-reports` */
  outputDir: string;
  /** Prefix of the change topic. @defaultValue `''` */
  topicPrefix: string;
  /** The ingest's consumer group (its lag marks a window partial). @defaultValue `nettopo-ingest` */
  ingestGroup: string;
  /** A collector whose last heartbeat is older than this marks a window partial. @defaultValue 60 s */
  collectorSilence: number;
  schedules: ReportSchedule[];
}

const SCHEDULE_KEYS = new Set([
  'name',
  'level',
  'every',
  'cron',
  'tz',
  'window',
  'baselineOffset',
  'delay',
  'hosts',
  'thresholds',
  'attempts',
  'backoff',
]);

function duration(v: unknown, what: string, fallback?: number): number {
  if (v === undefined || v === null) {
    if (fallback === undefined) throw new ConfigError(`${what} is required`);
    return fallback;
  }
  if (typeof v !== 'string' && typeof v !== 'number')
    throw new ConfigError(`${what} must be a duration such as 10m`);
  return parseDuration(v, what);
}

/** One schedule from its YAML/JSON object; every mistake is a {@link ConfigError} naming it. */
export function scheduleOf(raw: unknown, where = 'schedule'): ReportSchedule {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(`${where} must be a mapping`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!SCHEDULE_KEYS.has(k))
      throw new ConfigError(`${where}: unknown key '${k}' (known: ${[...SCHEDULE_KEYS].join(', ')})`);
  if (typeof o.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(o.name))
    throw new ConfigError(`${where}: name must be letters, digits, '_', '.', '-'`);
  const at = `schedule ${o.name}`;
  if (typeof o.level !== 'string' || o.level === '')
    throw new ConfigError(`${at}: level is required (process, container, pod, host, …)`);
  if ((o.every === undefined) === (o.cron === undefined))
    throw new ConfigError(`${at}: give exactly one of every and cron`);
  if (o.cron !== undefined && typeof o.cron !== 'string')
    throw new ConfigError(`${at}: cron must be a pattern such as '0 6 * * *'`);
  const window = duration(o.window, `${at}: window`);
  if (window <= 0) throw new ConfigError(`${at}: window must be longer than 0`);
  const every = o.every === undefined ? null : duration(o.every, `${at}: every`);
  if (every !== null && every < 1000) throw new ConfigError(`${at}: every must be at least 1s`);
  const attempts = o.attempts ?? 5;
  if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 1)
    throw new ConfigError(`${at}: attempts must be a whole number ≥ 1`);
  const hosts = o.hosts ?? [];
  if (!Array.isArray(hosts) || hosts.some((h) => typeof h !== 'string'))
    throw new ConfigError(`${at}: hosts must be a list of host ids`);
  if (o.thresholds !== undefined && (typeof o.thresholds !== 'object' || o.thresholds === null))
    throw new ConfigError(`${at}: thresholds must be a mapping`);
  return {
    name: o.name,
    level: o.level,
    every,
    cron: (o.cron as string | undefined) ?? null,
    tz: typeof o.tz === 'string' ? o.tz : null,
    window,
    baselineOffset: duration(o.baselineOffset, `${at}: baselineOffset`, window),
    delay: duration(o.delay, `${at}: delay`, 60_000),
    hosts: hosts as string[],
    thresholds: thresholdsOf(
      (o.thresholds as Record<string, unknown> | undefined) ?? {},
      `${at}: thresholds`,
    ),
    attempts,
    backoff: duration(o.backoff, `${at}: backoff`, 30_000),
  };
}

/** Reads a reports configuration (YAML or JSON); relative paths are relative to the file. */
export function loadReportsConfig(path: string): ReportsConfig {
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message}`, { cause: err });
  }
  return reportsConfigOf(raw, resolve(path, '..'), path);
}

/** A configuration from its parsed object. */
export function reportsConfigOf(
  raw: unknown,
  baseDir = process.cwd(),
  where = 'reports config',
): ReportsConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(`${where} must be a mapping`);
  const o = raw as Record<string, unknown>;
  const known = new Set(['outputDir', 'topicPrefix', 'ingestGroup', 'collectorSilence', 'schedules']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new ConfigError(`${where}: unknown key '${k}'`);
  if (!Array.isArray(o.schedules) || o.schedules.length === 0)
    throw new ConfigError(`${where}: schedules must list at least one schedule`);
  const schedules = o.schedules.map((s, i) => scheduleOf(s, `${where}: schedules[${i}]`));
  const names = new Set<string>();
  for (const s of schedules) {
    if (names.has(s.name)) throw new ConfigError(`${where}: two schedules are named ${s.name}`);
    names.add(s.name);
  }
  return {
    outputDir: resolve(baseDir, typeof o.outputDir === 'string' ? o.outputDir : 'nettopo-reports'),
    topicPrefix: typeof o.topicPrefix === 'string' ? o.topicPrefix : '',
    ingestGroup: typeof o.ingestGroup === 'string' ? o.ingestGroup : 'nettopo-ingest',
    collectorSilence: duration(o.collectorSilence, `${where}: collectorSilence`, 60_000),
    schedules,
  };
}

/** Rounds a length up to whole buckets (at least one). */
function wholeBuckets(ms: number, bucketMs: number): number {
  return Math.max(1, Math.ceil(ms / bucketMs)) * bucketMs;
}

/**
 * The two windows a schedule compares when it fires at `firedAt`: the later one ends at the last
 * bucket boundary at least `delay` before, and both are whole buckets of the history.
 */
export function windowsAt(
  s: ReportSchedule,
  firedAt: number,
  bucketMs: number,
): { before: TimeWindow; after: TimeWindow } {
  const length = wholeBuckets(s.window, bucketMs);
  const offset = wholeBuckets(s.baselineOffset, bucketMs);
  const end = bucketStart(firedAt - s.delay, bucketMs);
  const after = { from: end - length, to: end };
  return { before: { from: after.from - offset, to: after.to - offset }, after };
}

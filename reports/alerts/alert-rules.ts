import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseDuration } from '../../common/duration';
import { ConfigError } from '../../common/errors';
import type { TopologyChangeV1 } from '../../contract';

/** A value or any of a list. */
type OneOrMany<T> = T | T[];

/** What a rule matches; every condition given must hold (see reports/README.md, "Alerts"). */
export interface RuleMatch {
  /** Change kinds, with `-` or `_`: `edge-appeared`, `external-endpoint-appeared`, … */
  kind?: OneOrMany<string>;
  level?: OneOrMany<string>;
  port?: OneOrMany<number>;
  fromLabel?: OneOrMany<string>;
  toLabel?: OneOrMany<string>;
  /** Kubernetes namespace of the client end (or of the node, for node changes). */
  fromNamespace?: OneOrMany<string>;
  toNamespace?: OneOrMany<string>;
  /** `namespace/kind/name` of the client's workload; `*` for any workload. */
  fromWorkload?: OneOrMany<string>;
  toWorkload?: OneOrMany<string>;
  fromHost?: OneOrMany<string>;
  toHost?: OneOrMany<string>;
  /** A rate of the edge in the later window: `trafficBytesPerMin`, `connectionsPerMin`, `failedConnectPct`, `retransmitPct`, `connectLatencyUs`. */
  metric?: string;
  /** The metric is above this. */
  above?: number;
  /** The metric is below this. */
  below?: number;
}

export interface AlertRule {
  name: string;
  when: RuleMatch;
}

/** Where and how matches are delivered. */
export interface AlertDelivery {
  /** POST each alert here as JSON; none: print only. */
  webhookUrl: string | null;
  /** Extra request headers (e.g. a token from the environment: `${ENV_NAME}` is replaced). */
  headers: Record<string, string>;
  /** Tries before an alert goes to the dead-letter topic. @defaultValue 5 */
  attempts: number;
  /** First back-off, ms; doubles each try. @defaultValue 1 s */
  backoffMs: number;
  /** Longest back-off, ms. @defaultValue 30 s */
  maxBackoffMs: number;
  /** Per request, ms. @defaultValue 5 s */
  timeoutMs: number;
  /** Print each alert as a JSON line on stdout. @defaultValue true */
  print: boolean;
}

export interface AlertsConfig {
  rules: AlertRule[];
  delivery: AlertDelivery;
}

const MATCH_KEYS = new Set([
  'kind',
  'level',
  'port',
  'fromLabel',
  'toLabel',
  'fromNamespace',
  'toNamespace',
  'fromWorkload',
  'toWorkload',
  'fromHost',
  'toHost',
  'metric',
  'above',
  'below',
]);
const METRICS = new Set([
  'trafficBytesPerMin',
  'connectionsPerMin',
  'failedConnectPct',
  'retransmitPct',
  'connectLatencyUs',
]);

function list<T>(v: OneOrMany<T> | undefined): T[] | undefined {
  return v === undefined ? undefined : Array.isArray(v) ? v : [v];
}

function env(text: string): string {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    const v = process.env[name];
    if (v === undefined) throw new ConfigError(`alerts: header uses \${${name}}, which is not set`);
    return v;
  });
}

/** An alerts configuration from its parsed YAML; every mistake is a {@link ConfigError} naming it. */
export function alertsConfigOf(raw: unknown, where = 'alerts config'): AlertsConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(`${where} must be a mapping`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!['rules', 'webhook', 'print'].includes(k))
      throw new ConfigError(`${where}: unknown key '${k}' (rules, webhook, print)`);
  if (!Array.isArray(o.rules) || o.rules.length === 0)
    throw new ConfigError(`${where}: rules must list at least one rule`);
  const rules = o.rules.map((r, i): AlertRule => {
    const at = `${where}: rules[${i}]`;
    if (r === null || typeof r !== 'object') throw new ConfigError(`${at} must be a mapping`);
    const { name, when } = r as { name?: unknown; when?: unknown };
    if (typeof name !== 'string' || name === '') throw new ConfigError(`${at}: name is required`);
    if (when === null || typeof when !== 'object' || Array.isArray(when))
      throw new ConfigError(`${at} (${name}): when must be a mapping`);
    for (const k of Object.keys(when))
      if (!MATCH_KEYS.has(k))
        throw new ConfigError(
          `${at} (${name}): unknown condition '${k}' (known: ${[...MATCH_KEYS].join(', ')})`,
        );
    const m = when as RuleMatch;
    if ((m.above !== undefined || m.below !== undefined) && m.metric === undefined)
      throw new ConfigError(`${at} (${name}): above/below need a metric`);
    if (m.metric !== undefined && !METRICS.has(m.metric))
      throw new ConfigError(
        `${at} (${name}): unknown metric '${m.metric}' (known: ${[...METRICS].join(', ')})`,
      );
    return { name, when: m };
  });
  const w = (o.webhook ?? null) as Record<string, unknown> | null;
  if (w !== null && (typeof w !== 'object' || typeof w.url !== 'string'))
    throw new ConfigError(`${where}: webhook needs a url`);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((w?.headers as Record<string, unknown> | undefined) ?? {}))
    headers[k] = env(String(v));
  const ms = (v: unknown, what: string, fallback: number): number =>
    v === undefined ? fallback : parseDuration(v as string | number, `${where}: webhook.${what}`);
  const attempts = (w?.attempts as number | undefined) ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new ConfigError(`${where}: webhook.attempts must be a whole number ≥ 1`);
  return {
    rules,
    delivery: {
      webhookUrl: (w?.url as string | undefined) ?? null,
      headers,
      attempts,
      backoffMs: ms(w?.backoff, 'backoff', 1000),
      maxBackoffMs: ms(w?.maxBackoff, 'maxBackoff', 30_000),
      timeoutMs: ms(w?.timeout, 'timeout', 5000),
      print: o.print === undefined ? true : o.print === true,
    },
  };
}

/** Reads an alerts configuration file (YAML or JSON). */
export function loadAlertsConfig(path: string): AlertsConfig {
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message}`, { cause: err });
  }
  return alertsConfigOf(raw, path);
}

/** The rates of a change's later figures (what `metric` conditions compare), as the reports compute them. */
export function laterMetrics(c: TopologyChangeV1): Record<string, number | null> {
  const reported = Object.fromEntries(c.metrics.map((m) => [m.metric, m.after]));
  const f = c.after;
  if (!f) return reported;
  const minutes = Math.max(c.windowAfter.to - c.windowAfter.from, 1) / 60_000;
  const bytes = f.bytesToServer + f.bytesToClient;
  const attempts = f.connections + f.failedConnects;
  const segments = Math.ceil(bytes / 1448) + 3 * f.connections;
  return {
    trafficBytesPerMin: bytes / minutes,
    connectionsPerMin: f.connections / minutes,
    failedConnectPct: attempts > 0 ? (100 * f.failedConnects) / attempts : null,
    retransmitPct: segments > 0 ? (100 * f.retransmits) / segments : null,
    connectLatencyUs: f.connectLatencyCount > 0 ? f.connectLatencyUsSum / f.connectLatencyCount : null,
    ...reported,
  };
}

function textMatches(wanted: string[] | undefined, value: string | null | undefined): boolean {
  if (!wanted) return true;
  if (value === null || value === undefined) return false;
  return wanted.some((w) =>
    w === '*' ? true : w.endsWith('*') ? value.startsWith(w.slice(0, -1)) : w === value,
  );
}

/** Whether a change matches a rule. */
export function matches(rule: AlertRule, c: TopologyChangeV1): boolean {
  const m = rule.when;
  const kinds = list(m.kind)?.map((k) => k.replace(/-/g, '_'));
  if (kinds && !kinds.includes(c.kind)) return false;
  if (!textMatches(list(m.level), c.level)) return false;
  const ports = list(m.port);
  if (ports && (c.port === null || !ports.includes(c.port))) return false;
  if (!textMatches(list(m.fromLabel), c.from?.label)) return false;
  if (!textMatches(list(m.toLabel), c.to?.label)) return false;
  if (!textMatches(list(m.fromNamespace), c.from?.namespace)) return false;
  if (!textMatches(list(m.toNamespace), c.to?.namespace)) return false;
  if (
    !textMatches(list(m.fromWorkload), c.from?.workload ?? (c.from?.label === 'Workload' ? c.from.key : null))
  )
    return false;
  if (!textMatches(list(m.toWorkload), c.to?.workload ?? (c.to?.label === 'Workload' ? c.to.key : null)))
    return false;
  if (!textMatches(list(m.fromHost), c.from?.hostId)) return false;
  if (!textMatches(list(m.toHost), c.to?.hostId)) return false;
  if (m.metric !== undefined) {
    const v = laterMetrics(c)[m.metric];
    if (v === null || v === undefined) return false;
    if (m.above !== undefined && !(v > m.above)) return false;
    if (m.below !== undefined && !(v < m.below)) return false;
  }
  return true;
}

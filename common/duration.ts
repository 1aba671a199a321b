import { ConfigError } from './errors';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration as people write it — `500ms`, `10s`, `5m`, `1h30m`, `7d` — in ms. A bare number is
 * seconds. Anything else is a {@link ConfigError} naming `what`.
 */
export function parseDuration(text: string | number, what = 'duration'): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new ConfigError(`${what} must be ≥ 0, got ${text}`);
    return text * 1000;
  }
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== s)
    throw new ConfigError(`${what}: '${text}' is not a duration (e.g. 30s, 5m, 1h30m, 7d)`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]], 0);
}

/** A duration in ms written back shortly: `1h30m`, `10s`, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

/**
 * A point in time as people write it, in ms since the epoch: `now`, `now-1h` or `-1h` (that long
 * ago), an ISO date (`2026-11-24T06:00:00Z`, `2026-11-24`), or epoch milliseconds.
 */
export function parseTime(text: string, now = Date.now(), what = 'time'): number {
  const s = text.trim();
  if (s === 'now') return now;
  const ago = /^(?:now)?-(.+)$/.exec(s);
  if (ago) return now - parseDuration(ago[1], what);
  if (/^\d{12,}$/.test(s)) return Number(s);
  const t = Date.parse(s);
  if (Number.isNaN(t))
    throw new ConfigError(`${what}: '${text}' is not a time (now, -1h, an ISO date or epoch ms)`);
  return t;
}

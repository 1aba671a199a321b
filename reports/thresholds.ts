import { ConfigError } from '../common/errors';
import type { EdgeFigures, EdgeMetrics, MetricChange, TimeWindow } from './report-model';

/**
 * When an edge present in both windows counts as changed. Rates are per window length, so windows
 * of different lengths compare fairly. A ratio threshold needs its absolute floor too, so that
 * noise on tiny figures (3 bytes → 9 bytes) is not a change.
 */
export interface Thresholds {
  /** Traffic changed by this factor or more (either way). @defaultValue 2 */
  trafficFactor: number;
  /** … and by at least this many bytes per minute. @defaultValue 65536 */
  trafficMinBytesPerMin: number;
  /** Connection rate changed by this factor or more. @defaultValue 2 */
  connectionRateFactor: number;
  /** … and by at least this many connections per minute. @defaultValue 1 */
  connectionRateMinPerMin: number;
  /** Failed connects per 100 attempts moved by this many points or more. @defaultValue 5 */
  failedConnectPoints: number;
  /** Attempts a window needs before its failed-connect rate counts. @defaultValue 10 */
  failedConnectMinAttempts: number;
  /** Retransmits per 100 segments moved by this many points or more. @defaultValue 1 */
  retransmitPoints: number;
  /** Segments a window needs before its retransmit rate counts. @defaultValue 100 */
  retransmitMinSegments: number;
  /** Mean connect latency changed by this factor or more. @defaultValue 2 */
  connectLatencyFactor: number;
  /** … and by at least this many µs. @defaultValue 1000 */
  connectLatencyMinUs: number;
}

export const DEFAULT_THRESHOLDS: Readonly<Thresholds> = {
  trafficFactor: 2,
  trafficMinBytesPerMin: 65_536,
  connectionRateFactor: 2,
  connectionRateMinPerMin: 1,
  failedConnectPoints: 5,
  failedConnectMinAttempts: 10,
  retransmitPoints: 1,
  retransmitMinSegments: 100,
  connectLatencyFactor: 2,
  connectLatencyMinUs: 1000,
};

/** Defaults overridden by `partial`; unknown names and bad values are a {@link ConfigError}. */
export function thresholdsOf(partial: Record<string, unknown> = {}, where = 'thresholds'): Thresholds {
  const out: Thresholds = { ...DEFAULT_THRESHOLDS };
  for (const [name, value] of Object.entries(partial)) {
    if (!(name in DEFAULT_THRESHOLDS))
      throw new ConfigError(
        `${where}: unknown threshold '${name}' (known: ${Object.keys(DEFAULT_THRESHOLDS).join(', ')})`,
      );
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      throw new ConfigError(`${where}: ${name} must be a number ≥ 0, got ${JSON.stringify(value)}`);
    if (name.endsWith('Factor') && value < 1)
      throw new ConfigError(`${where}: ${name} is a factor and must be ≥ 1, got ${value}`);
    out[name as keyof Thresholds] = value;
  }
  return out;
}

/** The usual maximum segment size: data segments are estimated as payload bytes ÷ this. */
const MSS = 1448;

/** The rates of an edge's figures over a window. */
export function metricsOf(f: EdgeFigures, window: TimeWindow, t: Thresholds): EdgeMetrics {
  const minutes = Math.max(window.to - window.from, 1) / 60_000;
  const bytes = f.bytesToServer + f.bytesToClient;
  const attempts = f.connections + f.failedConnects;
  // Each connection also sends a SYN, its ACK and a FIN at least; payload segments are bytes ÷ MSS.
  const segments = Math.ceil(bytes / MSS) + 3 * f.connections;
  return {
    trafficBytesPerMin: bytes / minutes,
    connectionsPerMin: f.connections / minutes,
    failedConnectPct: attempts >= t.failedConnectMinAttempts ? (100 * f.failedConnects) / attempts : null,
    retransmitPct: segments >= t.retransmitMinSegments ? (100 * f.retransmits) / segments : null,
    connectLatencyUs: f.connectLatencyCount > 0 ? f.connectLatencyUsSum / f.connectLatencyCount : null,
  };
}

function byFactor(before: number, after: number, factor: number, floor: number): boolean {
  if (Math.abs(after - before) < floor) return false;
  const lo = Math.min(before, after);
  const hi = Math.max(before, after);
  return lo === 0 ? hi > 0 : hi / lo >= factor;
}

/** The metrics that moved beyond their thresholds between two windows (empty: unchanged). */
export function changedMetrics(before: EdgeMetrics, after: EdgeMetrics, t: Thresholds): MetricChange[] {
  const out: MetricChange[] = [];
  if (byFactor(before.trafficBytesPerMin, after.trafficBytesPerMin, t.trafficFactor, t.trafficMinBytesPerMin))
    out.push({
      metric: 'trafficBytesPerMin',
      before: before.trafficBytesPerMin,
      after: after.trafficBytesPerMin,
    });
  if (
    byFactor(
      before.connectionsPerMin,
      after.connectionsPerMin,
      t.connectionRateFactor,
      t.connectionRateMinPerMin,
    )
  )
    out.push({
      metric: 'connectionsPerMin',
      before: before.connectionsPerMin,
      after: after.connectionsPerMin,
    });
  if (
    before.failedConnectPct !== null &&
    after.failedConnectPct !== null &&
    Math.abs(after.failedConnectPct - before.failedConnectPct) >= t.failedConnectPoints
  )
    out.push({ metric: 'failedConnectPct', before: before.failedConnectPct, after: after.failedConnectPct });
  if (
    before.retransmitPct !== null &&
    after.retransmitPct !== null &&
    Math.abs(after.retransmitPct - before.retransmitPct) >= t.retransmitPoints
  )
    out.push({ metric: 'retransmitPct', before: before.retransmitPct, after: after.retransmitPct });
  if (
    before.connectLatencyUs !== null &&
    after.connectLatencyUs !== null &&
    byFactor(before.connectLatencyUs, after.connectLatencyUs, t.connectLatencyFactor, t.connectLatencyMinUs)
  )
    out.push({ metric: 'connectLatencyUs', before: before.connectLatencyUs, after: after.connectLatencyUs });
  return out;
}

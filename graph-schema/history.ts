/**
 * The topology history's model, shared by the ingest (which records it) and the reports (which
 * read it): the bucket arithmetic, the identity of an edge, the settings node and the Cypher that
 * asks what the topology was at a time or over a window. graph-schema/README.md ("History")
 * documents the model; its queries are these, run by the README test.
 */

/** Node label → the property that keys it (every label an edge end may have, at any level). */
export const NODE_KEY_PROPERTY: Readonly<Record<string, string>> = {
  Process: 'key',
  Container: 'containerId',
  Pod: 'uid',
  Host: 'hostId',
  ExternalEndpoint: 'ip',
  Workload: 'key',
  Service: 'key',
};

/**
 * The levels at which `CONNECTS_TO` is materialised today. The history and the reports take the
 * level as a parameter (any string an edge carries), so a level added by the ingest (workload,
 * service) is recorded and reported without a change here; this list only feeds help texts.
 */
export const KNOWN_LEVELS = ['process', 'container', 'pod', 'host', 'workload', 'service'] as const;

/** The figures an `EdgeBucket` sums (besides `openStart`/`open`, which are levels, not sums). */
export const BUCKET_FIGURES = [
  'connections',
  'failedConnects',
  'bytesToServer',
  'bytesToClient',
  'retransmits',
  'connectLatencyUsSum',
  'connectLatencyCount',
] as const;

/** History settings as the ingest records them on `(:HistorySettings {id: 'nettopo'})`. */
export interface HistorySettings {
  /** Bucket size, ms. */
  bucketMs: number;
  /** How long buckets are kept, ms. */
  retentionMs: number;
  /** When history was first recorded (ms): earlier windows have none. */
  since: number;
}

/** @defaultValue 5 minutes */
export const DEFAULT_BUCKET_MS = 5 * 60_000;
/** @defaultValue 7 days */
export const DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000;

/** The start of the bucket holding `t` (ms since the epoch). */
export function bucketStart(t: number, bucketMs: number): number {
  return Math.floor(t / bucketMs) * bucketMs;
}

/** The fields that identify one `CONNECTS_TO` (and so its history). */
export interface EdgeIdentity {
  level: string;
  fromLabel: string;
  fromKey: string;
  toLabel: string;
  toKey: string;
  port: number;
  protocol: string;
}

/** The history's id of an edge: `level|fromLabel|fromKey|toLabel|toKey|port|protocol`. */
export function edgeId(e: EdgeIdentity): string {
  return `${e.level}|${e.fromLabel}|${e.fromKey}|${e.toLabel}|${e.toKey}|${e.port}|${e.protocol}`;
}

export const READ_HISTORY_SETTINGS = `
MATCH (s:HistorySettings {id: 'nettopo'})
RETURN s.bucketMs AS bucketMs, s.retentionMs AS retentionMs, s.since AS since`;

/**
 * Every edge of a level present in the window [$from, $to) (ms), with its figures summed over
 * the window: the buckets that start in the window, plus the edges whose connections stayed
 * open, idle, since a bucket before it (they have no bucket of their own in the window). An edge
 * is present when, over the window, it established or failed a connection, moved bytes, or had
 * a connection open; a bucket holding only a correction (a connection moved to a better-resolved
 * edge later) adds negative figures and makes nothing present by itself.
 * Parameters: `$level`, `$from`, `$to`.
 */
export const WINDOW_EDGES = `
CALL {
  MATCH (b:EdgeBucket)
  WHERE b.level = $level AND b.start >= $from AND b.start < $to
  RETURN b.edge AS edge, b.fromLabel AS fromLabel, b.fromKey AS fromKey, b.toLabel AS toLabel,
         b.toKey AS toKey, b.port AS port, b.protocol AS protocol,
         b.connections AS connections, b.failedConnects AS failedConnects,
         b.bytesToServer AS bytesToServer, b.bytesToClient AS bytesToClient,
         b.retransmits AS retransmits, b.connectLatencyUsSum AS connectLatencyUsSum,
         b.connectLatencyCount AS connectLatencyCount, b.start AS start, b.open AS open,
         CASE WHEN b.openStart > b.open THEN b.openStart ELSE b.open END AS maxOpen
  UNION ALL
  MATCH (h:EdgeHistory)
  WHERE h.open > 0 AND h.lastStart < $from AND h.level = $level
  RETURN h.key AS edge, h.fromLabel AS fromLabel, h.fromKey AS fromKey, h.toLabel AS toLabel,
         h.toKey AS toKey, h.port AS port, h.protocol AS protocol,
         0 AS connections, 0 AS failedConnects, 0 AS bytesToServer, 0 AS bytesToClient,
         0 AS retransmits, 0 AS connectLatencyUsSum, 0 AS connectLatencyCount,
         h.lastStart AS start, h.open AS open, h.open AS maxOpen
}
WITH edge, fromLabel, fromKey, toLabel, toKey, port, protocol,
     sum(connections) AS connections, sum(failedConnects) AS failedConnects,
     sum(bytesToServer) AS bytesToServer, sum(bytesToClient) AS bytesToClient,
     sum(retransmits) AS retransmits, sum(connectLatencyUsSum) AS connectLatencyUsSum,
     sum(connectLatencyCount) AS connectLatencyCount, max(maxOpen) AS maxOpen,
     reduce(last = [-1, 0], x IN collect([start, open]) | CASE WHEN x[0] > last[0] THEN x ELSE last END) AS last
WHERE connections + failedConnects > 0 OR bytesToServer + bytesToClient > 0 OR maxOpen > 0
RETURN edge, fromLabel, fromKey, toLabel, toKey, port, protocol, connections, failedConnects,
       bytesToServer, bytesToClient, retransmits, connectLatencyUsSum, connectLatencyCount,
       last[1] AS open`;

/**
 * The rows {@link WINDOW_EDGES} sums, unsummed: one per bucket of the window (and one per edge
 * open and idle through it), with only the edge id and the figures — the reports parse the id
 * ({@link parseEdgeId}) and sum in the client, which measured about twice as fast as summing in
 * Cypher on 100,000 edges (bench/reports-diff.ts). Parameters: `$level`, `$from`, `$to`.
 */
export const WINDOW_EDGE_ROWS = `
MATCH (b:EdgeBucket)
WHERE b.level = $level AND b.start >= $from AND b.start < $to
RETURN b.edge AS edge, b.connections AS connections, b.failedConnects AS failedConnects,
       b.bytesToServer AS bytesToServer, b.bytesToClient AS bytesToClient, b.retransmits AS retransmits,
       b.connectLatencyUsSum AS connectLatencyUsSum, b.connectLatencyCount AS connectLatencyCount,
       b.start AS start, b.open AS open, b.openStart AS openStart
UNION ALL
MATCH (h:EdgeHistory)
WHERE h.open > 0 AND h.lastStart < $from AND h.level = $level
RETURN h.key AS edge, 0 AS connections, 0 AS failedConnects, 0 AS bytesToServer, 0 AS bytesToClient,
       0 AS retransmits, 0 AS connectLatencyUsSum, 0 AS connectLatencyCount, h.lastStart AS start,
       h.open AS open, h.open AS openStart`;

/** The parts of an edge id made by {@link edgeId} (keys never hold a `|`). */
export function parseEdgeId(id: string): EdgeIdentity {
  const p = id.split('|');
  if (p.length !== 7) throw new Error(`not an edge id: ${id}`);
  return {
    level: p[0],
    fromLabel: p[1],
    fromKey: p[2],
    toLabel: p[3],
    toKey: p[4],
    port: Number(p[5]),
    protocol: p[6],
  };
}

/**
 * Listening periods that overlap the window [$from, $to) (ms): one row per period, with its
 * host, namespace, address, port and process. Parameters: `$from`, `$to`.
 */
export const WINDOW_LISTENERS = `
MATCH (p:ListenPeriod)
WHERE p.from < $to AND (p.to IS NULL OR p.to >= $from)
RETURN p.listener AS listener, p.hostId AS hostId, p.netns AS netns, p.addr AS addr, p.port AS port,
       p.processKey AS processKey, p.from AS since, p.to AS until`;

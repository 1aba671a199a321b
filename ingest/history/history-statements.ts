/**
 * The Cypher of the topology history (graph-schema/README.md, "History"). Like the ingest's other
 * statements, each takes its rows in a map parameter (`$batch`), so one plan serves every size.
 */
import { BUCKET_FIGURES } from '../../graph-schema/history';

/** The identity and empty figures of a new `EdgeBucket` `alias` starting at `start` (a Cypher expression). */
function newBucket(alias: string, start: string, openStart: string): string {
  return `${alias}.edge = e.edge, ${alias}.level = e.level, ${alias}.fromLabel = e.fromLabel,
                ${alias}.fromKey = e.fromKey, ${alias}.toLabel = e.toLabel, ${alias}.toKey = e.toKey,
                ${alias}.port = e.port, ${alias}.protocol = e.protocol,
                ${alias}.start = ${start}, ${alias}.end = ${start} + $batch.size,
                ${BUCKET_FIGURES.map((f) => `${alias}.${f} = 0`).join(', ')},
                ${alias}.openStart = ${openStart}, ${alias}.open = ${openStart}`;
}

/**
 * Adds a transaction's edge deltas to the history. Per delta (one per edge, in edge order):
 * 1. its `EdgeHistory` (the edge's open connections now and the start of its newest bucket);
 * 2. when the edge had open connections and buckets passed since its newest one, a bucket for
 *    each of them (open, idle: the gauge did not change, or a delta would have made a bucket);
 * 3. when the delta is late (its bucket is older than the newest) and changes the open count,
 *    that change in every later bucket up to the newest (made when missing, removed when left
 *    with nothing);
 * 4. the delta's figures in its own bucket, and the gauge.
 */
export const RECORD_EDGE_DELTAS = `
UNWIND $batch.rows AS e
MERGE (h:EdgeHistory {key: e.edge})
  ON CREATE SET h.level = e.level, h.fromLabel = e.fromLabel, h.fromKey = e.fromKey,
                h.toLabel = e.toLabel, h.toKey = e.toKey, h.port = e.port, h.protocol = e.protocol,
                h.open = 0, h.lastStart = e.start, h.firstStart = e.start
WITH e, h, h.lastStart AS last, CASE WHEN h.open > 0 THEN h.open ELSE 0 END AS openBefore
CALL {
  WITH e, last, openBefore
  WITH e, last, openBefore WHERE openBefore > 0 AND last + $batch.size < e.start
  UNWIND range(CASE WHEN last + $batch.size > $batch.keepFrom THEN last + $batch.size ELSE $batch.keepFrom END,
               e.start - $batch.size, $batch.size) AS s
  MERGE (g:EdgeBucket {key: e.edge + '|' + toString(s)})
    ON CREATE SET ${newBucket('g', 's', 'openBefore')}
}
CALL {
  WITH e, last
  WITH e, last WHERE e.open <> 0 AND e.start < last
  UNWIND range(e.start + $batch.size, last, $batch.size) AS s
  MERGE (g:EdgeBucket {key: e.edge + '|' + toString(s)})
    ON CREATE SET ${newBucket('g', 's', '0')}
  SET g.openStart = g.openStart + e.open, g.open = g.open + e.open
  WITH g WHERE g.openStart <= 0 AND g.open <= 0 AND g.lastSeen IS NULL AND g.connections = 0
           AND g.failedConnects = 0 AND g.bytesToServer = 0 AND g.bytesToClient = 0
  DELETE g
}
WITH e, h, last, CASE WHEN e.start > last THEN openBefore ELSE 0 END AS baseline
MERGE (b:EdgeBucket {key: e.edge + '|' + toString(e.start)})
  ON CREATE SET ${newBucket('b', 'e.start', 'baseline')}
SET ${[...BUCKET_FIGURES, 'open'].map((f) => `b.${f} = b.${f} + e.${f}`).join(', ')},
    b.lastSeen = CASE WHEN e.lastSeen IS NULL THEN b.lastSeen
                      WHEN b.lastSeen IS NULL OR e.lastSeen > b.lastSeen THEN e.lastSeen
                      ELSE b.lastSeen END,
    h.open = h.open + e.open,
    h.lastStart = CASE WHEN e.start > last THEN e.start ELSE last END`;

/**
 * Listening periods: a `listening` record opens one when its listener has none open (and none
 * that ended after the record: a late record does not reopen the past); a `closed` record ends
 * the open one.
 */
export const RECORD_LISTENERS = `
UNWIND $batch.rows AS l
OPTIONAL MATCH (open:ListenPeriod {listener: l.key}) WHERE open.to IS NULL
OPTIONAL MATCH (later:ListenPeriod {listener: l.key}) WHERE later.to >= l.observedAt
WITH l, open, count(later) AS later
FOREACH (_ IN CASE WHEN l.state = 'listening' AND open IS NULL AND later = 0 THEN [1] ELSE [] END |
  MERGE (p:ListenPeriod {key: l.key + '|' + toString(l.observedAt)})
    ON CREATE SET p.listener = l.key, p.hostId = l.hostId, p.netns = l.netns, p.addr = l.addr,
                  p.port = l.port, p.processKey = l.processKey, p.from = l.observedAt)
FOREACH (_ IN CASE WHEN l.state <> 'listening' AND open IS NOT NULL AND l.observedAt >= open.from
                   THEN [1] ELSE [] END |
  SET open.to = l.observedAt)`;

/** Deletes up to `$batch.limit` buckets, idle edge histories and listening periods older than `$batch.keepFrom`. */
export const PRUNE = `
CALL {
  MATCH (b:EdgeBucket) WHERE b.start < $batch.keepFrom
  WITH b LIMIT $batch.limit
  DELETE b
  RETURN count(*) AS buckets
}
CALL {
  MATCH (h:EdgeHistory) WHERE h.lastStart < $batch.keepFrom AND h.open <= 0
  WITH h LIMIT $batch.limit
  DELETE h
  RETURN count(*) AS edges
}
CALL {
  MATCH (p:ListenPeriod) WHERE p.to < $batch.keepFrom
  WITH p LIMIT $batch.limit
  DELETE p
  RETURN count(*) AS periods
}
RETURN buckets, edges, periods`;

/** Records the settings readers align their windows by; `since` is when history began. */
export const SAVE_SETTINGS = `
MERGE (s:HistorySettings {id: 'nettopo'})
  ON CREATE SET s.since = $batch.now
WITH s, s.bucketMs AS previous
SET s.bucketMs = $batch.bucketMs, s.retentionMs = $batch.retentionMs
RETURN previous`;

/**
 * The Cypher text of the ingest: every statement `GraphWriter` sends, and `STATEMENTS`, each with
 * the placeholder parameters `GraphWriter.warmUp` plans it by.
 */

/*
 * Every statement takes its rows inside a map parameter (`$batch.rows`), not as a list parameter
 * (`$rows`): Neo4j caches a plan per parameter type and, for a list, per size bucket (1, 2–10,
 * 11–100, 101–1,000, …), so a list parameter is planned again at the first batch of each new size
 * — measured 40–50 ms per statement, ~200 ms for the edge statement. A map hides the size: one
 * plan serves every batch (each row is an index seek, whatever their number).
 */

const NODE_KEYS: Record<string, string> = {
  Process: 'key',
  Container: 'containerId',
  Pod: 'uid',
  Host: 'hostId',
  ExternalEndpoint: 'ip',
};

export const PROCESSES = `
UNWIND $batch.rows AS p
MERGE (h:Host {hostId: p.hostId})
  ON CREATE SET h.firstSeen = datetime()
MERGE (n:Process {key: p.key})
  ON CREATE SET n.hostId = p.hostId, n.pid = p.pid, n.startTime = p.startTime,
                n.unattributed = (p.pid = 0), n.firstSeen = datetime()
SET n.comm = coalesce(p.comm, n.comm), n.exe = coalesce(p.exe, n.exe), n.cmdline = coalesce(p.cmdline, n.cmdline),
    n.cmdlineTruncated = CASE WHEN p.cmdline IS NULL THEN n.cmdlineTruncated WHEN p.cmdlineTruncated THEN true END,
    n.uid = coalesce(p.uid, n.uid), n.ppid = coalesce(p.ppid, n.ppid),
    n.containerId = coalesce(p.containerId, n.containerId), n.podUid = coalesce(p.podUid, n.podUid),
    n.exited = p.exited OR coalesce(n.exited, false)
MERGE (n)-[:RUNS_ON]->(h)
WITH n, h, p
CALL {
  WITH n, h, p
  WITH n, h, p WHERE p.containerId IS NOT NULL
  MERGE (c:Container {containerId: p.containerId}) ON CREATE SET c.firstSeen = datetime()
  SET c.runtime = coalesce(p.containerRuntime, c.runtime)
  MERGE (n)-[:IN_CONTAINER]->(c)
  MERGE (c)-[:RUNS_ON]->(h)
}
CALL {
  WITH n, h, p
  WITH n, h, p WHERE p.podUid IS NOT NULL
  MERGE (pd:Pod {uid: p.podUid}) ON CREATE SET pd.firstSeen = datetime()
  MERGE (pd)-[:RUNS_ON]->(h)
  WITH n, p, pd
  OPTIONAL MATCH (c:Container {containerId: p.containerId})
  FOREACH (x IN CASE WHEN c IS NULL THEN [n] ELSE [c] END | MERGE (x)-[:IN_POD]->(pd))
}`;

export const PLACEMENTS = `
UNWIND $batch.rows AS p
MERGE (h:Host {hostId: p.hostId}) ON CREATE SET h.firstSeen = datetime()
WITH h, p
CALL {
  WITH h, p
  WITH h, p WHERE p.containerId IS NOT NULL
  MERGE (c:Container {containerId: p.containerId}) ON CREATE SET c.firstSeen = datetime()
  SET c.runtime = coalesce(p.containerRuntime, c.runtime)
  MERGE (c)-[:RUNS_ON]->(h)
}
CALL {
  WITH h, p
  WITH h, p WHERE p.podUid IS NOT NULL
  MERGE (pd:Pod {uid: p.podUid}) ON CREATE SET pd.firstSeen = datetime()
  MERGE (pd)-[:RUNS_ON]->(h)
  WITH p, pd
  OPTIONAL MATCH (c:Container {containerId: p.containerId})
  FOREACH (x IN CASE WHEN c IS NULL THEN [] ELSE [c] END | MERGE (x)-[:IN_POD]->(pd))
}`;

export const EXTERNALS = `
UNWIND $batch.ips AS ip
MERGE (x:ExternalEndpoint {ip: ip}) ON CREATE SET x.firstSeen = datetime()`;

/**
 * A subquery binding `alias` to the node a row names by `<side>Label` / `<side>Key`: one branch
 * per label, each guarded by the label so that only its own unique-index seek runs. One statement
 * serves every (from, to) label pair, so a batch is one plan and one round trip, not up to six.
 */
function nodeOf(side: 'from' | 'to', alias: string): string {
  return `CALL {
  WITH e
${Object.entries(NODE_KEYS)
  .map(
    ([label, key]) =>
      `  WITH e WHERE e.${side}Label = '${label}' MATCH (n:${label} {${key}: e.${side}Key}) RETURN n AS ${alias}`,
  )
  .join('\n  UNION ALL\n  WITH e\n')}
}`;
}

/** Adds a batch's deltas to its CONNECTS_TO edges, whatever the labels of their ends. */
export const EDGES = `
UNWIND $batch.rows AS e
${nodeOf('from', 'a')}
${nodeOf('to', 'b')}
MERGE (a)-[r:CONNECTS_TO {port: e.port, protocol: e.protocol, level: e.level}]->(b)
  ON CREATE SET r.connections = 0, r.failedConnects = 0, r.bytesToServer = 0, r.bytesToClient = 0,
                r.retransmits = 0, r.connectLatencyUsSum = 0, r.connectLatencyCount = 0
SET r.srttUs = CASE WHEN e.srttUs IS NULL THEN r.srttUs
                    WHEN r.lastSeen IS NULL OR datetime({epochMillis: e.lastSeen}) >= r.lastSeen THEN e.srttUs
                    ELSE r.srttUs END,
    r.srttUsMax = CASE WHEN e.srttUs IS NULL OR (r.srttUsMax IS NOT NULL AND r.srttUsMax >= e.srttUs) THEN r.srttUsMax
                       ELSE e.srttUs END,
    r.firstSeen = CASE WHEN e.firstSeen IS NULL THEN r.firstSeen
                       WHEN r.firstSeen IS NULL OR datetime({epochMillis: e.firstSeen}) < r.firstSeen
                       THEN datetime({epochMillis: e.firstSeen}) ELSE r.firstSeen END,
    r.lastSeen = CASE WHEN e.lastSeen IS NULL THEN r.lastSeen
                      WHEN r.lastSeen IS NULL OR datetime({epochMillis: e.lastSeen}) > r.lastSeen
                      THEN datetime({epochMillis: e.lastSeen}) ELSE r.lastSeen END,
    r.connections = r.connections + e.connections,
    r.failedConnects = r.failedConnects + e.failedConnects,
    r.bytesToServer = r.bytesToServer + e.bytesToServer,
    r.bytesToClient = r.bytesToClient + e.bytesToClient,
    r.retransmits = r.retransmits + e.retransmits,
    r.connectLatencyUsSum = r.connectLatencyUsSum + e.connectLatencyUsSum,
    r.connectLatencyCount = r.connectLatencyCount + e.connectLatencyCount
SET r.connectLatencyUsAvg = CASE WHEN r.connectLatencyCount > 0
                                 THEN toFloat(r.connectLatencyUsSum) / r.connectLatencyCount ELSE null END
WITH r WHERE r.connections + r.failedConnects <= 0
DELETE r`;

export const LOCK_PROGRESS = `
UNWIND $batch.keys AS k
MERGE (p:IngestProgress {key: k.key})
  ON CREATE SET p.group = k.group, p.topic = k.topic, p.partition = k.partition,
                p.offset = 0, p.records = 0, p.deadLetters = 0
SET p.lockedAt = timestamp()
RETURN k.key AS key, p.offset AS offset, p.records AS records, p.deadLetters AS deadLetters`;

export const SAVE_PROGRESS = `
UNWIND $batch.saves AS s
MATCH (p:IngestProgress {key: s.key})
SET p.offset = s.next, p.records = p.records + s.records, p.deadLetters = p.deadLetters + s.deadLetters,
    p.updatedAt = datetime()`;

// Setting a property to its own value takes the node's write lock (what makes a concurrent
// transaction wait instead of losing an update) without writing anything; a new node is locked
// by its creation.
export const LOCK_CONNECTIONS = `
UNWIND $batch.keys AS k
MERGE (c:Connection {key: k})
SET c.hosts = c.hosts
RETURN k AS key, c.a AS a, c.b AS b, c.applied AS applied, c.hosts AS hosts, c.state AS state`;

export const ADDRESS_OWNERS = `
UNWIND $batch.addrs AS a
MATCH (x:NetnsAddress {addr: a})
RETURN a AS addr, x.hostId AS hostId, x.netns AS netns`;

export const LISTENERS = `
UNWIND $batch.keys AS k
MATCH (x:Listener {hostId: k.hostId, netns: k.netns, port: k.port})
WHERE x.state = 'listening'
OPTIONAL MATCH (p:Process {key: x.processKey})
OPTIONAL MATCH (p)-[:IN_CONTAINER]->(c:Container)
RETURN k.hostId AS hostId, k.netns AS netns, k.port AS port, x.addr AS addr,
       x.pid AS pid, x.startTime AS startTime, p.comm AS comm, p.containerId AS containerId,
       c.runtime AS runtime, p.podUid AS podUid
ORDER BY x.key`;

export const SAVE_CONNECTIONS = `
UNWIND $batch.rows AS c
MATCH (n:Connection {key: c.key})
SET n += c.set, n.updatedAt = datetime()`;

export const HOSTS = `
UNWIND $batch.rows AS h
MERGE (n:Host {hostId: h.hostId}) ON CREATE SET n.firstSeen = datetime()
WITH n, h WHERE coalesce(n.stateObservedAt, -1) <= h.observedAt
SET n.hostname = h.hostname, n.kernel = h.kernel, n.collectorVersion = h.collectorVersion,
    n.namespacesTruncated = CASE WHEN h.namespacesTruncated THEN true END,
    n.stateObservedAt = h.observedAt, n.lastSeen = datetime({epochMillis: h.observedAt})
WITH n, h
CALL {
  WITH h
  MATCH (old:NetnsAddress {hostId: h.hostId})
  WHERE NOT old.key IN [a IN h.addresses | a.key]
  DETACH DELETE old
}
CALL {
  WITH n, h
  UNWIND h.addresses AS a
  MERGE (x:NetnsAddress {key: a.key})
  SET x.hostId = h.hostId, x.netns = a.netns, x.addr = a.addr, x.prefixLength = a.prefixLength,
      x.ifname = a.ifname
  MERGE (x)-[:ON_HOST]->(n)
}`;

export const LISTENER_UPSERT = `
UNWIND $batch.rows AS l
MERGE (x:Listener {key: l.key})
WITH x, l WHERE coalesce(x.observedAt, -1) <= l.observedAt
SET x.hostId = l.hostId, x.netns = l.netns, x.family = l.family, x.addr = l.addr, x.port = l.port,
    x.pid = l.pid, x.startTime = l.startTime, x.processKey = l.processKey, x.state = l.state,
    x.observedAt = l.observedAt
WITH x, l WHERE l.processKey IS NOT NULL
MATCH (p:Process {key: l.processKey})
MERGE (p)-[:LISTENS]->(x)`;

export const HEARTBEATS = `
UNWIND $batch.rows AS b
MERGE (n:Host {hostId: b.hostId}) ON CREATE SET n.firstSeen = datetime()
WITH n, b WHERE n.lastHeartbeat IS NULL OR n.lastHeartbeat <= datetime({epochMillis: b.observedAt})
SET n.lastHeartbeat = datetime({epochMillis: b.observedAt}), n.collectorVersion = b.collectorVersion,
    n.capabilities = b.capabilities, n.missingCapabilities = b.missingCapabilities,
    n.dropsRingBufferFull = b.ringBufferFull, n.dropsMapFull = b.mapFull,
    n.dropsKafkaBufferFull = b.kafkaBufferFull`;

/*
 * Every statement of the ingest with parameters to plan it by (see `GraphWriter.warmUp`): one
 * placeholder row each, shaped like the real ones. The rows name a key no collector sends (`~`)
 * and the transaction is rolled back.
 */
const W = '~';
export const STATEMENTS: [string, Record<string, unknown>][] = [
  [LOCK_PROGRESS, { keys: [{ key: W, group: W, topic: W, partition: 0 }] }],
  [LOCK_CONNECTIONS, { keys: [W] }],
  [ADDRESS_OWNERS, { addrs: [W] }],
  [LISTENERS, { keys: [{ hostId: W, netns: 0, port: 0 }] }],
  [HOSTS, { rows: [{ hostId: W, observedAt: -2, addresses: [] }] }],
  [PROCESSES, { rows: [{ key: W, hostId: W, pid: 0, startTime: 0, exited: false }] }],
  [LISTENER_UPSERT, { rows: [{ key: W, observedAt: -2 }] }],
  [HEARTBEATS, { rows: [{ hostId: W, observedAt: 0 }] }],
  [EXTERNALS, { ips: [W] }],
  [PLACEMENTS, { rows: [{ hostId: W }] }],
  [EDGES, { rows: [{ fromLabel: W, toLabel: W }] }],
  [SAVE_CONNECTIONS, { rows: [{ key: W, set: {} }] }],
  [SAVE_PROGRESS, { saves: [{ key: W, next: 0, records: 0, deadLetters: 0 }] }],
];

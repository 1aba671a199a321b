/**
 * The Cypher of the cluster metadata (`nettopo k8s-watch`'s records): pods, Services,
 * EndpointSlices and the leases of their addresses. Rows come in `$batch.rows` (see statements.ts
 * for why a map). Only metadata is written here: no CONNECTS_TO.
 *
 * Nothing is invented: a Workload exists because a pod's record names it, a Service because its
 * own record came, and SELECTS / HAS_SLICE / ENDPOINT join only nodes that exist. Records of one
 * object arrive in order (one key, one partition) but different objects arrive in any order, so
 * each statement links what came before it from both sides (a pod to the Services and slices
 * already there, a Service to the pods and slices already there, a slice to its Service and pods).
 */

/** A DateTime from ms since the epoch, null staying null. */
const dt = (v: string): string => `CASE WHEN ${v} IS NULL THEN null ELSE datetime({epochMillis: ${v}}) END`;

/**
 * Address leases of an owner (`o`, a Pod or a Service) from row `m` (`m.ips`, `m.ipFrom`,
 * `m.deletedAt`, `m.observedAt`): an IpLease {cluster, ip, from, until} per address it holds,
 * LEASED_TO the owner. A lease ends when the address leaves the owner's record or the owner is
 * deleted (a pod seen first in its last record still gets its lease, closed); and, as one address
 * belongs to one owner of a kind at a time, when a later lease of the same address begins (in
 * whichever order the two records arrive).
 */
function leases(owner: string, kind: 'Pod' | 'Service', ownerId: string, holds: string): string {
  return `
CALL {
  WITH ${owner}, m
  WITH ${owner}, m WHERE ${holds}
  UNWIND m.ips AS ip
  MERGE (l:IpLease {key: m.cluster + '/' + ip + '/${kind}/' + ${ownerId}})
    ON CREATE SET l.cluster = m.cluster, l.ip = ip, l.ownerKind = '${kind}', l.from = datetime({epochMillis: m.ipFrom})
  MERGE (l)-[:LEASED_TO]->(${owner})
  WITH l, m
  CALL {
    WITH l, m
    MATCH (before:IpLease {cluster: m.cluster, ip: l.ip})
    WHERE before <> l AND before.ownerKind = '${kind}' AND before.from <= l.from
      AND (before.until IS NULL OR before.until > l.from)
    SET before.until = l.from
  }
  CALL {
    WITH l, m
    MATCH (after:IpLease {cluster: m.cluster, ip: l.ip})
    WHERE after <> l AND after.ownerKind = '${kind}' AND after.from > l.from
    WITH l, min(after.from) AS next
    WHERE l.until IS NULL OR l.until > next
    SET l.until = next
  }
}
CALL {
  WITH ${owner}, m
  MATCH (l:IpLease)-[:LEASED_TO]->(${owner})
  WHERE l.until IS NULL AND (m.deletedAt IS NOT NULL OR NOT l.ip IN m.ips)
  SET l.until = datetime({epochMillis: coalesce(m.deletedAt, m.observedAt)})
}`;
}

export const CLUSTER_PODS = `
UNWIND $batch.rows AS m
MERGE (p:Pod {uid: m.uid}) ON CREATE SET p.firstSeen = datetime()
SET p.cluster = m.cluster, p.namespace = m.namespace, p.name = m.name, p.labels = m.labels,
    p.nodeName = m.nodeName, p.hostNetwork = m.hostNetwork, p.phase = m.phase, p.ips = m.ips,
    p.owners = m.owners, p.createdAt = datetime({epochMillis: m.createdAt}), p.startedAt = ${dt('m.startedAt')},
    p.deletionRequestedAt = ${dt('m.deletionRequestedAt')}, p.deletedAt = ${dt('m.deletedAt')},
    p.metadataAt = datetime({epochMillis: m.observedAt})
WITH p, m
CALL {
  WITH p, m
  OPTIONAL MATCH (p)-[o:OWNED_BY]->(w:Workload)
  WHERE w.key <> coalesce(m.workloadKey, '')
  DELETE o
}
CALL {
  WITH p, m
  WITH p, m WHERE m.workloadKey IS NOT NULL
  MERGE (w:Workload {key: m.workloadKey})
    ON CREATE SET w.cluster = m.cluster, w.namespace = m.namespace, w.kind = m.workloadKind,
                  w.name = m.workloadName, w.firstSeen = datetime()
  MERGE (p)-[:OWNED_BY]->(w)
}
CALL {
  WITH p, m
  OPTIONAL MATCH (s:Service)-[r:SELECTS]->(p)
  WHERE m.deletedAt IS NOT NULL OR NOT all(x IN s.selector WHERE x IN m.labels)
  DELETE r
}
CALL {
  WITH p, m
  WITH p, m WHERE m.deletedAt IS NULL
  MATCH (s:Service {cluster: m.cluster, namespace: m.namespace})
  WHERE s.deletedAt IS NULL AND size(s.selector) > 0 AND all(x IN s.selector WHERE x IN m.labels)
  MERGE (s)-[:SELECTS]->(p)
}
CALL {
  WITH p, m
  MATCH (e:EndpointSlice {cluster: m.cluster, namespace: m.namespace})
  WHERE m.uid IN e.endpointPodUids
  WITH p, e, [i IN range(0, size(e.endpointPodUids) - 1) WHERE e.endpointPodUids[i] = m.uid][0] AS i
  MERGE (e)-[r:ENDPOINT]->(p)
  SET r.addresses = split(e.endpointAddresses[i], ','), r.ready = e.endpointReady[i],
      r.serving = e.endpointServing[i], r.terminating = e.endpointTerminating[i]
}${leases('p', 'Pod', 'm.uid', 'NOT m.hostNetwork')}`;

export const CLUSTER_SERVICES = `
UNWIND $batch.rows AS m
MERGE (s:Service {key: m.key}) ON CREATE SET s.firstSeen = datetime()
SET s.cluster = m.cluster, s.namespace = m.namespace, s.name = m.name, s.uid = m.uid, s.type = m.type,
    s.clusterIPs = m.ips, s.headless = m.headless, s.externalName = m.externalName, s.ports = m.ports,
    s.portNumbers = m.portNumbers, s.selector = m.selector, s.labels = m.labels,
    s.createdAt = datetime({epochMillis: m.createdAt}), s.deletedAt = ${dt('m.deletedAt')},
    s.metadataAt = datetime({epochMillis: m.observedAt})
WITH s, m
CALL {
  WITH s, m
  OPTIONAL MATCH (s)-[r:SELECTS]->(p:Pod)
  WHERE m.deletedAt IS NOT NULL OR size(m.selector) = 0 OR NOT all(x IN m.selector WHERE x IN p.labels)
  DELETE r
}
CALL {
  WITH s, m
  WITH s, m WHERE m.deletedAt IS NULL AND size(m.selector) > 0
  MATCH (p:Pod {cluster: m.cluster, namespace: m.namespace})
  WHERE p.deletedAt IS NULL AND all(x IN m.selector WHERE x IN p.labels)
  MERGE (s)-[:SELECTS]->(p)
}
CALL {
  WITH s, m
  MATCH (e:EndpointSlice {cluster: m.cluster, namespace: m.namespace})
  WHERE e.serviceName = m.name
  MERGE (s)-[:HAS_SLICE]->(e)
}${leases('s', 'Service', 'm.uid', 'true')}`;

export const CLUSTER_SLICES = `
UNWIND $batch.rows AS m
MERGE (e:EndpointSlice {key: m.key}) ON CREATE SET e.firstSeen = datetime()
SET e.cluster = m.cluster, e.namespace = m.namespace, e.name = m.name, e.uid = m.uid,
    e.serviceName = m.serviceName, e.addressType = m.addressType, e.ports = m.ports,
    e.endpointPodUids = m.endpointPodUids, e.endpointAddresses = m.endpointAddresses,
    e.endpointReady = m.endpointReady, e.endpointServing = m.endpointServing,
    e.endpointTerminating = m.endpointTerminating, e.metadataAt = datetime({epochMillis: m.observedAt})
WITH e, m
CALL {
  WITH e, m
  OPTIONAL MATCH (e)-[r:ENDPOINT]->(:Pod)
  DELETE r
}
CALL {
  WITH e, m
  OPTIONAL MATCH (x:Service)-[r:HAS_SLICE]->(e)
  WHERE x.name <> coalesce(m.serviceName, '')
  DELETE r
}
CALL {
  WITH e, m
  MATCH (s:Service {key: m.cluster + '/' + m.namespace + '/' + m.serviceName})
  MERGE (s)-[:HAS_SLICE]->(e)
}
CALL {
  WITH e, m
  UNWIND range(0, size(m.endpointPodUids) - 1) AS i
  WITH e, m, i WHERE m.endpointPodUids[i] <> ''
  MATCH (p:Pod {uid: m.endpointPodUids[i]})
  MERGE (e)-[r:ENDPOINT]->(p)
  SET r.addresses = split(m.endpointAddresses[i], ','), r.ready = m.endpointReady[i],
      r.serving = m.endpointServing[i], r.terminating = m.endpointTerminating[i]
}`;

/**
 * Pods or Services known gone by a tombstone alone (their last record compacted away): deleted at
 * the tombstone's time, their leases ended, their SELECTS removed.
 */
function gone(label: 'Pod' | 'Service', key: 'uid' | 'key', selects: string): string {
  return `
UNWIND $batch.rows AS g
MATCH (n:${label} {${key}: g.key})
WHERE n.cluster IS NOT NULL AND n.deletedAt IS NULL
SET n.deletedAt = datetime({epochMillis: g.at})
WITH n
CALL {
  WITH n
  MATCH (l:IpLease)-[:LEASED_TO]->(n) WHERE l.until IS NULL
  SET l.until = n.deletedAt
}
CALL {
  WITH n
  OPTIONAL MATCH ${selects}
  DELETE r
}`;
}

export const CLUSTER_PODS_GONE = gone('Pod', 'uid', '(:Service)-[r:SELECTS]->(n)');
export const CLUSTER_SERVICES_GONE = gone('Service', 'key', '(n)-[r:SELECTS]->(:Pod)');

/** EndpointSlices gone (a last record or a tombstone): routing state only, removed with their relationships. */
export const CLUSTER_SLICES_GONE = `
UNWIND $batch.rows AS g
MATCH (e:EndpointSlice {key: g.key})
DETACH DELETE e`;

/** The statements above with placeholder rows, for `GraphWriter.warmUp` (rolled back). */
const W = '~';
export const CLUSTER_STATEMENTS: [string, Record<string, unknown>][] = [
  [
    CLUSTER_PODS,
    {
      rows: [
        {
          uid: W,
          cluster: W,
          namespace: W,
          labels: [],
          ips: [],
          hostNetwork: false,
          createdAt: 0,
          observedAt: 0,
          ipFrom: 0,
        },
      ],
    },
  ],
  [
    CLUSTER_SERVICES,
    {
      rows: [
        {
          key: W,
          cluster: W,
          namespace: W,
          name: W,
          uid: W,
          ips: [],
          selector: [],
          createdAt: 0,
          observedAt: 0,
          ipFrom: 0,
        },
      ],
    },
  ],
  [CLUSTER_SLICES, { rows: [{ key: W, cluster: W, namespace: W, endpointPodUids: [], observedAt: 0 }] }],
  [CLUSTER_PODS_GONE, { rows: [{ key: W, at: 0 }] }],
  [CLUSTER_SERVICES_GONE, { rows: [{ key: W, at: 0 }] }],
  [CLUSTER_SLICES_GONE, { rows: [{ key: W, at: 0 }] }],
];

import type { Driver } from 'neo4j-driver';

/** What a pipeline test wrote to Neo4j, to be removed afterwards (the shared database stays clean). */
export interface GraphWritten {
  /** Host ids: their Host, Process, Listener and NetnsAddress nodes, and Connections they saw. */
  hosts: string[];
  containers: string[];
  pods: string[];
  /** ExternalEndpoint addresses. */
  ips: string[];
  /** Ingest consumer groups: their IngestProgress nodes. */
  groups: string[];
}

/** An empty {@link GraphWritten}. */
export function graphWritten(): GraphWritten {
  return { hosts: [], containers: [], pods: [], ips: [], groups: [] };
}

/** Removes every node a test wrote (parameterised, by what it recorded) and empties the lists. */
export async function removeWritten(driver: Driver, written: GraphWritten): Promise<void> {
  await driver.executeQuery(
    `MATCH (n) WHERE (n:Host OR n:Process OR n:Listener OR n:NetnsAddress) AND n.hostId IN $hosts
     DETACH DELETE n`,
    written,
  );
  await driver.executeQuery(
    'MATCH (c:Connection) WHERE any(h IN c.hosts WHERE h IN $hosts) DETACH DELETE c',
    written,
  );
  await driver.executeQuery(
    `MATCH (n) WHERE (n:Container AND n.containerId IN $containers) OR (n:Pod AND n.uid IN $pods)
        OR (n:ExternalEndpoint AND n.ip IN $ips)
     DETACH DELETE n`,
    written,
  );
  await driver.executeQuery('MATCH (p:IngestProgress) WHERE p.group IN $groups DELETE p', written);
  for (const list of Object.values(written) as string[][]) list.length = 0;
}

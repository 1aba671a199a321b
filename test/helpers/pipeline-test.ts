import type { Driver } from 'neo4j-driver';
import type { IngestService } from '../../ingest';
import type { CliRun } from './cli-run';
import type { TestTopics } from './kafka-topics';
import type { PeerProcess } from './peer-process';

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

/** What a whole-pipeline test starts; {@link tearDownPipeline} stops and removes all of it. */
export interface PipelineParts {
  peers: PeerProcess[];
  /** CLI runs (collectors): stopped with SIGINT. */
  runs: CliRun[];
  ingest?: IngestService;
  net?: { destroy(): void };
  cgroups?: { cleanup(): Promise<void> };
  driver?: Driver;
  topics?: TestTopics;
  written: GraphWritten;
}

/**
 * Stops and removes what a pipeline test started, in order (peers, CLI runs, ingest, namespaces,
 * cgroups, the graph it wrote, its topics and consumer groups), also when the test failed; the
 * optional parts are left undefined.
 */
export async function tearDownPipeline(parts: PipelineParts): Promise<void> {
  parts.peers.splice(0).forEach((p) => p.kill());
  await Promise.all(parts.runs.splice(0).map((r) => r.stop()));
  await parts.ingest?.stop();
  parts.net?.destroy();
  await parts.cgroups?.cleanup();
  const groups = [...parts.written.groups];
  if (parts.driver) {
    await removeWritten(parts.driver, parts.written);
    await parts.driver.close();
  }
  await parts.topics?.cleanup(groups);
  for (const key of ['ingest', 'net', 'cgroups', 'driver', 'topics'] as const) parts[key] = undefined;
}

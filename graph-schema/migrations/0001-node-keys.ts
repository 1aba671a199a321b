/*
 * Migration 1 — node keys. Creates a uniqueness constraint (and with it the backing range index)
 * for the key of every node label of ARCHITECTURE §5 plus the ingest's own bookkeeping labels.
 * Why: the ingest upserts everything with MERGE on these keys; without a constraint MERGE scans
 * the label (slow) and two concurrent transactions could create duplicates.
 * Composite identities (Process: hostId + pid + start time; Workload: namespace + kind + name;
 * Service: namespace + name) are stored as one `key` string so that Community Edition (which has
 * no node key constraints) still enforces them and MERGE stays a single index seek.
 */
import type { Migration } from '../migration';

export const nodeKeys: Migration = {
  version: 1,
  name: 'node-keys',
  description: 'uniqueness constraints for every node key (topology, connection state, ingest progress)',
  statements: [
    'CREATE CONSTRAINT host_key IF NOT EXISTS FOR (n:Host) REQUIRE n.hostId IS UNIQUE',
    'CREATE CONSTRAINT process_key IF NOT EXISTS FOR (n:Process) REQUIRE n.key IS UNIQUE',
    'CREATE CONSTRAINT container_key IF NOT EXISTS FOR (n:Container) REQUIRE n.containerId IS UNIQUE',
    'CREATE CONSTRAINT pod_key IF NOT EXISTS FOR (n:Pod) REQUIRE n.uid IS UNIQUE',
    'CREATE CONSTRAINT workload_key IF NOT EXISTS FOR (n:Workload) REQUIRE n.key IS UNIQUE',
    'CREATE CONSTRAINT service_key IF NOT EXISTS FOR (n:Service) REQUIRE n.key IS UNIQUE',
    'CREATE CONSTRAINT external_endpoint_key IF NOT EXISTS FOR (n:ExternalEndpoint) REQUIRE n.ip IS UNIQUE',
    'CREATE CONSTRAINT connection_key IF NOT EXISTS FOR (n:Connection) REQUIRE n.key IS UNIQUE',
    'CREATE CONSTRAINT listener_key IF NOT EXISTS FOR (n:Listener) REQUIRE n.key IS UNIQUE',
    'CREATE CONSTRAINT netns_address_key IF NOT EXISTS FOR (n:NetnsAddress) REQUIRE n.key IS UNIQUE',
    'CREATE CONSTRAINT ingest_progress_key IF NOT EXISTS FOR (n:IngestProgress) REQUIRE n.key IS UNIQUE',
  ],
};

/*
 * Migration 2 — lookup indexes. Creates the range indexes the ingest's address resolution and
 * the README's queries seek on: a remote address → the namespace that owns it (NetnsAddress.addr),
 * a (host, netns, port) → its listener, processes by host and name, pods by namespace, and
 * CONNECTS_TO by firstSeen/lastSeen ("what is new in the last hour" without a full scan).
 * Why separate from migration 1: these are performance indexes, not identity; a database at
 * version 1 is still correct, only slower.
 */
import type { Migration } from '../migration';

export const lookupIndexes: Migration = {
  version: 2,
  name: 'lookup-indexes',
  description: 'range indexes for address resolution, listeners, processes, pods and edge recency',
  statements: [
    'CREATE INDEX netns_address_addr IF NOT EXISTS FOR (n:NetnsAddress) ON (n.addr)',
    'CREATE INDEX netns_address_host IF NOT EXISTS FOR (n:NetnsAddress) ON (n.hostId)',
    'CREATE INDEX listener_host_netns_port IF NOT EXISTS FOR (n:Listener) ON (n.hostId, n.netns, n.port)',
    'CREATE INDEX process_host_pid IF NOT EXISTS FOR (n:Process) ON (n.hostId, n.pid)',
    'CREATE INDEX process_comm IF NOT EXISTS FOR (n:Process) ON (n.comm)',
    'CREATE INDEX pod_namespace IF NOT EXISTS FOR (n:Pod) ON (n.namespace)',
    'CREATE INDEX workload_namespace IF NOT EXISTS FOR (n:Workload) ON (n.namespace)',
    'CREATE INDEX connects_to_first_seen IF NOT EXISTS FOR ()-[r:CONNECTS_TO]-() ON (r.firstSeen)',
    'CREATE INDEX connects_to_last_seen IF NOT EXISTS FOR ()-[r:CONNECTS_TO]-() ON (r.lastSeen)',
    'CREATE INDEX connects_to_level IF NOT EXISTS FOR ()-[r:CONNECTS_TO]-() ON (r.level)',
  ],
};

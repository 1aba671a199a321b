/*
 * Migration 3 — Kubernetes metadata. Creates the keys and lookups of what `nettopo k8s-watch`
 * publishes: EndpointSlice nodes (key = cluster/namespace/name) and IpLease nodes (key =
 * cluster/ip/ownerKind/owner: one address held by one pod or Service for an interval), each with a
 * uniqueness constraint so that MERGE is one seek; address lookups by ip (and cluster + ip), which
 * is how a connection's far end will find the pod or Service that held the address at the time;
 * and the (cluster, namespace) indexes the ingest seeks on to match Services' selectors with pods'
 * labels and EndpointSlices with pods, plus name indexes for the README's queries.
 * Why: the ingest would otherwise scan every Pod, Service or lease per record.
 */
import type { Migration } from '../migration';

export const kubernetesMetadata: Migration = {
  version: 3,
  name: 'kubernetes-metadata',
  description: 'keys of EndpointSlice and IpLease; lookups by address, by cluster and namespace, and by name',
  statements: [
    'CREATE CONSTRAINT endpoint_slice_key IF NOT EXISTS FOR (n:EndpointSlice) REQUIRE n.key IS UNIQUE',
    'CREATE CONSTRAINT ip_lease_key IF NOT EXISTS FOR (n:IpLease) REQUIRE n.key IS UNIQUE',
    'CREATE INDEX ip_lease_ip IF NOT EXISTS FOR (n:IpLease) ON (n.ip)',
    'CREATE INDEX ip_lease_cluster_ip IF NOT EXISTS FOR (n:IpLease) ON (n.cluster, n.ip)',
    'CREATE INDEX pod_cluster_namespace IF NOT EXISTS FOR (n:Pod) ON (n.cluster, n.namespace)',
    'CREATE INDEX pod_name IF NOT EXISTS FOR (n:Pod) ON (n.name)',
    'CREATE INDEX service_cluster_namespace IF NOT EXISTS FOR (n:Service) ON (n.cluster, n.namespace)',
    'CREATE INDEX service_name IF NOT EXISTS FOR (n:Service) ON (n.name)',
    'CREATE INDEX endpoint_slice_cluster_namespace IF NOT EXISTS FOR (n:EndpointSlice) ON (n.cluster, n.namespace)',
    'CREATE INDEX workload_name IF NOT EXISTS FOR (n:Workload) ON (n.name)',
  ],
};

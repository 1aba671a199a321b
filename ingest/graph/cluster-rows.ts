/*
 * Rows of the cluster metadata the ingest upserts (types only), made from `nettopo k8s-watch`'s
 * records by ClusterMetadata. Times are ms since the epoch; labels and selectors are `key=value`
 * strings (Neo4j properties cannot hold maps).
 */

/** A pod's metadata: the Pod node, its Workload and the leases of its addresses. */
export interface PodMetaRow {
  uid: string;
  cluster: string;
  namespace: string;
  name: string;
  labels: string[];
  nodeName: string | null;
  hostNetwork: boolean;
  phase: string | null;
  /** Addresses as text; a lease each, unless the pod uses its node's network. */
  ips: string[];
  /** The controller chain as `Kind/name`, the top workload last. */
  owners: string[];
  /** `cluster/namespace/kind/name` of the top workload; null for a pod no controller owns. */
  workloadKey: string | null;
  workloadKind: string | null;
  workloadName: string | null;
  createdAt: number;
  startedAt: number | null;
  deletionRequestedAt: number | null;
  deletedAt: number | null;
  observedAt: number;
  /** When its addresses' leases begin: the pod's start (its sandbox and IP come with it), else when first seen. */
  ipFrom: number;
}

/** A Service's metadata: the Service node, what it selects, its slices and the leases of its ClusterIPs. */
export interface ServiceMetaRow {
  key: string;
  cluster: string;
  namespace: string;
  name: string;
  uid: string;
  type: string;
  /** ClusterIPs as text (the `ips` of the lease clauses). */
  ips: string[];
  headless: boolean;
  externalName: string | null;
  /** e.g. `http 80/TCP → 8080` */
  ports: string[];
  portNumbers: number[];
  selector: string[];
  labels: string[];
  createdAt: number;
  deletedAt: number | null;
  observedAt: number;
  /** A ClusterIP is allocated when the Service is created. */
  ipFrom: number;
}

/** An EndpointSlice: its node, its Service, and an ENDPOINT to each backend pod known. Endpoints as parallel lists. */
export interface EndpointSliceMetaRow {
  key: string;
  cluster: string;
  namespace: string;
  name: string;
  uid: string;
  serviceName: string | null;
  addressType: string;
  ports: string[];
  /** Target pod uid per endpoint, '' when the endpoint is not a pod. */
  endpointPodUids: string[];
  /** Each endpoint's addresses, joined with ','. */
  endpointAddresses: string[];
  /** Conditions as Kubernetes says to read them: unknown ready and serving are true, unknown terminating false. */
  endpointReady: boolean[];
  endpointServing: boolean[];
  endpointTerminating: boolean[];
  observedAt: number;
}

/** An object known gone (a tombstone, or a slice's last record): its key and when. */
export interface GoneRow {
  /** Pod uid, or the Service's / EndpointSlice's key. */
  key: string;
  at: number;
}

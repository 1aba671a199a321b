/*
 * Rows the graph writer upserts (types only). Nullable fields keep what the graph already has
 * when null (`coalesce`), so a sparse source (a flow) never erases what a rich one (a process
 * record) wrote.
 */

/** A Process node with its Host, and its Container and Pod when known. */
export interface ProcessRow {
  key: string;
  hostId: string;
  /** 0 for the host's "unattributed" process. */
  pid: number;
  startTime: number;
  comm: string | null;
  containerId: string | null;
  containerRuntime: string | null;
  podUid: string | null;
  exe: string | null;
  cmdline: string[] | null;
  /** Whether `cmdline` was cut to the collector's bounds; null with `cmdline`. */
  cmdlineTruncated: boolean | null;
  uid: number | null;
  ppid: number | null;
  exited: boolean;
}

/** A Container or Pod node known from an endpoint whose process is not (pid unknown). */
export interface PlacementRow {
  hostId: string;
  containerId: string | null;
  containerRuntime: string | null;
  podUid: string | null;
}

/** A host record's state: names and the addresses of each network namespace. */
export interface HostRow {
  hostId: string;
  hostname: string;
  kernel: string;
  collectorVersion: string;
  observedAt: number;
  /** The collector cut the list of namespaces or addresses to its bounds. */
  namespacesTruncated: boolean;
  addresses: { key: string; netns: number; addr: string; prefixLength: number; ifname: string | null }[];
}

/** A listener record's state. */
export interface ListenerRow {
  key: string;
  hostId: string;
  netns: number;
  family: string;
  addr: string;
  port: number;
  pid: number | null;
  startTime: number | null;
  processKey: string | null;
  state: string;
  observedAt: number;
}

/** A heartbeat's health figures. */
export interface HeartbeatRow {
  hostId: string;
  collectorVersion: string;
  observedAt: number;
  capabilities: string[];
  missingCapabilities: string[];
  ringBufferFull: number;
  mapFull: number;
  kafkaBufferFull: number;
}

/**
 * The flow record: what the collector knows about one TCP socket (one end of a connection).
 *
 * A flow is identified by the kernel's socket cookie plus the collector's run id. Counters are
 * cumulative since the collector first saw the socket, so any record can be replayed without
 * double counting: the newest record of a flow supersedes the older ones.
 * One record is emitted per active flow per flush interval, and one when the flow ends.
 */
export type FlowRole = 'client' | 'server' | 'unknown';
export type FlowState = 'open' | 'closed' | 'failed';

export interface FlowRecord {
  /** Host id (machine-id) of the collector's host. */
  hostId: string;
  /** Id of this collector run (changes at every start). */
  runId: string;
  /** Record sequence number within the run, strictly increasing. */
  seq: number;
  /** Kernel socket cookie, unique per boot. */
  cookie: number;
  /** Inode number of the socket's network namespace. */
  netns: number;
  /** client = this end connected, server = this end accepted, unknown = not decidable. */
  role: FlowRole;
  state: FlowState;
  family: 4 | 6;
  /** Addresses as text; IPv4-mapped IPv6 addresses are shown as IPv4. */
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  /** Owning process (tgid); 0 when no process could be attributed. */
  pid: number;
  /** Process start time, ms since the epoch (pid reuse safe identity with pid); 0 when unknown. */
  processStartTime: number;
  comm: string;
  /** cgroup v2 id of the owning process. */
  cgroupId: number;
  containerId: string | null;
  containerRuntime: string | null;
  podUid: string | null;
  bytesSent: number;
  bytesReceived: number;
  retransmits: number;
  /** Smoothed RTT in microseconds, last value seen; 0 when unknown. */
  srttUs: number;
  /** SYN_SENT → ESTABLISHED time in microseconds for active opens seen live; null otherwise. */
  connectLatencyUs: number | null;
  /** ms since the epoch. For preexisting flows: when the collector found them. */
  openedAt: number;
  closedAt: number | null;
  /** When this record was made, ms since the epoch. */
  observedAt: number;
  /** The connection existed before the collector started. */
  preexisting: boolean;
}

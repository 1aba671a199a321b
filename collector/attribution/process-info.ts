/** What the enrichment knows about one process (a tgid), as read from /proc or kept from the event. */
export type ProcessField = 'comm' | 'exe' | 'cmdline' | 'uid' | 'ppid' | 'startTime' | 'cgroupPath';

export interface ProcessInfo {
  pid: number;
  /** Main thread's comm from /proc; the kernel's comm of the first event when /proc was gone. */
  comm: string;
  /** Target of /proc/<pid>/exe (may end in " (deleted)"); null when unknown (kernel thread, exited). */
  exe: string | null;
  /**
   * argv, scrubbed and bounded (see `CommandLineFilter`); empty for kernel threads; null when
   * unknown. The command line as read never leaves the resolver.
   */
  cmdline: string[] | null;
  /** The command line was longer than its bounds: `cmdline` is cut. */
  cmdlineTruncated: boolean;
  /** Real uid; null when unknown. */
  uid: number | null;
  ppid: number | null;
  /** Start time, ms since the epoch (btime + starttime ticks / CLK_TCK); null when unknown. */
  startTime: number | null;
  /** Start time in clock ticks after boot (/proc/<pid>/stat field 22): with pid, the identity. */
  startTicks: number | null;
  /** cgroup v2 id given by the kernel with the event that first captured the process. */
  cgroupId: number | null;
  /** The process's cgroup path read from /proc/<pid>/cgroup (v2 line, else the best v1 line). */
  cgroupPath: string | null;
  /** Fields that could not be read; empty when everything is known. */
  unknown: readonly ProcessField[];
  /** /proc/<pid> was already gone (or the pid belonged to a newer process) when captured. */
  exited: boolean;
  /** When /proc was read (or found gone), ms since the epoch. */
  capturedAt: number;
}

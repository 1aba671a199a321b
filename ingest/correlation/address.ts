/*
 * Address helpers of the correlation: loopback and wildcard tests, endpoint text, and the
 * connection key that both ends of one TCP connection compute identically.
 */

/** 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. */
export function isLoopback(addr: string): boolean {
  return addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.');
}

/** 0.0.0.0 or :: (a wildcard bind). */
export function isWildcard(addr: string): boolean {
  return addr === '0.0.0.0' || addr === '::';
}

/** `addr:port`, IPv6 in brackets. */
export function endpointText(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** Which end of the connection key a flow's local endpoint is: `a` is the lower endpoint text. */
export type Side = 'a' | 'b';

/**
 * The key of the connection a flow belongs to: the two endpoints sorted, so that the client's
 * and the server's records (local and remote swapped) give the same key. Loopback connections
 * never leave their host and network namespace, so their key is scoped by both.
 */
export function connectionKey(f: {
  hostId: string;
  netns: number;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
}): { key: string; side: Side } {
  const local = endpointText(f.localAddr, f.localPort);
  const remote = endpointText(f.remoteAddr, f.remotePort);
  const side: Side = local <= remote ? 'a' : 'b';
  const pair = side === 'a' ? `${local}|${remote}` : `${remote}|${local}`;
  const scope = isLoopback(f.remoteAddr) ? `${f.hostId}/${f.netns}/` : '';
  return { key: `${scope}${pair}`, side };
}

/** The key of a Process node: host id, pid and start time (pid reuse safe); `<host>/0/0` is "unattributed". */
export function processKey(hostId: string, pid: number, startTime: number): string {
  return `${hostId}/${pid}/${startTime}`;
}

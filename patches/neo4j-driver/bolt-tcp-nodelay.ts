import net from 'node:net';

let noDelayPatched = false;
/** The port of every Bolt server a driver of this process was created for. */
const boltPorts = new Set<number>();

/** The port of a `net.connect(port, host?, cb?)` or `net.connect({port, …})` call. */
function portOf(args: unknown[]): number | undefined {
  const [first] = args;
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) return Number(first);
  if (first !== null && typeof first === 'object' && 'port' in first)
    return Number((first as { port: number | string }).port);
  return undefined;
}

/**
 * The JavaScript driver (5.28) opens Bolt sockets with `net.connect(port, host)`, only sets
 * keep-alive on them (`configureSocket` in neo4j-driver-bolt-connection's node channel) and has
 * no socket option or factory to change that; Nagle's algorithm then makes a statement whose
 * request spans several TCP segments wait for the server's delayed ACK: ~45 ms per `tx.run`
 * measured on the local stack (the server reported 1 ms). This wraps `net.connect` once and sets
 * TCP_NODELAY only on sockets to a registered Bolt port (by port: the driver connects to
 * the resolved address, not the URL's host name); every other socket of the process
 * (Kafka, Redis, tests) is left as Node makes it, and `net.createConnection` is not touched.
 */
export function enableBoltTcpNoDelay(url: string): void {
  boltPorts.add(Number(new URL(url).port || 7687));
  if (noDelayPatched) return;
  noDelayPatched = true;
  const original = net.connect;
  const patched = function (this: unknown, ...args: unknown[]): net.Socket {
    const socket = (original as (...a: unknown[]) => net.Socket).apply(this, args);
    const port = portOf(args);
    if (port !== undefined && boltPorts.has(port)) socket.setNoDelay(true);
    return socket;
  };
  (net as { connect: unknown }).connect = patched;
}

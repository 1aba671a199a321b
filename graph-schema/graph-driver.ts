import net from 'node:net';
import neo4j, { type Driver } from 'neo4j-driver';
import { connectionUrls, stackConfig } from '../stack/stack-config';

/** Where and how to reach Neo4j. */
export interface GraphConnection {
  /** Bolt URL. @defaultValue `connectionUrls().neo4jBolt` (NETTOPO_NEO4J_BOLT_PORT) */
  url?: string;
  /** @defaultValue `stackConfig().neo4j.user` (NETTOPO_NEO4J_USER) */
  user?: string;
  /** @defaultValue `stackConfig().neo4j.password` (NETTOPO_NEO4J_PASSWORD) */
  password?: string;
  /** Database name; Community Edition has only `neo4j`. @defaultValue `'neo4j'` */
  database?: string;
}

let noDelayPatched = false;

/**
 * The JavaScript driver opens Bolt sockets with `net.connect(port, host)` and never disables
 * Nagle's algorithm; a statement whose request spans several TCP segments then waits for the
 * server's delayed ACK: ~45 ms per `tx.run` measured on the local stack (the server reported 1 ms),
 * which capped the ingest at a few thousand records/s. This sets TCP_NODELAY on every socket
 * made by `net.connect` in this process (Kafka's included, which only helps latency). Idempotent.
 */
export function enableTcpNoDelay(): void {
  if (noDelayPatched) return;
  noDelayPatched = true;
  const original = net.connect;
  const patched = function (this: unknown, ...args: unknown[]): net.Socket {
    const socket = (original as (...a: unknown[]) => net.Socket).apply(this, args);
    socket.setNoDelay(true);
    return socket;
  };
  (net as { connect: unknown }).connect = patched;
  (net as { createConnection: unknown }).createConnection = patched;
}

/** A driver for the configured Neo4j (the local stack's unless told otherwise). */
export function createGraphDriver(connection: GraphConnection = {}): Driver {
  enableTcpNoDelay();
  const config = stackConfig();
  return neo4j.driver(
    connection.url ?? connectionUrls(config).neo4jBolt,
    neo4j.auth.basic(connection.user ?? config.neo4j.user, connection.password ?? config.neo4j.password),
    { disableLosslessIntegers: false, maxTransactionRetryTime: 5_000, connectionAcquisitionTimeout: 10_000 },
  );
}

import neo4j, { type Driver } from 'neo4j-driver';
import { connectionUrls, stackConfig } from '../stack/stack-config';
import { enableBoltTcpNoDelay, installBoltChunking, installBoltPrimitives } from '../patches/neo4j-driver';

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

/** A driver for the configured Neo4j (the local stack's unless told otherwise). */
export function createGraphDriver(connection: GraphConnection = {}): Driver {
  const config = stackConfig();
  const url = connection.url ?? connectionUrls(config).neo4jBolt;
  enableBoltTcpNoDelay(url);
  installBoltChunking();
  installBoltPrimitives();
  return neo4j.driver(
    url,
    neo4j.auth.basic(connection.user ?? config.neo4j.user, connection.password ?? config.neo4j.password),
    { disableLosslessIntegers: false, maxTransactionRetryTime: 5_000, connectionAcquisitionTimeout: 10_000 },
  );
}

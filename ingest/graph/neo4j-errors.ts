import { Neo4jError } from 'neo4j-driver';
import { GraphUnavailableError, GraphWriteError, IngestError } from '../errors';

const RETRIABLE_CODES = new Set([
  'ServiceUnavailable',
  'SessionExpired',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
]);

const CONNECTION_TROUBLE =
  /ECONNREFUSED|ECONNRESET|socket hang up|Connection was closed|Pool is closed|acquisition timed out|No routing servers|Failed to connect/i;

/**
 * Sorts an error thrown while writing to Neo4j: unreachable server, expired session and transient
 * server errors (deadlocks, leader switches) are {@link GraphUnavailableError} (retriable); any
 * other error of Neo4j (syntax, type, constraint errors: the data or the query) is
 * {@link GraphWriteError}. An error that does not come from Neo4j or the connection to it (a
 * `TypeError` in the ingest's own code) is returned as it is: it is no reason to dead-letter data.
 */
export function classifyNeo4jError(err: unknown): unknown {
  if (err instanceof IngestError) return err; // sorted already, or the ingest's own (never Neo4j's)
  const e = err as { code?: string; message?: string; retriable?: boolean };
  const code = e?.code ?? '';
  const message = e?.message ?? String(err);
  const connection = RETRIABLE_CODES.has(code) || CONNECTION_TROUBLE.test(message);
  if (!(err instanceof Neo4jError) && !connection) return err;
  const retriable =
    connection || code.startsWith('Neo.TransientError.') || (err instanceof Neo4jError && err.retriable);
  return retriable
    ? new GraphUnavailableError(`Neo4j unavailable: ${message}`, { cause: err })
    : new GraphWriteError(`Neo4j refused the write: ${message}`, { cause: err });
}

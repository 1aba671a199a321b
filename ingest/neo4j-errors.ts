import { Neo4jError } from 'neo4j-driver';
import { GraphUnavailableError, GraphWriteError } from './errors';

const RETRIABLE_CODES = new Set([
  'ServiceUnavailable',
  'SessionExpired',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
]);

/**
 * Sorts an error thrown by the Neo4j driver: unreachable server, expired session and transient
 * server errors (deadlocks, leader switches) are {@link GraphUnavailableError} (retriable);
 * anything else (syntax, type, constraint errors: the data or the code) is {@link GraphWriteError}.
 */
export function classifyNeo4jError(err: unknown): GraphUnavailableError | GraphWriteError {
  if (err instanceof GraphUnavailableError || err instanceof GraphWriteError) return err;
  const e = err as { code?: string; message?: string; retriable?: boolean };
  const code = e?.code ?? '';
  const message = e?.message ?? String(err);
  const retriable =
    RETRIABLE_CODES.has(code) ||
    code.startsWith('Neo.TransientError.') ||
    (err instanceof Neo4jError && err.retriable) ||
    /ECONNREFUSED|ECONNRESET|socket hang up|Connection was closed|Pool is closed|acquisition timed out|No routing servers|Failed to connect/i.test(
      message,
    );
  return retriable
    ? new GraphUnavailableError(`Neo4j unavailable: ${message}`, { cause: err })
    : new GraphWriteError(`Neo4j refused the write: ${message}`, { cause: err });
}

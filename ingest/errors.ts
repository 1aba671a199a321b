import { NettopoError } from '../common/errors';

/** Base error of the ingest. */
export class IngestError extends NettopoError {}

/** Neo4j cannot be reached or lost the transaction (server down, leader switch, deadlock): try again later. */
export class GraphUnavailableError extends IngestError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: true, cause: options.cause });
  }
}

/** Neo4j refused a write for a reason that will not go away by retrying (a poison record, a bug). */
export class GraphWriteError extends IngestError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: false, cause: options.cause });
  }
}

/** The ingest was stopped while a batch was waiting (for Neo4j, for a rebalance). */
export class IngestStoppedError extends IngestError {}

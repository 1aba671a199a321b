import { NettopoError } from '../common/errors';

/**
 * Why a record could not be encoded or decoded. Stable strings: the ingest copies them into the
 * dead-letter record's `reason`.
 */
export type ContractErrorReason =
  /** The message has no `nettopo-schema` header (or it is repeated). */
  | 'missing-header'
  /** The header names a schema this build does not know (a newer version, another kind, a typo). */
  | 'unknown-schema'
  /** The schema is known but is not of the kind the caller expected on this topic. */
  | 'wrong-kind'
  /** The header's fingerprint differs from this build's schema of the same name: the writer's schema drifted. */
  | 'fingerprint-mismatch'
  /** The message has no value (a tombstone, or an empty message). */
  | 'no-value'
  /** The bytes do not decode with the writer's schema (garbage, truncated, trailing data). */
  | 'malformed-record'
  /** A record handed to `encode` does not match its schema, or a field cannot be converted. */
  | 'invalid-record'
  /** A schema file or definition is unusable (bad name, bad Avro, incompatible with its successor). */
  | 'invalid-schema';

/**
 * Base error of the event contract. Never retriable: the same bytes or the same record will fail
 * the same way again, so a consumer dead-letters the message instead of retrying it.
 */
export class ContractError extends NettopoError {
  /** Machine-readable reason. */
  readonly reason: ContractErrorReason;
  /** The schema name involved (`flow.v1`), when known. */
  readonly schema: string | undefined;

  constructor(
    reason: ContractErrorReason,
    message: string,
    options: { schema?: string; cause?: unknown } = {},
  ) {
    super(message, { retriable: false, cause: options.cause });
    this.reason = reason;
    this.schema = options.schema;
  }
}

/** The message does not say which schema wrote it, or says one this build cannot read. */
export class UnknownSchemaError extends ContractError {}

/** The message names a readable schema but its bytes do not decode with it. */
export class MalformedRecordError extends ContractError {}

/** A record given to the encoder (or to a conversion) does not match the contract. */
export class InvalidRecordError extends ContractError {}

/** A schema file or definition is unusable; raised when the catalog is built, never per message. */
export class SchemaDefinitionError extends ContractError {}

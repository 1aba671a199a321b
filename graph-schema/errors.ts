import { NettopoError } from '../common/errors';

/** A migration could not be applied (bad statement, a newer schema than this build knows). */
export class GraphSchemaError extends NettopoError {}

/** The database holds a schema version newer than any migration of this build: refuse to write into it. */
export class SchemaTooNewError extends GraphSchemaError {}

import { NettopoError } from '../common/errors';

/** Base error of the Kafka room. */
export class KafkaError extends NettopoError {}

/**
 * Kafka could not be reached or refused a batch. Retriable: the sink keeps the records in its
 * bounded buffer and tries again with back-off.
 */
export class KafkaUnavailableError extends KafkaError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: true, cause: options.cause });
  }
}

import { NettopoError } from '../common/errors';

/** Base error of the collector package. */
export class CollectorError extends NettopoError {}

/**
 * The host id could not be determined: neither machine-id file holds a valid id and no fallback
 * was allowed. Not retriable: the files will not appear by themselves.
 */
export class HostIdentityError extends CollectorError {}

/** No cgroup v2 hierarchy is mounted (checked in mountinfo), so cgroup ids cannot be resolved. */
export class CgroupV2NotMountedError extends CollectorError {}

/**
 * Kafka could not be reached or refused a batch. Retriable: the sink keeps the records in its
 * bounded buffer and tries again with back-off.
 */
export class KafkaUnavailableError extends CollectorError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: true, cause: options.cause });
  }
}

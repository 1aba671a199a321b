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

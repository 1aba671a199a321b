import { CollectorError } from '../errors';

/** Why the native collector cannot run here. */
export type NativeUnavailableReason =
  'not-built' | 'not-root' | 'no-btf' | 'no-bpf' | 'load-failed' | 'unknown';

/**
 * The native collector could not be loaded or opened: the addon is not built, the process is not
 * root, the kernel has no BTF or no BPF, or the BPF object failed to load. Not retriable.
 */
export class NativeUnavailableError extends CollectorError {
  readonly reason: NativeUnavailableReason;

  constructor(reason: NativeUnavailableReason, message: string, cause?: unknown) {
    super(message, { retriable: false, cause });
    this.reason = reason;
  }
}

/**
 * Base error of nettopo. Every package derives its own named subclasses from it.
 * `retriable` tells a caller whether trying the same operation again later can succeed
 * (a server that is down) or not (bad input, a missing capability).
 */
export class NettopoError extends Error {
  readonly retriable: boolean;

  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** Bad configuration: a flag, an environment variable or a config file value. Never retriable. */
export class ConfigError extends NettopoError {}

/** Wraps anything thrown that is not already a NettopoError; the one place unknown errors are adopted. */
export function toNettopoError(err: unknown): NettopoError {
  if (err instanceof NettopoError) return err;
  if (err instanceof Error) return new NettopoError(err.message, { cause: err });
  return new NettopoError(String(err));
}

/**
 * The exit status of every `nettopo` command (the README's table lists them per command):
 * what went wrong decides it, whichever command met it.
 */
export const EXIT_CODES = {
  /** Done. */
  ok: 0,
  /** Failed while running: a server lost for good, a writer that gave up, an internal error. */
  failed: 1,
  /** Bad usage or configuration: an unknown command, option, topic or log level, a bad number, a bad config file. */
  usage: 2,
  /** A collector could not deliver every record it made to Kafka (it says how many). */
  undelivered: 3,
  /** A server (Kafka, Neo4j, Redis, an API server) could not be reached in time. */
  unreachable: 4,
  /** A server refused the credentials (user, password, certificate). */
  unauthorized: 5,
} as const;

/**
 * Base error of nettopo. Every package derives its own named subclasses from it.
 * `retriable` tells a caller whether trying the same operation again later can succeed
 * (a server that is down) or not (bad input, a missing capability). `exitCode` is the status a
 * command that ends on it exits with ({@link EXIT_CODES}); a subclass sets its class's default
 * through a static `exitCode`.
 */
export class NettopoError extends Error {
  static readonly exitCode: number = EXIT_CODES.failed;
  /** Whether errors of the class are retriable unless told otherwise. */
  static readonly retriable: boolean = false;
  readonly retriable: boolean;
  readonly exitCode: number;

  constructor(message: string, options: { retriable?: boolean; cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? (new.target as typeof NettopoError).retriable;
    this.exitCode = options.exitCode ?? (new.target as typeof NettopoError).exitCode;
  }
}

/** Bad configuration: a flag, an environment variable or a config file value. Never retriable. */
export class ConfigError extends NettopoError {
  static override readonly exitCode: number = EXIT_CODES.usage;
}

/** A server could not be reached (refused, timed out, name not resolved). Retriable. */
export class UnreachableError extends NettopoError {
  static override readonly exitCode: number = EXIT_CODES.unreachable;
  static override readonly retriable: boolean = true;
}

/** A server refused the credentials. Not retriable: someone has to fix the user or password. */
export class UnauthorizedError extends NettopoError {
  static override readonly exitCode: number = EXIT_CODES.unauthorized;
}

/** Wraps anything thrown that is not already a NettopoError; the one place unknown errors are adopted. */
export function toNettopoError(err: unknown): NettopoError {
  if (err instanceof NettopoError) return err;
  if (err instanceof Error) return new NettopoError(err.message, { cause: err });
  return new NettopoError(String(err));
}

/**
 * The exit status for an error: its own, or, when it only wraps another (a start-up step that
 * failed because a server was unreachable), the first specific one along its causes.
 */
export function exitCodeOf(err: unknown): number {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof NettopoError && e.exitCode !== EXIT_CODES.failed) return e.exitCode;
  }
  return EXIT_CODES.failed;
}

import { NettopoError } from '../common';

/** Base error of the local stack (`nettopo stack …`). */
export class StackError extends NettopoError {}

/** A port the stack needs on 127.0.0.1 is held by another process. Retriable once the port is freed. */
export class PortInUseError extends StackError {
  readonly port: number;

  constructor(port: number, what: string, envVar: string) {
    super(
      `port ${port} (${what}) on 127.0.0.1 is already in use by another process; ` +
        `free it or choose another port with ${envVar}`,
      { retriable: true },
    );
    this.port = port;
  }
}

/** A program the stack needs (java, mvn, redis-server) is missing or too old. Not retriable. */
export class MissingToolError extends StackError {}

/** A server exited or did not answer in time while starting. Names the log file to read. */
export class ServerStartError extends StackError {
  readonly logFile: string;

  constructor(message: string, logFile: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(`${message} (log: ${logFile})`, options);
    this.logFile = logFile;
  }
}

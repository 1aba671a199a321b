import type { ServerName } from './stack-config';

/** A port a server binds, with what it is for and the variable that moves it. */
export interface PortSpec {
  port: number;
  what: string;
  envVar: string;
}

/** How to start a server: a program, its arguments and the folder it runs in. */
export interface LaunchCommand {
  command: string;
  args: string[];
  cwd: string;
  /** The server's whole environment; when absent it inherits the CLI's. */
  env?: NodeJS.ProcessEnv;
}

/** One server of the local stack, as `LocalStack` starts, probes and stops it. */
export interface ManagedServer {
  readonly name: ServerName;
  /** File receiving the server's stdout and stderr. */
  readonly logFile: string;
  /** Further log files the server writes itself (read by `stack logs` and for start-up errors). */
  readonly ownLogFiles: string[];
  /** Ports it binds on 127.0.0.1. */
  ports(): PortSpec[];
  /** Fetches what is missing (jars); does nothing when cached. */
  fetch(): Promise<void>;
  /** Writes its configuration, initialises storage when new, and says how to launch it. */
  prepare(): Promise<LaunchCommand>;
  /** Resolves when the server answers a real request; rejects otherwise. */
  probe(): Promise<void>;
  /** URL shown to users. */
  url(): string;
}

import { terminalText } from './terminal-text';

/**
 * A small leveled logger writing one line per message to stderr, so that stdout stays free
 * for data (JSON lines, tables). Level from NETTOPO_LOG_LEVEL (error|warn|info|debug), default info.
 * Messages are written through {@link terminalText}: a name from a host in a message can neither
 * act on the terminal nor start a line of its own.
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

const order: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

function currentLevel(): LogLevel {
  const env = process.env.NETTOPO_LOG_LEVEL as LogLevel | undefined;
  return env && env in order ? env : 'info';
}

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

export function createLogger(component: string): Logger {
  const write = (level: LogLevel, msg: string): void => {
    if (order[level] > order[currentLevel()]) return;
    process.stderr.write(
      `${new Date().toISOString()} ${level.padEnd(5)} [${component}] ${terminalText(msg)}\n`,
    );
  };
  return {
    error: (m) => write('error', m),
    warn: (m) => write('warn', m),
    info: (m) => write('info', m),
    debug: (m) => write('debug', m),
  };
}

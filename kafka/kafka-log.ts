import { logLevel, type LogEntry } from 'kafkajs';
import { createLogger, type Logger } from '../common/log';

/** How long the same kafkajs complaint is only counted after it was written. */
export const KAFKAJS_REPEAT_WINDOW_MS = 30_000;

/** kafkajs' log fields worth a line; the rest (its stack traces above all) go to debug. */
const KEPT_FIELDS = ['broker', 'topic', 'groupId', 'error', 'retryCount', 'retryTime'] as const;

/** What makes two complaints "the same": volatile parts (counts, delays, ids) removed. */
function complaintKey(namespace: string, message: string, error: unknown): string {
  const norm = (s: string): string => s.replace(/\d+/g, '#');
  return `${namespace}|${norm(message)}|${norm(String(error ?? ''))}`;
}

/**
 * Routes kafkajs' logger through common/log and summarises its retries: a client retrying against
 * a broker that is down repeats the same error (with a stack trace) several times a second. The
 * first of each complaint is written as one warning line without the stack; repeats within
 * {@link KAFKAJS_REPEAT_WINDOW_MS} are counted, and the next one after the window says how many
 * there were. kafkajs' info lines (every connect, every rebalance) become debug; stacks are debug.
 */
export class KafkajsLogSummary {
  private readonly seen = new Map<string, { lastWritten: number; repeats: number }>();

  constructor(
    private readonly log: Logger = createLogger('kafkajs'),
    private readonly now: () => number = Date.now,
    private readonly windowMs = KAFKAJS_REPEAT_WINDOW_MS,
  ) {}

  /** kafkajs' `logCreator`. */
  readonly logCreator = (): ((entry: LogEntry) => void) => (entry) => this.write(entry);

  write({ namespace, level, log }: LogEntry): void {
    const { message, stack, ...rest } = log as { message: string; stack?: string } & Record<string, unknown>;
    const fields: Record<string, string | number> = {};
    for (const k of KEPT_FIELDS) {
      const v = rest[k];
      if (typeof v === 'string' || typeof v === 'number') fields[k] = v;
    }
    const line = `${namespace}: ${message}`;
    if (level !== logLevel.ERROR && level !== logLevel.WARN) {
      this.log.debug(line, fields);
      return;
    }
    const key = complaintKey(namespace, message, rest.error);
    const state = this.seen.get(key);
    const t = this.now();
    if (state && t - state.lastWritten < this.windowMs) {
      state.repeats++;
      return;
    }
    if (state?.repeats) fields.repeated = state.repeats;
    this.seen.set(key, { lastWritten: t, repeats: 0 });
    if (this.seen.size > 1000) this.seen.delete(this.seen.keys().next().value as string);
    this.log.warn(
      state?.repeats
        ? `${line} (and ${state.repeats} more like it in the last ${Math.round((t - state.lastWritten) / 1000)} s)`
        : line,
      fields,
    );
    if (stack) this.log.debug(`${namespace}: ${String(stack)}`);
  }
}

let shared: KafkajsLogSummary | undefined;

/** The summary every kafkajs client of this thread shares (so two clients' retries count together). */
export function kafkajsLogSummary(): KafkajsLogSummary {
  shared ??= new KafkajsLogSummary();
  return shared;
}

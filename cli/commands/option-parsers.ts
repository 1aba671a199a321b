import { type Command, InvalidArgumentError } from 'commander';
import { parseDuration } from '../../common/duration';
import {
  commandLineOptionsFromEnv,
  DEFAULT_SENSITIVE_WORDS,
  parseSensitiveWords,
  type CommandLineOptions,
} from '../../collector';

/** Parses a positive number (seconds, MiB, …); `name` is the option's name in the error. */
export function positiveNumber(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

/** Parses a positive integer (counts, partitions, bytes). */
export function positiveInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

/** A comma-separated, repeatable list of non-negative integers (pids, ports). */
export function intList(name: string): (value: string, previous?: number[]) => number[] {
  return (value, previous = []) => {
    const out = [...previous];
    for (const part of value.split(',')) {
      const n = Number(part);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name}: '${part}' is not a number`);
      out.push(n);
    }
    return out;
  };
}

/** A comma-separated, repeatable list of strings. */
export function stringList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').filter((s) => s.length > 0)];
}

/** `--max-flows`: capacity of the kernel's flow map, shared by `collect` and `up`. */
export const MAX_FLOWS_OPTION = {
  flags: '--max-flows <n>',
  description:
    'open sockets tracked at once in the kernel (1024-16777216; past it the least recently used is evicted and counted; ~200 B of kernel memory each, preallocated)',
  parse: (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1024 || n > 16777216)
      throw new InvalidArgumentError('max-flows must be an integer from 1024 to 16777216');
    return n;
  },
  default: 131072,
} as const;

/** The flags of command-line scrubbing, as commander gives them. */
export interface ScrubFlags {
  /** false with --no-scrub. */
  scrub: boolean;
  scrubWords?: string[];
}

/** Adds `--scrub-words` and `--no-scrub` (shared by `collect` and `up`). */
export function scrubOptions(command: Command): Command {
  return command
    .option(
      '--scrub-words <words>',
      `more sensitive words (comma separated, repeatable; also NETTOPO_SCRUB_WORDS): command-line values whose key contains one read ******** (always: ${DEFAULT_SENSITIVE_WORDS.join(', ')})`,
      (value: string, previous: string[] = []) => {
        try {
          return [...previous, ...parseSensitiveWords(value)];
        } catch (err) {
          throw new InvalidArgumentError((err as Error).message);
        }
      },
    )
    .option(
      '--no-scrub',
      'publish command lines without scrubbing secrets (also NETTOPO_SCRUB_CMDLINE=0); not recommended',
    );
}

/** The command-line settings from the flags and the environment (the flags add to it). */
export function commandLineOptions(
  flags: ScrubFlags,
  env: NodeJS.ProcessEnv = process.env,
): CommandLineOptions {
  const fromEnv = commandLineOptionsFromEnv(env);
  return {
    scrub: flags.scrub && fromEnv.scrub !== false,
    sensitiveWords: [...(fromEnv.sensitiveWords ?? []), ...(flags.scrubWords ?? [])],
  };
}

/** A duration (`30s`, `5m`, `7d`; a bare number is seconds) in ms, > 0. */
export function duration(name: string): (value: string) => number {
  return (value) => {
    let ms: number;
    try {
      ms = parseDuration(value, name);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    if (ms <= 0) throw new InvalidArgumentError(`${name} must be longer than 0`);
    return ms;
  };
}

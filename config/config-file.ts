import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../common/errors';
import { configSchema, type NettopoConfig } from './config-schema';

/** A config file, read and validated. */
export interface LoadedConfig {
  /** Absolute path, for messages. */
  file: string;
  config: NettopoConfig;
}

/** `a.b[2].c` for a path of keys and indexes. */
function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, k) => (typeof k === 'number' ? `${out}[${k}]` : out ? `${out}.${String(k)}` : String(k)),
    '',
  );
}

/** One line for a schema problem: the key, then what is wrong with it. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const at = keyPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (at ? `${at}.${k}` : k));
    return `${keys.join(', ')}: unknown key${keys.length > 1 ? 's' : ''}`;
  }
  return `${at || '(top level)'}: ${issue.message}`;
}

/**
 * Validates a parsed document against the schema.
 * @throws ConfigError `<file>: <key>: <problem>` (every problem, on one line).
 */
export function validateConfig(document: unknown, file: string): NettopoConfig {
  const result = configSchema.safeParse(document ?? {});
  if (result.success) return result.data;
  throw new ConfigError(`${file}: ${result.error.issues.map(describeIssue).join('; ')}`);
}

/**
 * Reads and validates a YAML config file.
 * @throws ConfigError naming the file: unreadable, not YAML (with line and column), or a key
 * unknown or of a bad value (named by its path, e.g. `kafka.sasl.mechanism`).
 */
export function loadConfigFile(path: string): LoadedConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `config file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`,
    );
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const where = e.linePos ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';
    throw new ConfigError(`${file}: not valid YAML${where}: ${e.message.split('\n')[0]}`);
  }
  return { file, config: validateConfig(doc.toJS(), file) };
}

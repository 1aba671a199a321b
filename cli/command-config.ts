import { type Command, InvalidArgumentError, type Option } from 'commander';
import { ConfigError } from '../common/errors';
import {
  configureLogging,
  logSettingsFromEnv,
  parseLogFormat,
  parseLogLevel,
  type LogFormat,
  type LogLevel,
} from '../common/log';
import { COMMAND_SECTIONS, loadConfigFile, type LoadedConfig } from '../config';

/**
 * The config file of the command being run, and how its values become the command's options:
 * flags, then environment variables, then the file, then the defaults.
 */

const loaded = new WeakMap<Command, LoadedConfig>();

/** Adds `--config <file>` (also NETTOPO_CONFIG) to a command. */
export function withConfigOption(command: Command): Command {
  return command.option(
    '--config <file>',
    'YAML config file (default NETTOPO_CONFIG); flags and environment variables win over it',
  );
}

/** The config file the command was given (`--config` or NETTOPO_CONFIG), once `preAction` loaded it. */
export function configOf(command: Command): LoadedConfig | undefined {
  return loaded.get(command);
}

/** Whether the value of an option was given on the command line or in the environment (not a default). */
function givenElsewhere(command: Command, key: string): boolean {
  const source = command.getOptionValueSource(key);
  return source === 'cli' || source === 'env';
}

/** A file value through the flag's own parser (the same check, the same conversion). */
function parsed(option: Option, value: unknown, key: string, file: string): unknown {
  if (typeof value === 'boolean' || !option.parseArg) return value;
  const parse = option.parseArg as (v: string, previous: unknown) => unknown;
  try {
    if (Array.isArray(value)) return value.reduce<unknown>((acc, v) => parse(String(v), acc), undefined);
    return parse(String(value), undefined);
  } catch (err) {
    if (err instanceof InvalidArgumentError || err instanceof ConfigError)
      throw new ConfigError(`${file}: ${key}: ${err.message}`);
    throw err;
  }
}

/** Puts the file's values into the command's options that no flag or variable set. */
function applyToOptions(command: Command, values: [string, unknown, string][], file: string): void {
  for (const [key, value, fileKey] of values) {
    const option = command.options.find((o) => o.attributeName() === key);
    if (!option || value === undefined || givenElsewhere(command, key)) continue;
    command.setOptionValueWithSource(key, parsed(option, value, fileKey, file), 'config');
  }
}

/**
 * The `preAction` hook of the program: validates the log settings (flag, NETTOPO_LOG_*, file),
 * loads the config file of a command that takes one, and fills its options from it.
 */
export function prepareCommand(program: Command, command: Command): void {
  const global = program.opts<{ logLevel?: string; logFormat?: string }>();
  const path =
    command.options.some((o) => o.long === '--config') &&
    ((command.opts<{ config?: string }>().config ?? process.env.NETTOPO_CONFIG) || undefined);
  const file = path ? loadConfigFile(path) : undefined;
  if (file) loaded.set(command, file);

  const env = logSettingsFromEnv();
  const level: LogLevel = global.logLevel
    ? parseLogLevel(global.logLevel, '--log-level')
    : process.env.NETTOPO_LOG_LEVEL
      ? env.level
      : ((file?.config.log?.level as LogLevel | undefined) ?? 'info');
  const format: LogFormat = global.logFormat
    ? parseLogFormat(global.logFormat, '--log-format')
    : process.env.NETTOPO_LOG_FORMAT
      ? env.format
      : ((file?.config.log?.format as LogFormat | undefined) ?? env.format);
  configureLogging({ level, format });

  if (!file) return;
  const { config } = file;
  const section = COMMAND_SECTIONS[command.name() as keyof typeof COMMAND_SECTIONS];
  const own = section ? (config[section.key] as Record<string, unknown> | undefined) : undefined;
  const values: [string, unknown, string][] = Object.entries(own ?? {}).map(([k, v]) => [
    k,
    v,
    `${section?.key}.${k}`,
  ]);
  values.push(['topicPrefix', config.kafka?.topicPrefix, 'kafka.topicPrefix']);
  values.push(['metricsAddress', config.metrics?.address, 'metrics.address']);
  applyToOptions(command, values, file.file);
}

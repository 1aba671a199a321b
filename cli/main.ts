#!/usr/bin/env node
/**
 * The `nettopo` command line. Each command lives in its own module under cli/commands and
 * registers itself on the program; every command has --help.
 *
 * A command that fails ends with one line on stderr, `nettopo: <what and why>`, and an exit status
 * saying what kind of failure it was (common/errors.ts `EXIT_CODES`; the README has the table).
 */
import '../patches/kafkajs'; // before anything loads kafkajs: see the module
import { Command, CommanderError } from 'commander';
import { EXIT_CODES, exitCodeOf, packageVersion, terminalText, toNettopoError } from '../common';
import { prepareCommand } from './command-config';
import { commands } from './commands';

export function buildProgram(): Command {
  const program = new Command('nettopo')
    .description('Live network topology of hosts and Kubernetes clusters, from the kernel up.')
    .version(packageVersion())
    .option(
      '--log-level <level>',
      'error, warn, info, debug, trace or silent (default NETTOPO_LOG_LEVEL, else info)',
    )
    .option(
      '--log-format <format>',
      'json or pretty (default NETTOPO_LOG_FORMAT, else pretty on a terminal, json otherwise)',
    )
    .exitOverride()
    .configureOutput({
      // Commander's own errors (unknown option, bad value) as one line, like every other failure.
      outputError: (text, write) =>
        write(
          `nettopo: ${text
            .replace(/^error: /, '')
            .trim()
            .replace(/\n+/g, ' ')} (see --help)\n`,
        ),
    })
    .hook('preAction', (_program, command) => prepareCommand(program, command));
  for (const register of commands) register(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version end here too (exit 0); a usage error was already printed.
      process.exitCode =
        err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version'
          ? EXIT_CODES.ok
          : EXIT_CODES.usage;
      return;
    }
    const e = toNettopoError(err);
    process.stderr.write(`nettopo: ${terminalText(e.message)}\n`);
    process.exitCode = exitCodeOf(err);
  }
}

if (require.main === module) void main();

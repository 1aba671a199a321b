#!/usr/bin/env node
/**
 * The `nettopo` command line. Each command lives in its own module under cli/commands and
 * registers itself on the program; every command has --help.
 */
import '../patches/kafkajs'; // before anything loads kafkajs: see the module
import { Command } from 'commander';
import { packageVersion, terminalText, toNettopoError } from '../common';
import { commands } from './commands';

export function buildProgram(): Command {
  const program = new Command('nettopo')
    .description('Live network topology of hosts and Kubernetes clusters, from the kernel up.')
    .version(packageVersion())
    .showHelpAfterError();
  for (const register of commands) register(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    const e = toNettopoError(err);
    process.stderr.write(`nettopo: ${terminalText(e.message)}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();

import type { Command } from 'commander';
import { registerAlerts } from './alerts';
import { registerCollect } from './collect';
import { registerEvents } from './events';
import { registerIngest } from './ingest';
import { registerK8sWatch } from './k8s-watch';
import { registerReports } from './reports';
import { registerTopology } from './topology';
import { registerSchema } from './schema';
import { registerStack } from './stack';
import { registerUp } from './up';

/** A command module adds its command (and subcommands) to the program. */
export type RegisterCommand = (program: Command) => void;

/** Every command of the CLI, in the order --help lists them. */
export const commands: RegisterCommand[] = [
  registerUp,
  registerStack,
  registerCollect,
  registerEvents,
  registerSchema,
  registerIngest,
  registerK8sWatch,
  registerTopology,
  registerReports,
  registerAlerts,
];

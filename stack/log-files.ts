import { existsSync, readFileSync, statSync } from 'node:fs';

/** Last line of a log file that looks like the reason of a failure, for one-line errors. */
export function lastErrorLine(logFile: string): string | undefined {
  if (!existsSync(logFile)) return undefined;
  if (statSync(logFile).mtimeMs < Date.now() - 10 * 60_000) return undefined; // not from this start
  const lines = readFileSync(logFile, 'utf8')
    .split('\n')
    .slice(-200)
    .map((l) => l.trim());
  const hit = [...lines]
    .reverse()
    .find((l) => /(ERROR|Exception|error|Error|FATAL|Fatal)/.test(l) && !/^at /.test(l));
  return hit ? hit.slice(0, 240) : undefined;
}

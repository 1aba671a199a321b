import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import * as readline from 'node:readline';

const CLI = join(__dirname, '..', '..', 'cli', 'main.ts');

/** How `nettopo` runs from the sources: this Node.js with tsx. A launcher (setpriv, a container) may wrap it. */
export function nettopoCommand(): string[] {
  return [process.execPath, '--require', 'tsx/cjs', CLI];
}

/**
 * A `nettopo` command run as a user runs it, in its own process: its stdout JSON lines parsed
 * (or, with `json: false`, kept as bytes, e.g. a table), its stderr kept. Always call stop().
 */
export class CliRun<T = unknown> {
  readonly lines: T[] = [];
  stderr = '';
  /** Every byte written to stdout, as written (a terminal would get exactly these). */
  stdout = Buffer.alloc(0);
  private readonly child: ChildProcess;

  /** `options.command`: what runs `nettopo` (default {@link nettopoCommand}); `args` follow it. */
  constructor(
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
    options: { json?: boolean; command?: string[] } = {},
  ) {
    const [file, ...prefix] = options.command ?? nettopoCommand();
    this.child = spawn(file!, [...prefix, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Log lines as people read them (`time level [component] message`), which tests match.
      env: { ...env, NETTOPO_LOG_FORMAT: env.NETTOPO_LOG_FORMAT ?? 'pretty' },
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout = Buffer.concat([this.stdout, d])));
    if (options.json ?? true)
      readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
        if (line.trim()) this.lines.push(JSON.parse(line) as T);
      });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  get exitCode(): number | null {
    return this.child.exitCode;
  }

  /** Waits (bounded) until stderr matches. */
  async waitForLog(pattern: RegExp, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stderr)) {
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`never logged ${pattern}; stderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits (bounded) until stdout holds `text` (a table's cell, say). */
  async waitForStdout(text: string, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stdout.includes(text)) {
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`never printed ${JSON.stringify(text)}; stderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits (bounded) until some output line matches; returns it. */
  async waitForLine(match: (line: T) => boolean, timeoutMs = 20000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching line; stderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits (bounded) for the process to exit by itself. */
  async exited(timeoutMs = 30000): Promise<number | null> {
    if (this.child.exitCode === null) {
      await Promise.race([
        new Promise((r) => this.child.once('exit', r)),
        new Promise((r) => setTimeout(r, timeoutMs)),
      ]);
    }
    return this.child.exitCode;
  }

  /** SIGINT, then waits for the exit (SIGKILL after `timeoutMs`). Returns stderr. */
  async stop(timeoutMs = 30000): Promise<string> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGINT');
      const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(t);
    }
    return this.stderr;
  }
}

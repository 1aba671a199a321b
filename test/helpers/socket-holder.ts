import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'socket-holder.py');

/**
 * A process in a network namespace holding `connections` loopback TCP connections open (2 sockets
 * each, one byte sent each way) on 127.0.0.1:`basePort`..`basePort`+3 (test/fixtures/socket-holder.py).
 * One process holds as many as its open-file limit allows: use several for more.
 */
export class SocketHolder {
  private constructor(private readonly child: ChildProcess) {}

  /** Resolves once every connection is open. */
  static async open(ns: string, connections: number, basePort: number): Promise<SocketHolder> {
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, 'python3', FIXTURE, String(connections), String(basePort)],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      readline.createInterface({ input: child.stdout! }).on('line', (l) => l === 'ready' && resolve());
      child.once('exit', (code) => reject(new Error(`socket holder exited ${code}: ${stderr.trim()}`)));
      child.once('error', reject);
    });
    return new SocketHolder(child);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

/** One JSON line reported by test/fixtures/tcp-peer.py. */
export interface PeerReport {
  event: 'listening' | 'served' | 'accepted' | 'ready' | 'connected' | 'done' | 'failed';
  pid: number;
  comm: string;
  port?: number;
  sent?: number;
  received?: number;
  localPort?: number;
  peerPort?: number;
  errno?: number;
}

/** Options of the peer, passed to the fixture as JSON. */
export interface PeerOptions {
  role: 'server' | 'client';
  host: string;
  port: number;
  /** Client: bytes to send (after `before` when holding). */
  send?: number;
  /** Server: bytes to reply after reading to EOF. */
  reply?: number;
  /** "sr" = send/recv, "rw" = os.write/os.read on the fd. */
  io?: 'sr' | 'rw';
  connections?: number;
  /** Client: connect, send `before`, report "connected", wait for release(). */
  hold?: boolean;
  before?: number;
  /** Server: accept one connection, report "accepted", neither read nor write until release(). */
  silent?: boolean;
  /** Client: report "ready" (its pid), connect only after release(). */
  waitBeforeConnect?: boolean;
}

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'tcp-peer.py');
let python: string | undefined;

function pythonPath(): string {
  python ??= execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
  }).trim();
  return python;
}

/** A tcp-peer.py child running inside a network namespace. */
export class PeerProcess {
  private readonly child: ChildProcess;
  private readonly reports: PeerReport[] = [];
  private readonly waiters: Array<() => void> = [];
  private stderr = '';

  /**
   * @param cgroupDir - a cgroup v2 directory the peer runs in (it moves itself there before exec,
   * so it never runs outside it)
   */
  constructor(ns: string, options: PeerOptions, cgroupDir?: string) {
    const argv = ['ip', 'netns', 'exec', ns, pythonPath(), FIXTURE, JSON.stringify(options)];
    this.child = cgroupDir
      ? spawn('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroupDir, ...argv], {
          stdio: ['pipe', 'pipe', 'pipe'],
        })
      : spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.reports.push(JSON.parse(line) as PeerReport);
      this.waiters.splice(0).forEach((w) => w());
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.on('exit', () => this.waiters.splice(0).forEach((w) => w()));
  }

  /** Waits (bounded) for the report of one event. */
  async waitFor(event: PeerReport['event'], timeoutMs = 10000): Promise<PeerReport> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.reports.find((r) => r.event === event);
      if (found) return found;
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`peer never reported ${event}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Lets a holding client (or a silent server, or a client waiting to connect) go on. */
  release(): void {
    this.child.stdin!.write('go\n');
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

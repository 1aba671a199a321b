import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

/** One JSON line reported by test/fixtures/tcp-peer.py. */
export interface PeerReport {
  event:
    | 'listening'
    | 'served'
    | 'accepted'
    | 'ready'
    | 'connected'
    | 'done'
    | 'failed'
    | 'called'
    | 'half-closed';
  pid: number;
  comm: string;
  port?: number;
  sent?: number;
  received?: number;
  localPort?: number;
  peerPort?: number;
  errno?: number;
  /** Relay's "called": the upstream it called. */
  host?: string;
}

/** One server a relay calls for every request it serves. */
export interface PeerUpstream {
  host: string;
  port: number;
  /** Bytes sent to it (then the relay reads its reply to EOF). */
  send: number;
}

/**
 * One crafted argument of a peer: the hex of its bytes, a hex piece repeated (a huge argument
 * without a huge option string: the kernel takes 128 KiB per argument), or parts joined.
 */
export type PeerArgument = string | { hex: string; repeat: number } | PeerArgument[];

/** Options of the peer, passed to the fixture as JSON. */
export interface PeerOptions {
  /** relay: a server that, for each request, calls its `upstreams` before replying. */
  role: 'server' | 'client' | 'relay';
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
  /** Client: after sending and shutting down its write side, report "half-closed" and wait for release() before reading the reply. */
  readLater?: boolean;
  /** Relay: the servers called, in order, for each request (one "called" report each). */
  upstreams?: PeerUpstream[];
  /** The name the peer gives itself (hex of its bytes, written to /proc/self/comm) before it connects. */
  comm?: string;
  /**
   * Arguments the peer runs with after its own; it re-executes itself with them before it does
   * anything else.
   */
  argv?: PeerArgument[];
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

  /** Every report of one event so far (a relay reports "called" once per upstream call). */
  reportsOf(event: PeerReport['event']): PeerReport[] {
    return this.reports.filter((r) => r.event === event);
  }

  /** Lets a holding client (or a silent server, or a client waiting to connect) go on. */
  release(): void {
    this.child.stdin!.write('go\n');
  }

  /** Waits (bounded) until the peer has exited (its sockets are then closed). */
  async exited(timeoutMs = 10000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`peer did not exit; stderr: ${this.stderr}`)), timeoutMs);
      this.child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

/** Addresses of the two test hosts (198.18.0.0/15 and the 2001:2::/48 benchmarking ranges). */
export const HOST_A = { v4: '198.18.0.1', v6: '2001:2:0:1::1' } as const;
export const HOST_B = { v4: '198.18.0.2', v6: '2001:2:0:1::2' } as const;

let counter = 0;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Two test hosts, each a network namespace, joined by one veth pair and nothing else: no route
 * leaves them. Names are unique per test run (`nt<pid>-<n>-a|b`). Always call destroy().
 */
export class TestNetwork {
  readonly a: string;
  readonly b: string;
  private destroyed = false;

  private constructor(prefix: string) {
    this.a = `${prefix}-a`;
    this.b = `${prefix}-b`;
  }

  /** Creates both namespaces and the link; on failure removes whatever it made. */
  static create(): TestNetwork {
    counter += 1;
    const net = new TestNetwork(`nt${process.pid}-${counter}`);
    try {
      ip('netns', 'add', net.a);
      ip('netns', 'add', net.b);
      ip('link', 'add', 'veth0', 'netns', net.a, 'type', 'veth', 'peer', 'name', 'veth0', 'netns', net.b);
      for (const [ns, host] of [
        [net.a, HOST_A],
        [net.b, HOST_B],
      ] as const) {
        ip('-n', ns, 'link', 'set', 'lo', 'up');
        ip('-n', ns, 'addr', 'add', `${host.v4}/24`, 'dev', 'veth0');
        ip('-n', ns, '-6', 'addr', 'add', `${host.v6}/64`, 'dev', 'veth0', 'nodad');
        ip('-n', ns, 'link', 'set', 'veth0', 'up');
      }
    } catch (err) {
      net.destroy();
      throw err;
    }
    return net;
  }

  /** Inode of a namespace: the `netns` the kernel side reports. */
  inode(ns: string): number {
    return fs.statSync(`/run/netns/${ns}`).ino;
  }

  /** Runs a command inside a namespace (iptables, ip …). */
  exec(ns: string, cmd: string, ...args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' });
  }

  /** Deletes both namespaces (the veth pair goes with them). Safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const ns of [this.a, this.b]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // absent already
      }
    }
  }

  /** Namespaces of this test run still present (for the "nothing stays behind" check). */
  static leftovers(): string[] {
    const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((n) => n.startsWith(`nt${process.pid}-`));
  }
}

/** One host of a {@link TestFleetNetwork}: its namespace and IPv4 address. */
export interface FleetHost {
  /** Namespace name (`ip netns exec <ns>`). */
  ns: string;
  /** Its address on the fleet's /24, from 198.18.0.0/15. */
  v4: string;
}

/**
 * Several test hosts on one switch: a namespace per host, each with one veth (`eth0`) into a
 * switch namespace that holds a bridge and nothing else (no address, no route out). Hosts get
 * `198.19.<subnet>.<10 + i>/24`, with a random subnet per fleet so that fleets of parallel runs
 * (and graph data of earlier ones) never share an address. Always call destroy().
 */
export class TestFleetNetwork {
  readonly hosts: FleetHost[];
  readonly subnet: string;
  private readonly switchNs: string;
  private readonly all: string[];
  private destroyed = false;

  private constructor(prefix: string, count: number) {
    const third = 1 + Math.floor(Math.random() * 254);
    this.subnet = `198.19.${third}.0/24`;
    this.switchNs = `${prefix}-sw`;
    this.hosts = Array.from({ length: count }, (_, i) => ({
      ns: `${prefix}-h${i}`,
      v4: `198.19.${third}.${10 + i}`,
    }));
    this.all = [this.switchNs, ...this.hosts.map((h) => h.ns)];
  }

  /** Creates the switch and `count` hosts; on failure removes whatever it made. */
  static create(count: number): TestFleetNetwork {
    counter += 1;
    const net = new TestFleetNetwork(`nt${process.pid}-${counter}`, count);
    try {
      ip('netns', 'add', net.switchNs);
      ip('-n', net.switchNs, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', net.switchNs, 'link', 'set', 'br0', 'up');
      net.hosts.forEach((host, i) => {
        ip('netns', 'add', host.ns);
        const port = `p${i}`;
        ip(
          'link',
          'add',
          'eth0',
          'netns',
          host.ns,
          'type',
          'veth',
          'peer',
          'name',
          port,
          'netns',
          net.switchNs,
        );
        ip('-n', net.switchNs, 'link', 'set', port, 'master', 'br0');
        ip('-n', net.switchNs, 'link', 'set', port, 'up');
        ip('-n', host.ns, 'link', 'set', 'lo', 'up');
        ip('-n', host.ns, 'addr', 'add', `${host.v4}/24`, 'dev', 'eth0');
        ip('-n', host.ns, 'link', 'set', 'eth0', 'up');
      });
    } catch (err) {
      net.destroy();
      throw err;
    }
    return net;
  }

  /** Inode of a host's namespace: the `netns` the kernel side reports. */
  inode(ns: string): number {
    return fs.statSync(`/run/netns/${ns}`).ino;
  }

  /** Deletes every namespace (the veths and the bridge go with them). Safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const ns of this.all) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // absent already
      }
    }
  }
}

import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createLogger } from '../../common/log';

const run = promisify(execFile);
const log = createLogger('netns');

/** One interface address of a network namespace. */
export interface NetnsInterfaceAddress {
  /** Canonical text (IPv4 dotted, IPv6 RFC 5952 as `ip` prints it). */
  address: string;
  prefixLength: number;
  ifname: string | null;
}

/** A network namespace and its addresses. */
export interface NetnsAddressList {
  /** Inode number of the namespace (what the kernel side reports as `netns`). */
  netns: number;
  /** A path that enters it (`/proc/<pid>/ns/net` or `/run/netns/<name>`). */
  path: string;
  addresses: NetnsInterfaceAddress[];
}

/** Options of {@link readNetnsAddresses}. */
export interface NetnsAddressOptions {
  /** @defaultValue `'/proc'` */
  procRoot?: string;
  /** Folder of named namespaces (`ip netns add`). @defaultValue `'/run/netns'` */
  namedRoot?: string;
  /** `ip` invocations run at once. @defaultValue `8` */
  concurrency?: number;
  /** Only these namespaces (inode numbers). @defaultValue every namespace */
  only?: readonly number[];
  /**
   * Most namespaces read (named ones first, then by pid): each costs an `ip` run, and a process
   * may make as many as it likes.
   * @defaultValue every namespace
   */
  limit?: number;
}

interface IpAddrInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
}
interface IpLink {
  ifname?: string;
  addr_info?: IpAddrInfo[];
}

/** Parses `ip -j addr show` output into addresses (IPv4 and IPv6, loopback included). */
export function parseIpAddrJson(text: string): NetnsInterfaceAddress[] {
  const links = JSON.parse(text || '[]') as IpLink[];
  const out: NetnsInterfaceAddress[] = [];
  for (const link of links) {
    for (const a of link.addr_info ?? []) {
      if ((a.family !== 'inet' && a.family !== 'inet6') || !a.local) continue;
      out.push({ address: a.local, prefixLength: a.prefixlen ?? 0, ifname: link.ifname ?? null });
    }
  }
  return out;
}

/** Every network namespace reachable through /proc/<pid>/ns/net or /run/netns, one path each. */
export async function listNetns(options: NetnsAddressOptions = {}): Promise<Map<number, string>> {
  const procRoot = options.procRoot ?? '/proc';
  const namedRoot = options.namedRoot ?? '/run/netns';
  const found = new Map<number, string>();
  const candidates: string[] = [];
  for (const name of await readdir(namedRoot).catch(() => [] as string[]))
    candidates.push(`${namedRoot}/${name}`);
  for (const pid of await readdir(procRoot)) {
    if (/^\d+$/.test(pid)) candidates.push(`${procRoot}/${pid}/ns/net`);
  }
  // stat follows the nsfs link: st_ino is the namespace's inode number.
  const inodes = await Promise.all(
    candidates.map((p) =>
      stat(p).then(
        (s) => s.ino,
        () => null,
      ),
    ),
  );
  candidates.forEach((p, i) => {
    const ino = inodes[i];
    if (ino !== null && ino !== undefined && !found.has(ino)) found.set(ino, p);
  });
  return found;
}

/**
 * The addresses of every network namespace the collector can see: namespaces are found through
 * /proc/<pid>/ns/net (any process's, containers included) and /run/netns (named ones), and read
 * with `nsenter --net=<path> ip -j addr show`. A namespace that vanishes meanwhile is left out.
 */
export async function readNetnsAddresses(options: NetnsAddressOptions = {}): Promise<NetnsAddressList[]> {
  const only = options.only?.length ? new Set(options.only) : undefined;
  const namespaces = [...(await listNetns(options)).entries()]
    .filter(([netns]) => !only || only.has(netns))
    .slice(0, options.limit ?? Infinity);
  const out: NetnsAddressList[] = [];
  const concurrency = options.concurrency ?? 8;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < namespaces.length) {
      const [netns, path] = namespaces[next++] as [number, string];
      try {
        const { stdout } = await run('nsenter', [`--net=${path}`, 'ip', '-j', 'addr', 'show'], {
          timeout: 5000,
          maxBuffer: 16 * 1024 * 1024,
        });
        out.push({ netns, path, addresses: parseIpAddrJson(stdout) });
      } catch (err) {
        log.debug(`netns ${netns} (${path}) not read: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, namespaces.length) }, worker));
  return out.sort((a, b) => a.netns - b.netns);
}

/**
 * The inode number of a network namespace given by name (`ip netns add <name>`, looked up in
 * `namedRoot`), by path (`/proc/<pid>/ns/net`), or by inode number (as `lsns -t net` prints it).
 * @throws Error when the name or path does not exist.
 */
export function resolveNetns(spec: string, namedRoot = '/run/netns'): number {
  if (/^\d+$/.test(spec)) return Number(spec);
  const path = spec.includes('/') ? spec : `${namedRoot}/${spec}`;
  try {
    return statSync(path).ino;
  } catch (err) {
    throw new Error(
      `network namespace '${spec}' not found (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
}

import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { HostIdentityError } from '../errors';

/** Who this host is, as written into every record (`FlowRecord.hostId`) and the `Host` node. */
export interface HostInfo {
  /** 32 lower-case hex digits (machine-id format). */
  hostId: string;
  hostname: string;
  /** The file the id was read from, or `'override'`. */
  hostIdSource: string;
}

export interface HostInfoOptions {
  /**
   * Use this id instead of reading one (32 hex digits, or a UUID); e.g. to let one machine act as
   * several hosts of a simulated fleet, one collector per network namespace.
   * @defaultValue read from {@link HostInfoOptions.idFiles}
   */
  hostId?: string;
  /**
   * Files tried in order; the first holding a valid machine-id (32 hex digits) wins.
   * The DMI product UUID is the documented last resort: stable across reboots on VMs and
   * hardware, but shared by clones of one VM image, hence after the two machine-id files.
   * @defaultValue `['/etc/machine-id', '/var/lib/dbus/machine-id', '/sys/class/dmi/id/product_uuid']`
   */
  idFiles?: readonly string[];
  /**
   * Host name to report.
   * @defaultValue `os.hostname()`
   */
  hostname?: string;
}

export const DEFAULT_HOST_ID_FILES: readonly string[] = [
  '/etc/machine-id',
  '/var/lib/dbus/machine-id',
  '/sys/class/dmi/id/product_uuid',
];

/**
 * Normalises the content of a machine-id or product_uuid file to 32 lower-case hex digits
 * (dashes of a UUID removed); null when it is not an id (empty, "uninitialized", all zeros).
 */
export function parseMachineId(text: string): string | null {
  const id = text.trim().toLowerCase().replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(id) || /^0+$/.test(id)) return null;
  return id;
}

/**
 * Reads the host identity once at start-up (blocking; a few small files), or takes the
 * {@link HostInfoOptions.hostId} override.
 * @throws HostIdentityError when the override is not an id, or no file holds a valid id.
 */
export function readHostInfo(options: HostInfoOptions = {}): HostInfo {
  if (options.hostId !== undefined) {
    const hostId = parseMachineId(options.hostId);
    if (!hostId)
      throw new HostIdentityError(
        `host id override '${options.hostId}' is not 32 hex digits (machine-id format)`,
      );
    return { hostId, hostname: options.hostname ?? osHostname(), hostIdSource: 'override' };
  }
  const files = options.idFiles ?? DEFAULT_HOST_ID_FILES;
  const tried: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      tried.push(`${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      continue;
    }
    const hostId = parseMachineId(text);
    if (hostId) return { hostId, hostname: options.hostname ?? osHostname(), hostIdSource: file };
    tried.push(`${file}: not a machine id`);
  }
  throw new HostIdentityError(
    `no host id found (${tried.join('; ')}); run systemd-machine-id-setup or dbus-uuidgen --ensure`,
  );
}

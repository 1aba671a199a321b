/**
 * The native collector's surface, typed once, and its loader.
 * The addon is `collector-native/` (built by `scripts/build-native.sh`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NativeUnavailableError, NativeUnavailableReason } from './native-unavailable-error';

/** Options of {@link openNativeCollector}. */
export interface NativeCollectorOptions {
  /**
   * Process whose own sockets are not traced (the collector's Kafka client).
   * @defaultValue the current process
   */
  ignorePid?: number;
  /**
   * The ring buffer wakes the reader only past this backlog; below it, it is drained on a timer.
   * @defaultValue 262144
   */
  wakeupBytes?: number;
  /**
   * Period of the ring buffer drain, ms.
   * @defaultValue 100
   */
  pollIntervalMs?: number;
  /**
   * Size of the `events` ring buffer in bytes: a power of 2, at least 4096.
   * @defaultValue 1048576 (`RINGBUF_BYTES` in bpf/nettopo.h)
   */
  ringbufBytes?: number;
  /**
   * Capacity of the kernel's `flows` map (open sockets tracked at once; past it the least recently
   * used entry is evicted and counted): 1024 to 16777216. The map is preallocated: about 200 bytes of
   * kernel memory per entry.
   * @defaultValue 131072 (`MAX_FLOWS` in bpf/nettopo.h)
   */
  maxFlows?: number;
  /**
   * Programs (by name, as {@link NativeCapability.name}) left out on purpose; they are reported
   * as not attached, `disabled`, like a program this kernel cannot run.
   * @defaultValue none
   */
  disablePrograms?: string[];
}

/** One BPF program and whether it is active here. */
export interface NativeCapability {
  /** Program name in bpf/*.bpf.c. */
  name: string;
  /** Its attach point (ELF section), e.g. `tp_btf/sock_send_length`. */
  section: string;
  attached: boolean;
  /** Left out by the `disablePrograms` option. */
  disabled: boolean;
  /** Why it did not load or attach. */
  error?: string;
}

/** Counters of everything lost or estimated. */
export interface NativeStats {
  /** Events dropped because the ring buffer was full. */
  ringbufFull: number;
  /** Entries ever created in `flows`. */
  flowsCreated: number;
  /** Inserts into `flows` that failed. */
  flowUpdateFailed: number;
  /** Listener inserts that failed (`listeners` full). */
  listenersFull: number;
  /** TCP sockets that closed without an entry in `flows` (opened before start, never used). */
  closeUnknown: number;
  /** Closed entries deleted after readFlows() returned them. */
  flowsDeleted: number;
  /** Open entries at the last readFlows(). */
  flowsPresent: number;
  /** Entries the LRU map evicted before they were read: created − deleted − present (at least). */
  flowsEvicted: number;
  /** Events handed to JavaScript. */
  eventsDelivered: number;
  /** Event batches lost to a failed allocation. */
  batchOutOfMemory: number;
  /** Capacity of `flows` (the maxFlows option). */
  flowsCapacity: number;
}

/** An opened collector: programs loaded and attached. */
export interface NativeCollector {
  capabilities(): NativeCapability[];
  /** Starts draining the ring buffer; batches of packed `struct event` (see native-records.ts). */
  start(onEvents: (batch: Buffer) => void): void;
  /** Stops draining (the last events are delivered first). */
  stop(): void;
  /** Sockets and listeners that existed before: packed `struct flow`, one per socket. */
  snapshot(): Buffer;
  /** Every flow entry as packed `struct flow`; closed ones are deleted once returned. */
  readFlows(): Buffer;
  stats(): NativeStats;
  /** Detaches everything and frees the maps. */
  close(): void;
}

/** The addon module. */
export interface NativeModule {
  Collector: new (options?: NativeCollectorOptions) => NativeCollector;
  /** CLOCK_REALTIME − CLOCK_BOOTTIME in ms: epoch ms = offset + bootNs / 1e6. */
  bootTimeOffsetMs(): number;
  recordSizes: { flow: number; event: number };
}

const ADDON = 'nettopo_native.node';

/** Where the addon is looked for, in order. */
export function nativeCandidatePaths(): string[] {
  const roots = [path.resolve(__dirname, '..'), path.resolve(__dirname, '..', '..'), process.cwd()];
  const paths: string[] = [];
  if (process.env.NETTOPO_NATIVE) paths.push(path.resolve(process.env.NETTOPO_NATIVE));
  for (const root of roots) {
    for (const kind of ['Release', 'Debug']) {
      const p = path.join(root, 'collector-native', 'build', kind, ADDON);
      if (!paths.includes(p)) paths.push(p);
    }
  }
  return paths;
}

let cached: NativeModule | undefined;

/** Loads the addon; the error names every path tried and what was wrong with each. */
export function loadNative(): NativeModule {
  if (cached) return cached;
  const tried: string[] = [];
  for (const p of nativeCandidatePaths()) {
    if (!fs.existsSync(p)) {
      tried.push(`${p}: missing`);
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      cached = require(p) as NativeModule;
      return cached;
    } catch (err) {
      tried.push(`${p}: ${(err as Error).message}`);
    }
  }
  throw new NativeUnavailableError(
    'not-built',
    `nettopo native addon not found or not loadable (build it with scripts/build-native.sh); tried:\n  ${tried.join('\n  ')}`,
  );
}

const REASONS: Record<string, NativeUnavailableReason> = {
  ENOTROOT: 'not-root',
  ENOBTF: 'no-btf',
  ENOBPF: 'no-bpf',
  ELOAD: 'load-failed',
};

/** Loads the addon and opens a collector (loads and attaches the BPF programs). */
export function openNativeCollector(options: NativeCollectorOptions = {}): NativeCollector {
  const native = loadNative();
  try {
    return new native.Collector(options);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    throw new NativeUnavailableError(REASONS[code] ?? 'unknown', (err as Error).message, err);
  }
}

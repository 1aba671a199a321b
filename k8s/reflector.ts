import type { Logger } from '../common/log';
import { KubeApiError } from './errors';
import type { KubeClient, KubeObject, WatchEvent } from './kube-client';

/** What a reflector reports to: the full state after each list, then each change. */
export interface ReflectorHandler<T extends KubeObject> {
  /** Every object of the collection, as listed (the first list, and each re-list after a watch expired). */
  replace(items: T[], resourceVersion: string): void;
  /** One object added, modified or deleted (a DELETED event carries its last state). */
  change(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T): void;
}

/** Options of a {@link Reflector}. */
export interface ReflectorOptions {
  /** The API server ends each watch after this long, and the reflector watches again from where it was. @defaultValue 300 (jittered by up to 10 %) */
  watchTimeoutSeconds?: number;
  /** First wait after a failed call; doubles up to `maxBackoffMs`. @defaultValue 250 */
  initialBackoffMs?: number;
  /** @defaultValue 5000 */
  maxBackoffMs?: number;
}

/** Counters of one reflector. */
export interface ReflectorStats {
  /** Lists done (1 + the re-lists). */
  lists: number;
  /** Re-lists because the watch's resourceVersion was too old (410 Gone). */
  expired: number;
  /** Times the API server could not be reached or refused a call, then was reached again. */
  recoveries: number;
  events: number;
}

/**
 * list + watch of one collection, the way client-go's reflector does it: list (page by page),
 * hand the full state over, watch from the list's resourceVersion, follow each event's and each
 * bookmark's resourceVersion, and when a watch ends, watch again from there. When the API server
 * says that resourceVersion is too old (410 Gone: its watch cache moved on, e.g. after a restart),
 * list again: the handler's `replace` then finds what was added, changed and deleted meanwhile.
 * Failures (API server down, refused calls) are retried with back-off and logged once; the
 * recovery is logged with how long it took.
 */
export class Reflector<T extends KubeObject> {
  private running = false;
  private stopWatch: (() => void) | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private resourceVersion = '';
  private failingSince: number | undefined;
  private firstSync: Promise<void>;
  private resolveFirstSync!: () => void;
  readonly stats: ReflectorStats = { lists: 0, expired: 0, recoveries: 0, events: 0 };

  constructor(
    private readonly client: KubeClient,
    /** e.g. `pods` (for logs) */
    readonly resource: string,
    /** e.g. `/api/v1/pods` */
    private readonly path: string,
    private readonly handler: ReflectorHandler<T>,
    private readonly log: Logger,
    private readonly options: ReflectorOptions = {},
  ) {
    this.firstSync = new Promise((r) => (this.resolveFirstSync = r));
  }

  /** Resolves after the first list was handed over. */
  synced(): Promise<void> {
    return this.firstSync;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopWatch?.();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoff = this.options.initialBackoffMs ?? 250;
    while (this.running) {
      try {
        if (!this.resourceVersion) await this.relist();
        const began = Date.now();
        const events = this.stats.events;
        const outcome = await this.watchOnce();
        this.recovered();
        if (outcome === 'closed' && events === this.stats.events && Date.now() - began < 1_000) {
          // Ended at once with nothing in it: do not watch again in a tight loop.
          await this.pause(backoff);
          backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 5_000);
          continue;
        }
        backoff = this.options.initialBackoffMs ?? 250;
        if (outcome === 'expired') {
          this.stats.expired += 1;
          this.log.info(
            `${this.resource}: watch from resourceVersion ${this.resourceVersion} expired (410 Gone), listing again`,
          );
          this.resourceVersion = '';
        }
      } catch (err) {
        if (!this.running) break;
        if (err instanceof KubeApiError && err.status === 410) {
          // A watch refused outright as too old (rather than through an ERROR event).
          this.stats.expired += 1;
          this.log.info(
            `${this.resource}: resourceVersion ${this.resourceVersion} too old (410 Gone), listing again`,
          );
          this.resourceVersion = '';
          continue;
        }
        if (this.failingSince === undefined) {
          this.failingSince = Date.now();
          this.log.warn(
            `${this.resource}: API server ${this.client.server} unreachable or refusing (${(err as Error).message}); retrying`,
          );
        } else {
          this.log.debug(`${this.resource}: still failing: ${(err as Error).message}`);
        }
        await this.pause(backoff);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 5_000);
      }
    }
  }

  /** Waits `ms`, or less when stopped. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const timer = setTimeout(r, ms);
      this.wake = () => {
        clearTimeout(timer);
        r();
      };
    });
  }

  private recovered(): void {
    if (this.failingSince === undefined) return;
    const secs = ((Date.now() - this.failingSince) / 1000).toFixed(1);
    this.failingSince = undefined;
    this.stats.recoveries += 1;
    this.log.info(
      `${this.resource}: API server reachable again after ${secs} s; watching from resourceVersion ${this.resourceVersion || '(a new list)'}`,
    );
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.client.list<T>(this.path);
    this.recovered();
    this.stats.lists += 1;
    this.handler.replace(items, resourceVersion);
    this.resourceVersion = resourceVersion;
    if (this.stats.lists === 1) {
      this.log.info(`${this.resource}: listed ${items.length} at resourceVersion ${resourceVersion}`);
      this.resolveFirstSync();
    } else {
      this.log.info(`${this.resource}: listed again: ${items.length} at resourceVersion ${resourceVersion}`);
    }
  }

  /** Watches until the stream ends: 'closed' (watch again from the current resourceVersion) or 'expired' (list again). */
  private watchOnce(): Promise<'closed' | 'expired'> {
    const base = this.options.watchTimeoutSeconds ?? 300;
    const timeout = Math.round(base * (1 + Math.random() * 0.1));
    return new Promise((resolve, reject) => {
      let expired = false;
      let error: Error | undefined;
      const onEvent = (e: WatchEvent<T>): void => {
        if (e.type === 'ERROR') {
          const status = e.object as unknown as { code?: number; message?: string };
          if (status.code === 410) expired = true;
          else
            error = new KubeApiError(
              status.code ?? 0,
              `watch ${this.path}: ${status.message ?? 'error event'}`,
            );
          this.stopWatch?.();
          return;
        }
        const rv = e.object?.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (e.type === 'BOOKMARK') return;
        this.stats.events += 1;
        this.handler.change(e.type, e.object);
      };
      const done = (err: unknown): void => {
        this.stopWatch = undefined;
        if (expired) resolve('expired');
        else if (error) reject(error);
        else if (err && this.running && !(err instanceof Error && err.name === 'AbortError'))
          reject(
            new KubeApiError(0, `watch ${this.path} ended: ${(err as Error).message ?? String(err)}`, {
              cause: err,
            }),
          );
        else resolve('closed');
      };
      this.client.watch<T>(this.path, this.resourceVersion, timeout, onEvent, done).then((stop) => {
        this.stopWatch = stop;
        if (!this.running) stop();
      }, reject);
    });
  }
}

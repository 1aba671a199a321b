import { request, type RequestOptions } from 'node:https';
import { request as plainRequest } from 'node:http';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { ConfigError } from '../common/errors';
import { KubeApiError } from './errors';

/** An object as the API server sends it (JSON), with the metadata every object has. */
export interface KubeObject {
  metadata: {
    uid: string;
    name: string;
    namespace?: string;
    resourceVersion: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
  };
}

/** One page of a list. */
interface ListPage<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

/** A watch event: ADDED, MODIFIED, DELETED, BOOKMARK, or ERROR (object is then a Status). */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/**
 * Where the watcher's kubeconfig comes from: a file (`--kubeconfig`, KUBECONFIG, ~/.kube/config)
 * or, inside a pod, the service account's token and CA (`in-cluster`).
 */
export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfig === 'in-cluster') kc.loadFromCluster();
    else if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new ConfigError(
      `cannot load the kubeconfig ${kubeconfig ?? '(default)'}: ${(err as Error).message}`,
    );
  }
  if (!kc.getCurrentCluster())
    throw new ConfigError(
      `no current cluster in the kubeconfig ${kubeconfig ?? '(default: KUBECONFIG, ~/.kube/config, in-cluster)'}`,
    );
  return kc;
}

/**
 * The few API calls the watcher makes, through @kubernetes/client-node's KubeConfig (kubeconfig or
 * in-cluster, tokens, client certificates, exec plugins) and its Watch. Objects stay plain JSON
 * as the API server sent them, in lists as in watch events.
 */
export class KubeClient {
  private readonly watcher: Watch;

  constructor(readonly config: KubeConfig) {
    this.watcher = new Watch(config);
  }

  /** The API server's URL. */
  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '';
  }

  /**
   * Sends one request and parses the JSON answer; an HTTP error becomes a {@link KubeApiError}.
   * A body is sent as JSON (`contentType` e.g. `application/merge-patch+json` for a PATCH).
   */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    options: { timeoutMs?: number; contentType?: string } = {},
  ): Promise<T> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const url = new URL(path, this.server);
    const opts: RequestOptions = { method, headers: { Accept: 'application/json' }, timeout: timeoutMs };
    await this.config.applyToHTTPSOptions(opts);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined)
      (opts.headers as Record<string, string>)['Content-Type'] = options.contentType ?? 'application/json';
    const send = url.protocol === 'http:' ? plainRequest : request;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, opts, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            try {
              resolve(JSON.parse(text) as T);
            } catch (err) {
              reject(new KubeApiError(status, `${method} ${path}: the answer is not JSON`, { cause: err }));
            }
            return;
          }
          let message = text.slice(0, 300);
          try {
            message = (JSON.parse(text) as { message?: string }).message ?? message;
          } catch {
            /* not a Status object */
          }
          reject(new KubeApiError(status, `${method} ${path}: ${status} ${message}`));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) =>
        reject(new KubeApiError(0, `${method} ${path}: ${err.message}`, { cause: err })),
      );
      req.end(payload);
    });
  }

  /** Lists every object of a collection, page by page; returns them with the list's resourceVersion. */
  async list<T>(path: string, pageSize = 500): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const query = new URLSearchParams({ limit: String(pageSize) });
      if (cont) query.set('continue', cont);
      const page = await this.request<ListPage<T>>('GET', `${path}?${query.toString()}`);
      items.push(...page.items);
      resourceVersion = page.metadata.resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  /**
   * Watches a collection from a resourceVersion, with bookmarks. Resolves once the API server
   * accepted the watch (or rejects with why it did not); `done` is called once when the stream
   * ends, with the error if any. Call the returned function to stop watching.
   */
  async watch<T>(
    path: string,
    resourceVersion: string,
    timeoutSeconds: number,
    onEvent: (e: WatchEvent<T>) => void,
    done: (err: unknown) => void,
  ): Promise<() => void> {
    let failed: unknown;
    let finished = false;
    let accepted = false;
    const controller = await this.watcher.watch(
      path,
      { resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
      (type, object) => onEvent({ type: type as WatchEvent<T>['type'], object: object as T }),
      (err: unknown) => {
        finished = true;
        if (!accepted) {
          failed = err ?? new Error('the watch ended before it started');
          return;
        }
        done(err);
      },
    );
    if (finished) {
      const status = (failed as { statusCode?: number }).statusCode ?? 0;
      throw new KubeApiError(status, `watch ${path}: ${(failed as Error).message ?? String(failed)}`, {
        cause: failed,
      });
    }
    accepted = true;
    return () => controller.abort();
  }
}

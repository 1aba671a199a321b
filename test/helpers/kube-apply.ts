import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parse } from 'yaml';
import type { KubeObject } from './deploy-manifests';

/** An API server reached as a kubeconfig's current context says (CA, bearer token or client certificate). */
export class KubeApi {
  private constructor(
    private readonly server: URL,
    private readonly tls: { ca?: string; cert?: string; key?: string },
    private readonly token: string | undefined,
  ) {}

  static fromKubeconfig(path: string): KubeApi {
    type Named<T> = { name: string } & T;
    const config = parse(readFileSync(path, 'utf8')) as {
      'current-context': string;
      contexts: Named<{ context: { cluster: string; user: string } }>[];
      clusters: Named<{ cluster: Record<string, string> }>[];
      users: Named<{ user: Record<string, string> }>[];
    };
    const context = config.contexts.find((c) => c.name === config['current-context'])?.context;
    const cluster = config.clusters.find((c) => c.name === context?.cluster)?.cluster;
    const user = config.users.find((u) => u.name === context?.user)?.user ?? {};
    if (!cluster?.server) throw new Error(`${path}: no cluster for the current context`);
    const pem = (data: string | undefined, file: string | undefined): string | undefined =>
      data ? Buffer.from(data, 'base64').toString() : file ? readFileSync(file, 'utf8') : undefined;
    return new KubeApi(
      new URL(cluster.server),
      {
        ca: pem(cluster['certificate-authority-data'], cluster['certificate-authority']),
        cert: pem(user['client-certificate-data'], user['client-certificate']),
        key: pem(user['client-key-data'], user['client-key']),
      },
      user.token,
    );
  }

  /** One request; resolves with the status and the parsed body (JSON). */
  call(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.server),
        {
          method,
          ...this.tls,
          timeout: 10000,
          headers: {
            accept: 'application/json',
            ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
            ...(payload ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => {
            let parsed: Record<string, unknown>;
            try {
              parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
            } catch {
              parsed = { message: text.trim() }; // e.g. "404 page not found"
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The collection path of an object's kind (discovery says its plural and whether it is namespaced). */
  async collectionOf(o: KubeObject): Promise<string> {
    const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
    const { status, body } = await this.call('GET', base);
    const resources = (body.resources ?? []) as { name: string; kind: string; namespaced: boolean }[];
    const resource = resources.find((r) => r.kind === o.kind && !r.name.includes('/'));
    if (status !== 200 || !resource) throw new Error(`${o.apiVersion} ${o.kind} is not served (${status})`);
    return resource.namespaced
      ? `${base}/namespaces/${o.metadata.namespace}/${resource.name}`
      : `${base}/${resource.name}`;
  }

  /**
   * Server-side apply of one object: with `dryRun` the server validates, defaults and admits it (strict field
   * validation: an unknown field is an error) and stores nothing.
   */
  async apply(o: KubeObject, dryRun: boolean): Promise<{ status: number; message: string }> {
    const query = `fieldManager=nettopo-test&force=true&fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`;
    const path = `${await this.collectionOf(o)}/${o.metadata.name}?${query}`;
    const { status, body } = await this.call('PATCH', path, o, 'application/apply-patch+yaml');
    return { status, message: String(body.message ?? body.kind ?? '') };
  }
}

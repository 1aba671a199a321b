import type { KubeClient } from '../../k8s';
import type { KubeObject } from './deploy-manifests';

/** The collection path of an object's kind: discovery says its plural and whether it is namespaced. */
export async function collectionOf(client: KubeClient, o: KubeObject): Promise<string> {
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const { resources } = await client.request<{
    resources: { name: string; kind: string; namespaced: boolean }[];
  }>('GET', base);
  const resource = resources.find((r) => r.kind === o.kind && !r.name.includes('/'));
  if (!resource) throw new Error(`${o.apiVersion} ${o.kind} is not served`);
  return resource.namespaced
    ? `${base}/namespaces/${o.metadata.namespace}/${resource.name}`
    : `${base}/${resource.name}`;
}

/**
 * Server-side apply of one object (strict field validation: an unknown field is an error). With `dryRun` the
 * API server validates, defaults and admits it, and stores nothing. Resolves when it was accepted.
 */
export async function serverSideApply(client: KubeClient, o: KubeObject, dryRun: boolean): Promise<void> {
  const query = `fieldManager=nettopo-test&force=true&fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`;
  await client.request('PATCH', `${await collectionOf(client, o)}/${o.metadata.name}?${query}`, o, {
    contentType: 'application/apply-patch+yaml',
  });
}

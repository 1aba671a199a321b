import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { projectRoot } from '../common/paths';
import { kafkaSettings } from '../kafka/kafka-config';
import { ClusterPublisher, ClusterWatcher, KubeApiError, KubeClient } from '../k8s';
import { connectionUrls, kubeFiles } from '../stack';
import { CapturedLog, TestKube } from './helpers/kube';
import { TestTopics } from './helpers/kafka-topics';

/** The ClusterRole and binding of k8s/README.md, as documented. */
function documentedRbac(): {
  kind: string;
  metadata: { name: string };
  subjects?: { namespace: string; name: string }[];
}[] {
  const readme = readFileSync(join(projectRoot(), 'k8s', 'README.md'), 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'k8s/README.md has a yaml block');
  return parseAllDocuments(block[1]).map((d) => d.toJSON() as ReturnType<typeof documentedRbac>[number]);
}

describe('k8s-watch permissions (k8s/README.md) on the real API server', function () {
  this.timeout(120_000);
  const kube = new TestKube();
  const topics = new TestTopics();
  const suffix = randomBytes(3).toString('hex');
  const created: string[] = [];

  before(() => kube.ensureRunning());

  after(async () => {
    for (const path of created.reverse()) await kube.client.request('DELETE', path).catch(() => undefined);
    await kube.cleanup();
    await topics.cleanup();
  });

  it('when the watcher runs as a service account bound to the documented ClusterRole, then it lists and watches everything it needs and nothing more', async () => {
    const ns = await kube.namespace();
    await kube.create(`/api/v1/namespaces/${ns}/serviceaccounts`, {
      metadata: { name: 'nettopo-k8s-watch' },
    });
    for (const o of documentedRbac()) {
      o.metadata.name = `${o.metadata.name}-${suffix}`;
      if (o.kind === 'ClusterRoleBinding') {
        (o as unknown as { roleRef: { name: string } }).roleRef.name = `nettopo-k8s-watch-${suffix}`;
        for (const s of o.subjects ?? []) s.namespace = ns;
      }
      const plural = o.kind === 'ClusterRole' ? 'clusterroles' : 'clusterrolebindings';
      await kube.create(`/apis/rbac.authorization.k8s.io/v1/${plural}`, o);
      created.push(`/apis/rbac.authorization.k8s.io/v1/${plural}/${o.metadata.name}`);
    }
    const { status } = await kube.client.request<{ status: { token: string } }>(
      'POST',
      `/api/v1/namespaces/${ns}/serviceaccounts/nettopo-k8s-watch/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    );
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'l',
          server: kube.client.server,
          caData: readFileSync(kubeFiles(kube.config).caCert).toString('base64'),
        },
      ],
      users: [{ name: 'watcher', token: status.token }],
      contexts: [{ name: 'l', cluster: 'l', user: 'watcher' }],
      currentContext: 'l',
    });
    const client = new KubeClient(kc);
    await kube.createPod(ns, { name: 'seen' });

    const log = new CapturedLog();
    const watcher = new ClusterWatcher({
      cluster: `rbac-${suffix}`,
      client,
      publisher: new ClusterPublisher({
        settings: kafkaSettings({ brokers: connectionUrls().kafkaBroker }),
        topicPrefix: topics.prefix,
        log,
      }),
      log,
    });
    try {
      // A missing permission shows as a refused call, retried for ever: fail on the first one.
      await Promise.race([
        watcher.start(),
        log.waitFor(/refusing/, 60_000).then((line) => assert.fail(line)),
      ]);
      assert.ok(watcher.stats.published.pod >= 1);
      assert.deepEqual(
        log.lines.filter((l) => /refusing|forbidden/i.test(l)),
        [],
        'no call was refused',
      );
    } finally {
      await watcher.stop();
    }
    // Read-only and nothing else: no secrets, no writes.
    await assert.rejects(
      client.request('GET', `/api/v1/namespaces/${ns}/secrets`),
      (e: unknown) => e instanceof KubeApiError && e.status === 403,
    );
    await assert.rejects(
      client.request('DELETE', `/api/v1/namespaces/${ns}/pods/seen`),
      (e: unknown) => e instanceof KubeApiError && e.status === 403,
    );
  });
});

/**
 * deploy/: the Helm chart and the manifests rendered from it (deploy/kubernetes/nettopo.yaml), checked with the
 * tools a user would trust: helm (lint, template), kubeconform against the Kubernetes API's own schemas in
 * strict mode (an unknown field is an error), the CLI's own parser for every command the manifests run, and
 * the stack's Kubernetes API server itself (`nettopo stack up kube`: server-side apply, dry run).
 * helm, kubeconform and the schemas are built from the Go module proxy by scripts/k8s-tools.sh (install-deps.sh
 * runs it; cached).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { packageVersion, projectRoot } from '../common';
import { buildProgram } from '../cli/main';
import { findObject, parseManifests, podSpecOf, type KubeObject } from './helpers/deploy-manifests';
import { helm, k8sTools, kubeconform, renderManifests, type K8sTools } from './helpers/k8s-tools';
import { eventually, TestKube } from './helpers/kube';
import { collectionOf, serverSideApply } from './helpers/kube-apply';

const CHART = 'deploy/helm/nettopo';

/** The chart with every option turned on or changed, as a user with a real cluster would install it. */
const EVERY_OPTION = [
  'image.tag=9.9.9',
  'kafka.topicPrefix=prod.',
  'kafka.existingSecret=nettopo-kafka',
  'ingest.replicas=5',
  'collector.priorityClassName=system-node-critical',
  'collector.nodeSelector.kubernetes\\.io/os=linux',
  'collector.extraArgs={--heartbeat,30}',
  'ingest.extraArgs={--max-transaction-records,20000}',
  'metrics.serviceMonitor.labels.release=prometheus',
];

/** The `nettopo` command line a container runs: its command and every flag, checked with the CLI's parser. */
function unknownFlags(program: Command, args: string[]): string[] {
  const [name, ...rest] = args;
  const command = program.commands.find((c) => c.name() === name);
  if (!command) return [`no command ${name}`];
  const unknown: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith('-')) {
      unknown.push(`${arg} (a value without a flag)`);
      continue;
    }
    const option = command.options.find((o) => o.long === arg || o.short === arg);
    if (!option) unknown.push(arg);
    else if (option.required || (option.optional && rest[i + 1] && !rest[i + 1]!.startsWith('-'))) i++;
  }
  return unknown;
}

describe('deploy/: the Helm chart and the Kubernetes manifests', function () {
  this.timeout(600000); // a fresh machine builds helm first (install-deps.sh normally did)
  let tools: K8sTools;
  let manifests: KubeObject[];

  before(() => {
    tools = k8sTools();
    manifests = parseManifests();
  });

  it('when the chart is rendered with its defaults, then it is deploy/kubernetes/nettopo.yaml, byte for byte', () => {
    const committed = readFileSync(join(projectRoot(), 'deploy', 'kubernetes', 'nettopo.yaml'), 'utf8');
    assert.equal(renderManifests(), committed, 'run scripts/render-manifests.sh after changing the chart');
  });

  it('when linted strictly, then helm finds nothing wrong with the chart', () => {
    assert.match(helm(tools, ['lint', '--strict', CHART]), /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('when the manifests and the chart with every option are validated against the Kubernetes API schemas, then every object is valid and none is skipped', () => {
    const everyOption = helm(tools, [
      'template',
      'nettopo',
      CHART,
      '--namespace',
      'nettopo',
      ...EVERY_OPTION.flatMap((s) => ['--set', s]),
    ]);
    for (const [what, yaml, count] of [
      [
        'deploy/kubernetes/nettopo.yaml',
        readFileSync(join(projectRoot(), 'deploy', 'kubernetes', 'nettopo.yaml'), 'utf8'),
        manifests.length,
      ],
      ['the chart with every option', everyOption, manifests.length - 1], // no Namespace: helm does not make it
    ] as const) {
      const { resources, summary } = kubeconform(tools, yaml);
      const problems = resources.filter((r) => r.status !== 'statusValid');
      assert.deepEqual(
        problems,
        [],
        `${what}: ${problems.map((p) => `${p.kind} ${p.name}: ${p.msg}`).join('\n')}`,
      );
      assert.deepEqual(summary, { valid: count, invalid: 0, errors: 0, skipped: 0 }, what);
    }
    // The options took effect.
    const rendered = parseManifests(everyOption);
    const ingest = podSpecOf(findObject(rendered, 'Deployment', '-ingest'));
    assert.equal((findObject(rendered, 'Deployment', '-ingest').spec as { replicas: number }).replicas, 5);
    assert.deepEqual(ingest.containers[0]!.args!.slice(-4), [
      '--topic-prefix',
      'prod.',
      '--max-transaction-records',
      '20000',
    ]);
    assert.equal(ingest.containers[0]!.image, 'localhost/nettopo:9.9.9');
  });

  it('when a manifest carries a misspelt field, then the validation rejects it (it is strict)', () => {
    const text = readFileSync(join(projectRoot(), 'deploy', 'kubernetes', 'nettopo.yaml'), 'utf8');
    assert.ok(text.includes('hostPID: true'));
    const { summary, resources } = kubeconform(tools, text.replace('hostPID: true', 'hostPid: true'));
    assert.equal(summary.invalid, 1);
    assert.match(
      resources.find((r) => r.status === 'statusInvalid')?.msg ?? '',
      /additional properties 'hostPid' not allowed/,
    );
  });

  it('when a container runs nettopo, then its command and every flag are ones the CLI has, and the image is this version', () => {
    const program = buildProgram();
    for (const workload of manifests.filter((o) => o.kind === 'DaemonSet' || o.kind === 'Deployment')) {
      for (const container of podSpecOf(workload).containers) {
        assert.equal(container.image, `localhost/nettopo:${packageVersion()}`);
        const args = container.args ?? [];
        assert.deepEqual(
          unknownFlags(program, args),
          [],
          `${workload.metadata.name}: nettopo ${args.join(' ')}`,
        );
      }
    }
  });

  it('when the ingest is deployed, then it has as many consumer group members as the collector makes partitions', () => {
    const ingest = findObject(manifests, 'Deployment', '-ingest');
    const collectorArgs = podSpecOf(findObject(manifests, 'DaemonSet', '-collector')).containers[0]!.args!;
    const partitions = Number(collectorArgs[collectorArgs.indexOf('--partitions') + 1]);
    assert.equal((ingest.spec as { replicas: number }).replicas, partitions);
    assert.equal(partitions, 3);
  });

  it('when the watcher is bound, then its ClusterRole lets it get, list and watch exactly the objects it follows, and only its pod holds a token', () => {
    const role = findObject(manifests, 'ClusterRole', '-k8s-watch') as KubeObject & {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    const granted = role.rules.flatMap((r) =>
      r.apiGroups.flatMap((g) =>
        r.resources.map((res) => `${g || 'core'}/${res}:${[...r.verbs].sort().join(',')}`),
      ),
    );
    assert.deepEqual(granted.sort(), [
      'apps/daemonsets:get,list,watch',
      'apps/deployments:get,list,watch',
      'apps/replicasets:get,list,watch',
      'apps/statefulsets:get,list,watch',
      'batch/cronjobs:get,list,watch',
      'batch/jobs:get,list,watch',
      'core/pods:get,list,watch',
      'core/services:get,list,watch',
      'discovery.k8s.io/endpointslices:get,list,watch',
    ]);
    const binding = findObject(manifests, 'ClusterRoleBinding', '-k8s-watch') as KubeObject & {
      roleRef: { name: string };
      subjects: { kind: string; name: string; namespace: string }[];
    };
    assert.equal(binding.roleRef.name, role.metadata.name);
    const watcher = findObject(manifests, 'Deployment', '-k8s-watch');
    const account = (watcher.spec as { template: { spec: { serviceAccountName: string } } }).template.spec
      .serviceAccountName;
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: account, namespace: 'nettopo' }]);
    const tokens = manifests
      .filter((o) => o.kind === 'ServiceAccount')
      .map(
        (o) =>
          `${o.metadata.name}:${String((o as { automountServiceAccountToken?: boolean }).automountServiceAccountToken)}`,
      );
    assert.deepEqual(tokens.sort(), [
      'nettopo-collector:false',
      'nettopo-ingest:false',
      'nettopo-k8s-watch:true',
    ]);
  });

  it('when Prometheus follows the ServiceMonitor, then it finds the metrics port of the collector and ingest pods', () => {
    const monitor = findObject(manifests, 'ServiceMonitor') as KubeObject & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
    };
    const selected = manifests.filter(
      (o) =>
        o.kind === 'Service' &&
        Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v),
    );
    assert.deepEqual(selected.map((s) => s.metadata.name).sort(), [
      'nettopo-collector-metrics',
      'nettopo-ingest-metrics',
    ]);
    for (const service of selected) {
      const spec = service.spec as {
        selector: Record<string, string>;
        ports: { name: string; targetPort: string }[];
      };
      assert.ok(
        spec.ports.some((p) => p.name === monitor.spec.endpoints[0]!.port && p.targetPort === 'metrics'),
      );
      const pods = manifests.filter(
        (o) =>
          (o.kind === 'DaemonSet' || o.kind === 'Deployment') &&
          Object.entries(spec.selector).every(
            ([k, v]) =>
              (o.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata
                .labels[k] === v,
          ),
      );
      assert.equal(pods.length, 1, `${service.metadata.name} selects one workload`);
      const ports = (podSpecOf(pods[0]!).containers[0] as unknown as { ports: { name: string }[] }).ports;
      assert.ok(
        ports.some((p) => p.name === 'metrics'),
        `${pods[0]!.metadata.name} names its metrics port`,
      );
    }
  });

  describe("on the stack's Kubernetes API server (server-side apply, dry run)", () => {
    const kube = new TestKube();

    before(() => kube.ensureRunning());
    after(() => kube.cleanup());

    it('when every manifest is applied with dry run, then the API server admits each one', async () => {
      // A namespaced dry run needs its namespace, a ServiceMonitor its kind served: both are made for real (the
      // CRD only when absent, and removed again).
      const namespace = await kube.namespace();
      const crds = parseManifests(readFileSync(tools.serviceMonitorCrd, 'utf8'));
      const made: string[] = [];
      try {
        for (const crd of crds) {
          const path = `${await collectionOf(kube.client, crd)}/${crd.metadata.name}`;
          const exists = await kube.client.request('GET', path).then(
            () => true,
            () => false,
          );
          if (exists) continue;
          await serverSideApply(kube.client, crd, false);
          made.push(path);
        }
        await eventually('ServiceMonitor served', async () =>
          (
            await kube.client.request<{ resources: { kind: string }[] }>(
              'GET',
              '/apis/monitoring.coreos.com/v1',
            )
          ).resources.some((r: { kind: string }) => r.kind === 'ServiceMonitor')
            ? true
            : undefined,
        );
        const refused: string[] = [];
        for (const o of parseManifests().filter((m) => m.kind !== 'Namespace')) {
          if (o.metadata.namespace) o.metadata.namespace = namespace;
          for (const s of (o as { subjects?: { namespace?: string }[] }).subjects ?? [])
            s.namespace = namespace;
          await serverSideApply(kube.client, o, true).catch((err: Error) =>
            refused.push(`${o.kind} ${o.metadata.name}: ${err.message}`),
          );
        }
        assert.deepEqual(refused, []);
      } finally {
        for (const path of made) await kube.client.request('DELETE', path).catch(() => undefined);
      }
    });
  });
});

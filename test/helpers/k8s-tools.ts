import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../common';

/** The tools of scripts/k8s-tools.sh (helm, kubeconform, the schemas, the ServiceMonitor CRD). */
export interface K8sTools {
  helm: string;
  kubeconform: string;
  schemas: string;
  serviceMonitorCrd: string;
}

/** Builds what is missing (cold: minutes; install-deps.sh does it first) and returns the paths. */
export function k8sTools(): K8sTools {
  const out = execFileSync('bash', [join(projectRoot(), 'scripts', 'k8s-tools.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const paths = new Map(
    out
      .trim()
      .split('\n')
      .map((l) => l.split(' ', 2) as [string, string]),
  );
  const path = (name: string): string => {
    const p = paths.get(name);
    if (!p) throw new Error(`scripts/k8s-tools.sh printed no ${name}: ${out}`);
    return p;
  };
  return {
    helm: path('helm'),
    kubeconform: path('kubeconform'),
    schemas: path('schemas'),
    serviceMonitorCrd: path('servicemonitor-crd'),
  };
}

/** `helm <args>` on the chart folder's parent; stdout, or an error with helm's stderr. */
export function helm(tools: K8sTools, args: string[]): string {
  const r = spawnSync(tools.helm, args, { cwd: projectRoot(), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** One object's verdict. */
export interface Verdict {
  kind: string;
  name: string;
  status: string;
  msg?: string;
}

/** kubeconform, strict, against the cached schemas: every object's verdict and the summary. */
export function kubeconform(
  tools: K8sTools,
  yaml: string,
): { resources: Verdict[]; summary: { valid: number; invalid: number; errors: number; skipped: number } } {
  const r = spawnSync(
    tools.kubeconform,
    [
      '-strict',
      '-summary',
      '-output',
      'json',
      '-schema-location',
      `${tools.schemas}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      '-',
    ],
    { input: yaml, encoding: 'utf8' },
  );
  if (r.error) throw r.error;
  return JSON.parse(r.stdout) as ReturnType<typeof kubeconform>;
}

/** `bash scripts/render-manifests.sh --stdout`: the chart rendered as deploy/kubernetes/nettopo.yaml is. */
export function renderManifests(): string {
  return execFileSync('bash', [join(projectRoot(), 'scripts', 'render-manifests.sh'), '--stdout'], {
    encoding: 'utf8',
  });
}

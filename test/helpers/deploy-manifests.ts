import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { projectRoot } from '../../common';

/** One Kubernetes object, as much of it as the tests read. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface KubeContainer {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext?: {
    runAsUser?: number;
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string }[];
}

export interface KubePodSpec {
  hostPID?: boolean;
  hostNetwork?: boolean;
  containers: KubeContainer[];
  volumes?: { name: string; hostPath?: { path: string; type?: string } }[];
}

/** deploy/kubernetes/nettopo.yaml (the chart rendered with its defaults), or any multi-document YAML text. */
export function parseManifests(text?: string): KubeObject[] {
  const yaml = text ?? readFileSync(join(projectRoot(), 'deploy', 'kubernetes', 'nettopo.yaml'), 'utf8');
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

/** The one object of a kind whose name ends with `suffix`. */
export function findObject(objects: KubeObject[], kind: string, suffix = ''): KubeObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(suffix));
  if (found.length !== 1) throw new Error(`${found.length} ${kind} objects named *${suffix}`);
  return found[0]!;
}

export function podSpecOf(workload: KubeObject): KubePodSpec {
  return (workload.spec as { template: { spec: KubePodSpec } }).template.spec;
}

/** A host folder or file the collector sees inside its container. */
export interface HostMount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
  /** Mounts made on the host later appear inside too (HostToContainer, rslave). */
  followsHost: boolean;
}

/** How the collector must run, as the DaemonSet says: what a container engine or a test reproduces. */
export interface CollectorRunSpec {
  capabilities: string[];
  hostPID: boolean;
  hostNetwork: boolean;
  runAsUser: number | undefined;
  readOnlyRootFilesystem: boolean;
  noNewPrivileges: boolean;
  mounts: HostMount[];
  args: string[];
}

export function collectorRunSpec(objects: KubeObject[] = parseManifests()): CollectorRunSpec {
  const pod = podSpecOf(findObject(objects, 'DaemonSet', '-collector'));
  const container = pod.containers.find((c) => c.name === 'collector');
  if (!container) throw new Error('the collector DaemonSet has no container named collector');
  const security = container.securityContext ?? {};
  const mounts = (container.volumeMounts ?? []).map((m) => {
    const volume = pod.volumes?.find((v) => v.name === m.name);
    if (!volume?.hostPath) throw new Error(`collector mount ${m.name} is not a hostPath volume`);
    return {
      hostPath: volume.hostPath.path,
      containerPath: m.mountPath,
      readOnly: m.readOnly === true,
      followsHost: m.mountPropagation === 'HostToContainer',
    };
  });
  if (!(security.capabilities?.drop ?? []).includes('ALL'))
    throw new Error('the collector does not drop ALL capabilities first');
  return {
    capabilities: [...(security.capabilities?.add ?? [])].sort(),
    hostPID: pod.hostPID === true,
    hostNetwork: pod.hostNetwork === true,
    runAsUser: security.runAsUser,
    readOnlyRootFilesystem: security.readOnlyRootFilesystem === true,
    noNewPrivileges: security.allowPrivilegeEscalation === false,
    mounts,
    args: container.args ?? [],
  };
}

/**
 * Pure parsing of cgroup paths into container / pod attribution. No I/O: the path comes from the
 * cgroup id (v2 walk) or from /proc/<pid>/cgroup.
 *
 * Shapes handled (the innermost container wins, so kind / docker-in-docker nesting works):
 * - Kubernetes, systemd driver: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope`
 *   (`crio-<id>.scope` for CRI-O, `docker-<id>.scope` for dockershim/cri-dockerd; guaranteed pods
 *   sit directly in `kubepods.slice` as `kubepods-pod<uid>.slice`; kind prefixes `kubelet-`).
 * - Kubernetes, cgroupfs driver: `/kubepods/besteffort/pod<uid>/<id>` (guaranteed: `/kubepods/pod<uid>/<id>`;
 *   CRI-O: `…/pod<uid>/crio-<id>`).
 * - containerd run as a systemd service without delegation: `/system.slice/containerd.service/<pod slice>:cri-containerd:<id>`.
 * - Docker: `/system.slice/docker-<id>.scope`, `/docker/<id>`; Podman: `libpod-<id>.scope` (maybe
 *   with a `/container` child), `/libpod_parent/libpod-<id>`; nerdctl: `nerdctl-<id>.scope`.
 * - Conmon monitors (`crio-conmon-<id>.scope`, `libpod-conmon-<id>.scope`): runtime known, no container.
 * - Anything else in a systemd unit (`nginx.service`, `session-3.scope`): runtime `'systemd'` and the unit.
 *
 * Static pods have 32-hex uids (no dashes); API pods have RFC 4122 uids (dashes).
 */
export type ContainerRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman' | 'systemd';
export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';

export interface ContainerInfo {
  /** 64 lower-case hex digits; null when the path is not a container's. */
  containerId: string | null;
  /**
   * Who made the cgroup; null when unknown. A bare `<id>` under a cgroupfs-driver pod does not
   * tell containerd from dockershim, so it gives null.
   */
  runtime: ContainerRuntime | null;
  /** Pod uid with dashes (`8f9c…-…`), or 32 hex digits for static pods; null outside Kubernetes. */
  podUid: string | null;
  qosClass: QosClass | null;
  /** Innermost systemd unit of the path (`nginx.service`, `docker-<id>.scope`); null when none. */
  unit: string | null;
}

const EMPTY: ContainerInfo = Object.freeze({
  containerId: null,
  runtime: null,
  podUid: null,
  qosClass: null,
  unit: null,
});

const PREFIX_RUNTIME: Record<string, ContainerRuntime> = {
  docker: 'docker',
  'cri-containerd': 'containerd',
  containerd: 'containerd',
  nerdctl: 'containerd',
  crio: 'cri-o',
  libpod: 'podman',
};

const SCOPE = /^(docker|cri-containerd|containerd|nerdctl|crio|libpod)-([0-9a-f]{64})\.scope$/;
const CONMON = /^(crio|libpod)-conmon-([0-9a-f]{64})\.scope$/;
const CGROUPFS_PREFIXED = /^(crio|libpod|docker)-([0-9a-f]{64})$/;
const SERVICE_COLON = /^(.*):(cri-containerd|crio|docker):([0-9a-f]{64})$/;
const BARE = /^[0-9a-f]{64}$/;
const POD_SLICE = /^(?:[a-z0-9]+-)?kubepods(?:-(burstable|besteffort))?-pod([0-9a-f_]+)\.slice$/;
const POD_DIR = /^pod([0-9a-f-]+)$/;
const UNIT = /\.(service|scope)$/;

/** Normalises a pod uid taken from a path; null when it is not one. */
export function normalizePodUid(raw: string): string | null {
  const uid = raw.replace(/_/g, '-');
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uid)) return uid;
  if (/^[0-9a-f]{32}$/.test(uid)) return uid;
  return null;
}

interface PodMatch {
  uid: string;
  qos: QosClass;
}

/** A pod slice name of the systemd driver (`kubepods-besteffort-pod<uid>.slice`). */
function podFromSlice(segment: string): PodMatch | null {
  const m = POD_SLICE.exec(segment);
  if (!m) return null;
  const uid = normalizePodUid(m[2] ?? '');
  return uid ? { uid, qos: (m[1] as QosClass | undefined) ?? 'guaranteed' } : null;
}

/** A pod directory of the cgroupfs driver (`pod<uid>`), only below a `kubepods` directory. */
function podFromDir(segments: readonly string[], index: number): PodMatch | null {
  const m = POD_DIR.exec(segments[index] ?? '');
  if (!m) return null;
  const uid = normalizePodUid(m[1] ?? '');
  if (!uid) return null;
  const parent = segments[index - 1];
  if (parent === 'burstable' || parent === 'besteffort') {
    return segments[index - 2]?.endsWith('kubepods') ? { uid, qos: parent } : null;
  }
  return parent?.endsWith('kubepods') ? { uid, qos: 'guaranteed' } : null;
}

function findPod(segments: readonly string[], before: number): PodMatch | null {
  for (let i = before - 1; i >= 0; i--) {
    const segment = segments[i] ?? '';
    const pod = podFromSlice(segment) ?? podFromDir(segments, i);
    if (pod) return pod;
  }
  return null;
}

/** Parses a cgroup path (v2 `0::` path or a v1 path) into container, runtime, pod and unit. */
export function parseCgroupPath(path: string): ContainerInfo {
  const segments = path.split('/').filter((s) => s.length > 0);
  if (segments.length === 0) return EMPTY;

  let unit: string | null = null;
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i] ?? '';
    if (UNIT.test(segment)) {
      unit = segment;
      break;
    }
  }

  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i] ?? '';
    let m = SCOPE.exec(segment) ?? CGROUPFS_PREFIXED.exec(segment);
    if (m) {
      const pod = findPod(segments, i);
      return {
        containerId: m[2] ?? null,
        runtime: PREFIX_RUNTIME[m[1] ?? ''] ?? null,
        podUid: pod?.uid ?? null,
        qosClass: pod?.qos ?? null,
        unit,
      };
    }
    m = CONMON.exec(segment);
    if (m) {
      const pod = findPod(segments, i);
      return {
        containerId: null,
        runtime: PREFIX_RUNTIME[m[1] ?? ''] ?? null,
        podUid: pod?.uid ?? null,
        qosClass: pod?.qos ?? null,
        unit,
      };
    }
    m = SERVICE_COLON.exec(segment);
    if (m) {
      const pod = podFromSlice(m[1] ?? '') ?? findPod(segments, i);
      return {
        containerId: m[3] ?? null,
        runtime: PREFIX_RUNTIME[m[2] ?? ''] ?? null,
        podUid: pod?.uid ?? null,
        qosClass: pod?.qos ?? null,
        unit,
      };
    }
    if (BARE.test(segment)) {
      const pod = findPod(segments, i);
      const parent = segments[i - 1];
      const runtime: ContainerRuntime | null = pod
        ? null
        : parent === 'docker'
          ? 'docker'
          : parent === 'libpod_parent'
            ? 'podman'
            : null;
      return { containerId: segment, runtime, podUid: pod?.uid ?? null, qosClass: pod?.qos ?? null, unit };
    }
  }

  const pod = findPod(segments, segments.length);
  if (pod) return { containerId: null, runtime: null, podUid: pod.uid, qosClass: pod.qos, unit };
  if (unit) return { containerId: null, runtime: 'systemd', podUid: null, qosClass: null, unit };
  return EMPTY;
}

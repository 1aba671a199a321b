import type { OwnerRefV1 } from '../contract';
import type { KubeObject } from './kube-client';
import type { OwnerObject } from './kube-objects';

/** The kinds whose own controller is looked up to go up the chain. */
const INTERMEDIATE = new Set(['ReplicaSet', 'Job']);

/** An object's controller (the owner reference marked controller, else none). */
function controllerOf(o: KubeObject): { kind: string; name: string; uid: string } | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}

/**
 * Resolves a pod's controller chain to its top workload: ReplicaSet → Deployment, Job → CronJob;
 * StatefulSet, DaemonSet and any other controller are tops themselves. Knows the ReplicaSets and
 * Jobs of the cluster (kept by their reflectors) and which pods hang on each, so that when one
 * appears late or changes its own controller the pods to publish again are known.
 */
export class OwnerChains {
  private readonly owners = new Map<string, OwnerObject>();
  /** owner uid → uids of the pods whose chain goes through it */
  private readonly dependents = new Map<string, Set<string>>();
  /** pod uid → owner uids its chain went through */
  private readonly through = new Map<string, string[]>();

  /** Replaces every known owner of one kind (after a list); returns the owner uids whose entry changed. */
  replace(kind: 'ReplicaSet' | 'Job', items: OwnerObject[]): string[] {
    const changed: string[] = [];
    const seen = new Set(items.map((o) => o.metadata.uid));
    for (const [uid, o] of this.owners)
      if (this.kindOf(o) === kind && !seen.has(uid)) {
        this.owners.delete(uid);
        changed.push(uid);
      }
    for (const o of items) if (this.set(kind, o)) changed.push(o.metadata.uid);
    return changed;
  }

  /** Records an owner added or modified; true when its controller changed (its pods' chains may have). */
  set(kind: 'ReplicaSet' | 'Job', o: OwnerObject): boolean {
    const before = this.owners.get(o.metadata.uid);
    const tagged = { ...o, kind } as OwnerObject & { kind: string };
    this.owners.set(o.metadata.uid, tagged);
    return !before || controllerOf(before)?.uid !== controllerOf(o)?.uid;
  }

  /** Forgets a deleted owner. Pods already resolved keep their chain (it was true while they lived). */
  delete(uid: string): void {
    this.owners.delete(uid);
  }

  /** The pods whose chain goes through these owners. */
  podsThrough(ownerUids: readonly string[]): string[] {
    const out = new Set<string>();
    for (const uid of ownerUids) for (const pod of this.dependents.get(uid) ?? []) out.add(pod);
    return [...out];
  }

  /** The chain of a pod, from its own controller to the top; remembers which owners it went through. */
  chain(pod: KubeObject): OwnerRefV1[] {
    this.forget(pod.metadata.uid);
    const chain: OwnerRefV1[] = [];
    const via: string[] = [];
    let ref = controllerOf(pod);
    while (ref && chain.length < 8) {
      chain.push({ kind: ref.kind, name: ref.name, uid: ref.uid });
      if (!INTERMEDIATE.has(ref.kind)) break;
      via.push(ref.uid);
      const owner = this.owners.get(ref.uid);
      if (!owner) break;
      ref = controllerOf(owner);
    }
    this.through.set(pod.metadata.uid, via);
    for (const uid of via) {
      let set = this.dependents.get(uid);
      if (!set) this.dependents.set(uid, (set = new Set()));
      set.add(pod.metadata.uid);
    }
    return chain;
  }

  /** Forgets a pod (deleted). */
  forget(podUid: string): void {
    for (const uid of this.through.get(podUid) ?? []) {
      const set = this.dependents.get(uid);
      set?.delete(podUid);
      if (set?.size === 0) this.dependents.delete(uid);
    }
    this.through.delete(podUid);
  }

  private kindOf(o: OwnerObject): string {
    return (o as OwnerObject & { kind?: string }).kind ?? '';
  }
}

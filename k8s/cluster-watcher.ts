import { randomUUID } from 'node:crypto';
import type { Logger } from '../common/log';
import { CLUSTER_TOPICS, uuidToBytes, type ClusterKind } from '../contract';
import type { ClusterPublisher, ClusterRecord } from './cluster-publisher';
import {
  contentOf,
  endpointSliceRecord,
  podRecord,
  serviceRecord,
  type RecordContext,
} from './cluster-records';
import type { KubeClient } from './kube-client';
import {
  RESOURCES,
  type EndpointSliceObject,
  type OwnerObject,
  type PodObject,
  type ServiceObject,
} from './kube-objects';
import { OwnerChains } from './owner-chains';
import { Reflector, type ReflectorOptions } from './reflector';

/** Options of a {@link ClusterWatcher}. */
export interface ClusterWatcherOptions {
  /** The cluster's name in every record and key; no `/`. */
  cluster: string;
  client: KubeClient;
  publisher: ClusterPublisher;
  log: Logger;
  reflector?: ReflectorOptions;
}

/** What was last published for a key. */
interface Published {
  content: string;
  record: ClusterRecord;
}

/** Counters of a watcher run. */
export interface ClusterWatcherStats {
  /** Records published (changed state), per kind. */
  published: Record<ClusterKind, number>;
  /** Objects found gone (DELETED events and re-lists), per kind. */
  deleted: Record<ClusterKind, number>;
  /** States that were not published again because the topic already holds them. */
  unchanged: number;
}

/** A cluster name: what a record key can carry before its first `/`. */
export const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * The cluster's watcher: list + watch of pods, Services and EndpointSlices (and of ReplicaSets and
 * Jobs, to resolve each pod's owner chain to its top workload), published as compacted records
 * keyed by identity. It starts from what its topics already hold for the cluster, so a state
 * published before is not published again and an object deleted while no watcher ran is found
 * gone at the first list. One runs per cluster (see the README: a Deployment of one replica).
 */
export class ClusterWatcher {
  readonly runId = randomUUID();
  private seq = 0;
  private readonly ctx: RecordContext;
  private readonly owners = new OwnerChains();
  private readonly pods = new Map<string, PodObject>();
  private readonly published = new Map<ClusterKind, Map<string, Published>>();
  private readonly reflectors: Reflector<never>[] = [];
  readonly stats: ClusterWatcherStats = {
    published: { pod: 0, service: 0, endpointslice: 0 },
    deleted: { pod: 0, service: 0, endpointslice: 0 },
    unchanged: 0,
  };

  constructor(private readonly options: ClusterWatcherOptions) {
    if (!CLUSTER_NAME.test(options.cluster))
      throw new Error(`cluster name ${JSON.stringify(options.cluster)} must match ${CLUSTER_NAME.source}`);
    this.ctx = {
      cluster: options.cluster,
      runId: uuidToBytes(this.runId),
      seq: () => ++this.seq,
      now: () => Date.now(),
    };
    for (const kind of Object.keys(CLUSTER_TOPICS) as ClusterKind[]) this.published.set(kind, new Map());
  }

  /** Reads what the topics hold, lists everything, publishes the differences, and keeps watching. */
  async start(): Promise<void> {
    const { log, publisher, cluster, client } = this.options;
    log.info(`watching cluster ${cluster} at ${client.server} (run ${this.runId})`);
    await publisher.connect();
    const before = await publisher.loadPublished(cluster);
    for (const [kind, records] of before) {
      const mine = this.published.get(kind) as Map<string, Published>;
      for (const [key, record] of records)
        if (record.deletedAt === null) mine.set(key, { content: contentOf(record), record });
    }
    log.info(
      `the topics hold ${[...before].map(([k, m]) => `${m.size} ${k}s`).join(', ')} of cluster ${cluster}`,
    );
    const owners = ['ReplicaSet', 'Job'] as const;
    const ownerReflectors = owners.map((kind) =>
      this.reflector<OwnerObject>(kind === 'ReplicaSet' ? 'replicasets' : 'jobs', {
        replace: (items) => this.republishPods(this.owners.replace(kind, items)),
        change: (type, o) => {
          if (type === 'DELETED') this.owners.delete(o.metadata.uid);
          else if (this.owners.set(kind, o)) this.republishPods([o.metadata.uid]);
        },
      }),
    );
    // Owners first, so that the pods' first records carry their whole chain.
    await Promise.all(ownerReflectors.map((r) => r.synced()));
    const stateReflectors = [
      this.reflector<PodObject>('pods', {
        replace: (items) => {
          const live = new Set(items.map((p) => p.metadata.uid));
          for (const uid of [...this.pods.keys()]) if (!live.has(uid)) this.pods.delete(uid);
          for (const p of items) this.upsertPod(p);
          this.deleteMissing('pod', new Set(items.map((p) => this.key('pod', p.metadata.uid))));
        },
        change: (type, p) => (type === 'DELETED' ? this.deletePod(p) : this.upsertPod(p)),
      }),
      this.reflector<ServiceObject>('services', {
        replace: (items) => {
          for (const s of items) this.emit('service', serviceRecord(s, this.ctx));
          this.deleteMissing('service', new Set(items.map((s) => this.key('service', s))));
        },
        change: (type, s) => this.emit('service', serviceRecord(s, this.ctx), type === 'DELETED'),
      }),
      this.reflector<EndpointSliceObject>('endpointslices', {
        replace: (items) => {
          for (const s of items) this.emit('endpointslice', endpointSliceRecord(s, this.ctx));
          this.deleteMissing('endpointslice', new Set(items.map((s) => this.key('endpointslice', s))));
        },
        change: (type, s) => this.emit('endpointslice', endpointSliceRecord(s, this.ctx), type === 'DELETED'),
      }),
    ];
    await Promise.all(stateReflectors.map((r) => r.synced()));
    await publisher.flushed();
    log.info(
      `synced: ${this.pods.size} pods, ${this.published.get('service')?.size} services, ` +
        `${this.published.get('endpointslice')?.size} endpointslices; published ${this.total(this.stats.published)} records ` +
        `(${this.total(this.stats.deleted)} found gone, ${this.stats.unchanged} unchanged since the topics' last state)`,
    );
  }

  /** Stops watching and sends what waits. */
  async stop(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.stop()));
    await this.options.publisher.stop();
  }

  /** The reflectors' counters, by resource. */
  reflectorStats(): Record<string, Reflector<never>['stats']> {
    return Object.fromEntries(this.reflectors.map((r) => [r.resource, r.stats]));
  }

  private total(counts: Record<ClusterKind, number>): number {
    return counts.pod + counts.service + counts.endpointslice;
  }

  private reflector<T extends OwnerObject>(
    resource: keyof typeof RESOURCES,
    handler: ConstructorParameters<typeof Reflector<T>>[3],
  ): Reflector<T> {
    const r = new Reflector<T>(
      this.options.client,
      resource,
      RESOURCES[resource],
      handler,
      this.options.log,
      this.options.reflector,
    );
    this.reflectors.push(r as unknown as Reflector<never>);
    r.start();
    return r;
  }

  /** The message key of an object of a kind (a pod by uid, the others by namespace/name). */
  private key(kind: ClusterKind, o: string | { metadata: { namespace?: string; name: string } }): string {
    if (kind === 'pod') return `${this.options.cluster}/${o as string}`;
    const m = (o as { metadata: { namespace?: string; name: string } }).metadata;
    return `${this.options.cluster}/${m.namespace ?? ''}/${m.name}`;
  }

  private upsertPod(p: PodObject): void {
    this.pods.set(p.metadata.uid, p);
    this.emit('pod', podRecord(p, this.owners.chain(p), this.ctx));
  }

  private deletePod(p: PodObject): void {
    this.pods.delete(p.metadata.uid);
    const record = podRecord(p, this.owners.chain(p), this.ctx);
    this.owners.forget(p.metadata.uid);
    this.emit('pod', record, true);
  }

  /** Publishes the pods whose owner chain may have changed with these owners. */
  private republishPods(ownerUids: string[]): void {
    for (const uid of this.owners.podsThrough(ownerUids)) {
      const p = this.pods.get(uid);
      if (p) this.upsertPod(p);
    }
  }

  /** After a list: every object the topics or the last list knew that the new list lacks is gone. */
  private deleteMissing(kind: ClusterKind, listed: Set<string>): void {
    const mine = this.published.get(kind) as Map<string, Published>;
    for (const [key, p] of [...mine]) {
      if (listed.has(key)) continue;
      if (kind === 'pod') this.owners.forget(key.slice(this.options.cluster.length + 1));
      this.emit(kind, { ...p.record }, true);
    }
  }

  /**
   * Publishes a state unless the topic holds it already. A deletion gets `deletedAt` and a
   * tombstone after it, and the key is forgotten.
   */
  private emit(kind: ClusterKind, record: ClusterRecord, deleted = false): void {
    const key = (CLUSTER_TOPICS[kind].keyOf as (r: ClusterRecord) => string)(record);
    const mine = this.published.get(kind) as Map<string, Published>;
    const now = this.ctx.now();
    if (deleted) {
      if (!mine.has(key)) return; // never published, or already ended: nothing to end
      record.deletedAt = now;
    }
    const content = contentOf(record);
    const prev = mine.get(key);
    if (!deleted && prev?.content === content) {
      this.stats.unchanged += 1;
      return;
    }
    record.seq = this.ctx.seq();
    record.observedAt = now;
    record.runId = this.ctx.runId;
    if (deleted) {
      mine.delete(key);
      this.stats.deleted[kind] += 1;
    } else {
      mine.set(key, { content, record });
    }
    this.stats.published[kind] += 1;
    this.options.publisher.publish(kind, key, record, deleted);
  }
}

import type { Admin } from 'kafkajs';
import type { Driver } from 'neo4j-driver';
import { formatDuration } from '../common/duration';
import type { HistorySettings } from '../graph-schema/history';
import { num } from './history-reader';
import type { TimeWindow, WindowHealth, WindowSnapshot } from './report-model';

/** What the health check needs to know besides the two windows. */
export interface HealthContext {
  settings: HistorySettings | undefined;
  now: number;
  /** Hosts to check for silent collectors (those of the report's scope, or of its windows' nodes). */
  hosts: string[];
  /** A collector counts as missing when its last heartbeat is older than this before the window's end. @defaultValue 60 s */
  collectorSilenceMs?: number;
  /** The ingest's consumer group, whose lag says whether the later window may still fill. */
  ingestGroup?: string;
  /** Kafka admin to read the flow topics' end offsets; without it, lag is not checked. */
  admin?: Admin;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Says whether a report's windows can be trusted: no history at all, a window before history
 * began or beyond the retention, an ingest that has not caught up (the later window may still
 * fill), collectors that went silent (their hosts' edges may vanish for that reason alone), an
 * empty window. Each finding is a sentence for the report's summary.
 */
export async function checkWindows(
  driver: Driver,
  before: WindowSnapshot,
  after: WindowSnapshot,
  ctx: HealthContext,
): Promise<WindowHealth> {
  const notes: string[] = [];
  let partial = false;
  const s = ctx.settings;
  if (!s) {
    notes.push(
      'No topology history has been recorded in this graph: is the ingest running with history (the default; not --no-history)?',
    );
    return { emptyBefore: true, emptyAfter: true, partial: true, notes };
  }
  for (const [name, w] of [
    ['earlier', before.window],
    ['later', after.window],
  ] as [string, TimeWindow][]) {
    if (w.from < s.since) {
      partial = true;
      notes.push(`History began at ${iso(s.since)}, after the start of the ${name} window (${iso(w.from)}).`);
    }
    if (w.from < ctx.now - s.retentionMs) {
      partial = true;
      notes.push(
        `The ${name} window starts before the retention (${formatDuration(s.retentionMs)}): its oldest buckets are deleted.`,
      );
    }
  }
  if (after.window.to > ctx.now) {
    partial = true;
    notes.push(`The later window ends in the future (${iso(after.window.to)}): it is not complete yet.`);
  }
  const lag = await ingestLag(driver, ctx);
  if (lag !== undefined && lag.records > 0) {
    partial = true;
    notes.push(
      `The ingest (group ${ctx.ingestGroup}) is ${lag.records} flow records behind${
        lag.lastApplied ? ` (last applied at ${iso(lag.lastApplied)})` : ''
      }: the later window may not hold everything yet.`,
    );
  }
  const silent = await silentCollectors(driver, ctx, after.window);
  if (silent.length > 0) {
    partial = true;
    notes.push(
      `Collectors missing: ${silent.map((h) => `${h.name} (last heartbeat ${iso(h.lastHeartbeat)})`).join(', ')}; ` +
        'their hosts’ edges may be missing for that reason alone.',
    );
  }
  const emptyBefore = before.edges.size === 0;
  const emptyAfter = after.edges.size === 0;
  if (emptyBefore) notes.push('The earlier window holds no topology at this level.');
  if (emptyAfter) notes.push('The later window holds no topology at this level.');
  return { emptyBefore, emptyAfter, partial: partial || emptyBefore || emptyAfter, notes };
}

async function ingestLag(
  driver: Driver,
  ctx: HealthContext,
): Promise<{ records: number; lastApplied: number | null } | undefined> {
  if (!ctx.admin || !ctx.ingestGroup) return undefined;
  const { records } = await driver.executeQuery(
    `MATCH (p:IngestProgress {group: $group}) WHERE p.topic ENDS WITH 'nettopo.flows.v1'
     RETURN p.topic AS topic, p.partition AS partition, p.offset AS offset,
            p.updatedAt.epochMillis AS updatedAt`,
    { group: ctx.ingestGroup },
    { routing: 'READ' },
  );
  if (records.length === 0) return undefined;
  const applied = new Map<string, number>();
  let lastApplied: number | null = null;
  for (const r of records) {
    applied.set(`${r.get('topic')}/${num(r.get('partition'))}`, num(r.get('offset')));
    const at = r.get('updatedAt');
    if (at !== null) lastApplied = Math.max(lastApplied ?? 0, num(at));
  }
  let behind = 0;
  for (const topic of new Set(records.map((r) => r.get('topic') as string))) {
    for (const p of await ctx.admin.fetchTopicOffsets(topic))
      behind += Math.max(0, Number(p.high) - (applied.get(`${topic}/${p.partition}`) ?? 0));
  }
  return { records: behind, lastApplied };
}

async function silentCollectors(
  driver: Driver,
  ctx: HealthContext,
  window: TimeWindow,
): Promise<{ name: string; lastHeartbeat: number }[]> {
  if (ctx.hosts.length === 0) return [];
  const silence = ctx.collectorSilenceMs ?? 60_000;
  const { records } = await driver.executeQuery(
    `MATCH (h:Host) WHERE h.hostId IN $hosts AND h.lastHeartbeat IS NOT NULL
     RETURN h.hostId AS hostId, h.hostname AS hostname, h.lastHeartbeat.epochMillis AS lastHeartbeat
     ORDER BY hostId`,
    { hosts: ctx.hosts },
    { routing: 'READ' },
  );
  const end = Math.min(ctx.now, window.to);
  return records
    .map((r) => ({
      name: (r.get('hostname') as string | null) ?? (r.get('hostId') as string),
      lastHeartbeat: num(r.get('lastHeartbeat')),
    }))
    .filter((h) => h.lastHeartbeat < end - silence);
}

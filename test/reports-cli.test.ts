/**
 * The history and report commands as a user runs them, against the local stack's real Neo4j and
 * Redis: `nettopo topology --at`, `nettopo report diff`, `nettopo reports status`.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Driver } from 'neo4j-driver';
import { projectRoot } from '../common/paths';
import { bucketStart, createGraphDriver, SchemaMigrator } from '../graph-schema';
import { HistoryWriter, type EdgeDelta } from '../ingest';
import { edgeDelta, recordDeltas } from './helpers/history';
import { hex } from './helpers/ingest-scenario';

const run = promisify(execFile);
const BUCKET = 10_000;

async function nettopo(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--require', 'tsx/cjs', join(projectRoot(), 'cli', 'main.ts'), ...args], {
    env: process.env,
    encoding: 'utf8',
  });
}

describe('history and report commands (real Neo4j, Redis)', function () {
  this.timeout(120_000);
  let driver: Driver;
  const tag = `cli-${hex(4)}`;
  const t0 = bucketStart(Date.now() - 2 * 3_600_000, BUCKET);
  const dir = mkdtempSync(join(tmpdir(), 'nettopo-cli-'));

  before(async () => {
    driver = createGraphDriver();
    await new SchemaMigrator(driver).migrate();
    const w = new HistoryWriter({ bucketMs: BUCKET, retentionMs: 86_400_000 });
    await w.saveSettings(driver, 'neo4j');
    const d = (from: string, to: string, at: number, f: Partial<EdgeDelta>): EdgeDelta =>
      edgeDelta({
        fromKey: `${tag}-${from}`,
        toKey: `${tag}-${to}`,
        port: 443,
        connections: 1,
        bytesToServer: 1000,
        bytesToClient: 2000,
        lastSeen: at,
        ...f,
      });
    await recordDeltas(driver, w, [d('a', 'b', t0 + 1000, {}), d('a', 'c', t0 + 1000, { open: 1 })]);
    await recordDeltas(driver, w, [d('a', 'd', t0 + BUCKET + 1000, {})]);
  });

  after(async () => {
    await driver.executeQuery(
      `MATCH (n) WHERE ((n:EdgeBucket OR n:EdgeHistory) AND n.fromKey STARTS WITH $tag)
          OR (n:TopologyReport AND $tag IN n.hosts) OR (n:TopologyChange AND n.entity CONTAINS $tag)
       DETACH DELETE n`,
      { tag },
    );
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when `topology --at` names a time, then it prints the edges active or open in the bucket holding it', async () => {
    const lines = async (at: number): Promise<string[]> => {
      const { stdout } = await nettopo('topology', '--at', String(at), '--level', 'host', '--format', 'json');
      return stdout
        .split('\n')
        .filter((l) => l.includes(tag))
        .map((l) => {
          const e = JSON.parse(l) as {
            clientKey: string;
            serverKey: string;
            port: number;
            connections: number;
            open: number;
          };
          const short = (k: string): string => k.slice(`Host:${tag}-`.length);
          return `${short(e.clientKey)}>${short(e.serverKey)}:${e.port} conn=${e.connections} open=${e.open}`;
        })
        .sort();
    };
    assert.deepEqual(await lines(t0 + 5000), ['a>b:443 conn=1 open=0', 'a>c:443 conn=1 open=1']);
    // In the next bucket: the new edge, and the connection still open (idle) on a>c.
    assert.deepEqual(await lines(t0 + BUCKET + 5000), ['a>c:443 conn=0 open=1', 'a>d:443 conn=1 open=0']);
  });

  it('when `report diff` compares two buckets, then it prints the summary and writes the three files', async () => {
    const hosts = ['a', 'b', 'c', 'd'].map((h) => `${tag}-${h}`).join(',');
    const { stdout } = await nettopo(
      'report',
      'diff',
      '--from',
      String(t0 + BUCKET),
      '--to',
      String(t0 + 2 * BUCKET),
      '--level',
      'host',
      '--hosts',
      hosts,
      '--out',
      dir,
      '--no-publish',
    );
    // a→b gone, a→d new, and a→c's connection rate fell from 6/min to 0 (its connection stayed open, idle).
    assert.match(
      stdout,
      /^1 edge appeared, 1 edge vanished, 1 edge changed, 1 node appeared, 1 node vanished \(2 edges before, 2 after\)\./m,
    );
    for (const kind of ['markdown', 'json', 'svg']) {
      const path = new RegExp(`^${kind} +(.+)$`, 'm').exec(stdout)?.[1];
      assert.ok(path && existsSync(path), `${kind} file`);
    }
    const json = /^json +(.+)$/m.exec(stdout)?.[1] as string;
    const report = JSON.parse(readFileSync(json, 'utf8')) as { changes: { kind: string; entity: string }[] };
    assert.deepEqual(
      report.changes.map((c) => c.kind),
      ['edge-appeared', 'edge-vanished', 'edge-changed', 'node-appeared', 'node-vanished'],
    );
  });

  it('when `reports status` is asked about a queue nobody uses, then it answers from Redis and Neo4j with no schedules and no failed jobs', async () => {
    const { stdout } = await nettopo('reports', 'status', '--queue', `${tag}-unused`);
    assert.match(stdout, new RegExp(`^queue ${tag}-unused$`, 'm'));
    assert.match(stdout, /^schedules\n {2}\(none\)$/m);
    assert.match(stdout, /^failed jobs\n {2}\(none\)$/m);
  });
});

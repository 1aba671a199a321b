import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Driver } from 'neo4j-driver';
import { projectRoot } from '../common/paths';
import { createGraphDriver } from '../graph-schema';
import { toNumber } from '../ingest/graph/neo4j-params';
import { LocalStack, stackConfig } from '../stack';
import { IngestService } from '../ingest';
import { cleanUp, edgeTotals, hex, IngestScenario, produce } from './helpers/ingest-scenario';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `nettopo ingest` as its own process (node + tsx, no wrapper, so that SIGKILL hits the ingest itself). */
function ingestProcess(prefix: string, group: string, extra: string[] = []): ChildProcess {
  return spawn(
    process.execPath,
    [
      '--require',
      'tsx/cjs',
      join(projectRoot(), 'cli', 'main.ts'),
      'ingest',
      '--topic-prefix',
      prefix,
      '--group',
      group,
      // Small batches and transactions: the stream takes many commits, so the kill lands mid-stream.
      '--max-batch-bytes',
      '32768',
      '--max-transaction-records',
      '500',
      ...extra,
    ],
    { cwd: projectRoot(), stdio: ['ignore', 'ignore', 'pipe'], env: process.env },
  );
}

async function appliedFlowOffsets(driver: Driver, group: string): Promise<number> {
  const { records } = await driver.executeQuery(
    "MATCH (p:IngestProgress {group: $group}) WHERE p.topic ENDS WITH 'flows.v1' RETURN sum(p.offset) AS n",
    { group },
  );
  return toNumber(records[0].get('n')) ?? 0;
}

describe('ingest: exactly-once effect', function () {
  this.timeout(300_000);
  let driver: Driver;
  before(() => {
    driver = createGraphDriver();
  });
  after(async () => {
    await driver.close();
  });

  it('when the ingest is killed with SIGKILL in the middle of a stream and restarted, then the totals are those of an uninterrupted run', async () => {
    const prefix = `test-${hex(4)}.`;
    const group = `g-${hex(4)}`;
    const s = new IngestScenario({ connections: 600, recordsPerFlow: 5 });
    const flows = s.flowMessages();
    try {
      await produce(prefix, [...s.stateMessages(), ...flows]);
      const first = ingestProcess(prefix, group);
      let stderr = '';
      first.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const deadline = Date.now() + 120_000;
      let applied = 0;
      while ((applied = await appliedFlowOffsets(driver, group)) < flows.length * 0.2) {
        assert.ok(Date.now() < deadline, `ingest made no progress: ${stderr}`);
        await sleep(50);
      }
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      const atKill = await appliedFlowOffsets(driver, group);
      assert.ok(
        atKill < flows.length,
        `the ingest finished (${atKill}/${flows.length}) before it was killed`,
      );

      const second = ingestProcess(prefix, group, ['--until-caught-up']);
      const code = await new Promise<number | null>((r) => second.once('exit', r));
      assert.equal(code, 0);
      assert.equal(await appliedFlowOffsets(driver, group), flows.length);
      assert.deepEqual(
        await edgeTotals(driver, s.hosts),
        s.expected,
        `killed after ${applied}/${flows.length} flow records`,
      );
    } finally {
      await cleanUp(driver, s, prefix, [group]);
    }
  });

  it('when Neo4j is stopped for 20 s in the middle of a stream, then consumption pauses and resumes with no loss and no double count', async () => {
    const prefix = `test-${hex(4)}.`;
    const group = `g-${hex(4)}`;
    const s = new IngestScenario({ connections: 300, recordsPerFlow: 4 });
    const flows = s.flowMessages();
    const stack = new LocalStack(stackConfig());
    const ingest = new IngestService({
      topicPrefix: prefix,
      groupId: group,
      maxBytesPerPartition: 32_768,
      initialBackoffMs: 200,
      maxBackoffMs: 2_000,
    });
    let unavailable = 0;
    ingest.on('graphUnavailable', () => (unavailable += 1));
    try {
      await produce(prefix, s.stateMessages());
      await ingest.start();
      await ingest.waitUntilCaughtUp(60_000);
      await produce(prefix, flows.slice(0, flows.length / 2));
      await sleep(300);
      await stack.down(['neo4j']);
      const producing = produce(prefix, flows.slice(flows.length / 2));
      await sleep(20_000);
      await producing;
      assert.ok(ingest.stats().waitingForGraph || unavailable > 0, 'the ingest never noticed Neo4j was down');
      await stack.up(['neo4j']);
      await ingest.waitUntilCaughtUp(120_000);
      assert.ok(unavailable > 0);
      assert.deepEqual(await edgeTotals(driver, s.hosts), s.expected);
    } finally {
      await stack.up(['neo4j']);
      await ingest.stop();
      await cleanUp(driver, s, prefix, [group]);
    }
  });
});

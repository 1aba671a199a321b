import { strict as assert } from 'node:assert';
import type { Driver } from 'neo4j-driver';
import type { TopicMessage } from '../contract';
import { createGraphDriver } from '../graph-schema';
import { IngestService, type TransactionResult } from '../ingest';
import { GraphWriter } from '../ingest/graph/graph-writer';
import { toNumber } from '../ingest/graph/neo4j-params';
import { cleanUp, edgeTotals, hex, IngestScenario, produce } from './helpers/ingest-scenario';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ingest: transactions', function () {
  this.timeout(120_000);
  let driver: Driver;
  before(() => {
    driver = createGraphDriver();
  });
  after(async () => {
    await driver.close();
  });

  it('when the two ends of each connection are on two partitions, then transactions take both partitions, write a connection seen from both ends once, and the totals are exact', async () => {
    const prefix = `test-${hex(4)}.`;
    const group = `g-${hex(4)}`;
    const s = new IngestScenario({ connections: 300, recordsPerFlow: 3 });
    // Host A's records on partition 0, host B's on partition 1, whatever their keys hash to.
    const flows: TopicMessage[] = s.flowMessages().map((m) => ({
      ...m,
      message: { ...m.message, partition: m.message.key === s.hostA ? 0 : 1 },
    }));
    const ingest = new IngestService({ topicPrefix: prefix, groupId: group });
    const transactions: TransactionResult[] = [];
    ingest.on('transaction', (r: TransactionResult) => transactions.push(r));
    try {
      await ingest.start();
      await produce(prefix, s.stateMessages());
      await ingest.waitUntilCaughtUp(60_000);
      transactions.length = 0;
      await produce(prefix, flows);
      await ingest.waitUntilCaughtUp(60_000);
      assert.deepEqual(await edgeTotals(driver, s.hosts), s.expected);

      const flowsApplied = transactions.reduce((n, t) => n + t.flows, 0);
      const connectionsWritten = transactions.reduce((n, t) => n + t.connections, 0);
      const both = transactions.filter(
        (t) => new Set(t.partitions.filter((p) => p.records > 0).map((p) => p.partition)).size > 1,
      );
      assert.ok(both.length > 0, `no transaction covered both partitions: ${JSON.stringify(transactions)}`);
      // One transaction per batch would write every connection once per end it saw.
      assert.ok(
        connectionsWritten < flowsApplied,
        `${connectionsWritten} connection writes for ${flowsApplied} flows applied`,
      );
      assert.equal(
        transactions.reduce((n, t) => n + t.records, 0),
        flows.length,
      );
    } finally {
      await ingest.stop();
      await cleanUp(driver, s, prefix, [group]);
    }
  });

  it('when the ingest’s own code fails inside a transaction, then it stops with a fatal error and dead-letters nothing', async () => {
    const prefix = `test-${hex(4)}.`;
    const group = `g-${hex(4)}`;
    const s = new IngestScenario({ connections: 5, recordsPerFlow: 2 });
    const ingest = new IngestService({ topicPrefix: prefix, groupId: group, logger: quiet });
    // Fault injection: the batch processor throws as a bug in it would (not a Neo4j error).
    (ingest as unknown as { processor: { apply: () => Promise<never> } }).processor.apply = () =>
      Promise.reject(new TypeError('injected bug: x is undefined'));
    const deadLetters: unknown[] = [];
    ingest.on('deadLetter', (r) => deadLetters.push(r));
    const fatal = new Promise<Error>((resolve) => ingest.once('fatal', resolve));
    try {
      await ingest.start();
      await produce(prefix, [...s.stateMessages(), ...s.flowMessages()]);
      const err = await Promise.race([fatal, sleep(60_000).then(() => undefined)]);
      assert.ok(err instanceof TypeError, `no fatal error within 60 s: ${String(err)}`);
      assert.match(err.message, /injected bug/);
      await assert.rejects(ingest.waitUntilCaughtUp(5_000), /injected bug/);
      assert.equal(deadLetters.length, 0);
      const { records } = await driver.executeQuery(
        'MATCH (p:IngestProgress {group: $group}) RETURN coalesce(max(p.offset), 0) AS n',
        { group },
      );
      assert.equal(toNumber(records[0].get('n')), 0, 'progress was stored for records never applied');
    } finally {
      await ingest.stop();
      await cleanUp(driver, s, prefix, [group]);
    }
  });

  it('when a Connection node holds a state this ingest cannot read, then locking it fails with an error that names the node and how to go on', async () => {
    const key = `198.51.100.${hex(1)}:${hex(2)}|198.51.100.9:443`;
    await driver.executeQuery('CREATE (:Connection {key: $key, a: $a, hosts: []})', {
      key,
      a: '\u0001binary',
    });
    const session = driver.session();
    try {
      await assert.rejects(
        session.executeWrite((tx) => new GraphWriter().lockConnections(tx, [key])),
        (err: Error) => {
          assert.equal(err.name, 'IngestError');
          assert.ok(err.message.includes(JSON.stringify(key)), err.message);
          assert.match(err.message, /cannot read .*Nothing of this batch was applied/);
          assert.ok(
            err.message.endsWith(`MATCH (c:Connection {key: ${JSON.stringify(key)}}) DETACH DELETE c`),
          );
          return true;
        },
      );
    } finally {
      await session.close();
      await driver.executeQuery('MATCH (c:Connection {key: $key}) DETACH DELETE c', { key });
    }
  });

  it('when a transaction runs while the statements are still being planned, then its statements wait and run in the order sent', async () => {
    const hostId = `test-${hex(8)}`;
    // Documentation range, random: no other test's host (198.18/198.19) owns it.
    const addr = `2001:db8:${hex(2)}:${hex(2)}::1`;
    const writer = new GraphWriter();
    // A cold plan cache, so that the warm-up is still planning when the transaction sends.
    await driver.executeQuery('CALL db.clearQueryCaches()');
    let planned = false;
    const warmUp = writer
      .warmUp(() => driver.session())
      .then(() => {
        planned = true;
      });
    const session = driver.session();
    try {
      const { owners, sentBeforePlanned } = await session.executeWrite(async (tx) => {
        // Planned after the read below: held back, the write must still run first.
        const hosts = writer.upsertHosts(tx, [
          {
            hostId,
            hostname: 'h',
            kernel: 'k',
            collectorVersion: 'v',
            observedAt: 1,
            namespacesTruncated: false,
            addresses: [{ key: `${hostId}/1/${addr}`, netns: 1, addr, prefixLength: 24, ifname: 'eth0' }],
          },
        ]);
        const sentBeforePlanned = !planned;
        const read = await writer.addressOwners(tx, [addr]);
        await hosts;
        return { owners: read, sentBeforePlanned };
      });
      await warmUp;
      assert.ok(sentBeforePlanned, 'the warm-up had planned everything before the transaction sent');
      assert.deepEqual(owners.get(addr), [{ hostId, netns: 1 }]);
    } finally {
      await session.close();
      await driver.executeQuery(
        'MATCH (n) WHERE (n:Host OR n:NetnsAddress) AND n.hostId = $hostId DETACH DELETE n',
        { hostId },
      );
    }
  });
});

const quiet = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

/**
 * `nettopo up`, the README's main job, as a user runs it: against the running local stack, a
 * connection between two test hosts made while it runs must appear in Neo4j as one process-level
 * CONNECTS_TO edge with the bytes the peers report, and the live summary must be printed.
 * Needs root, a BPF-capable kernel and the local stack (scripts/test.sh starts it).
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import neo4j, { type Driver } from 'neo4j-driver';
import { createGraphDriver } from '../graph-schema/graph-driver';
import { HOST_B, PeerProcess, TestNetwork } from './helpers';

const CLI = join(__dirname, '..', 'cli', 'main.ts');

describe('nettopo up (real kernel, Kafka and Neo4j)', function () {
  this.timeout(120_000);
  let net: TestNetwork | undefined;
  let child: ChildProcess | undefined;
  let driver: Driver | undefined;
  const peers: PeerProcess[] = [];

  before(function () {
    if (process.geteuid?.() !== 0) {
      console.log('    skipped: needs root (loads eBPF programs)');
      this.skip();
    }
  });

  after(async function () {
    peers.forEach((p) => p.kill());
    if (child && child.exitCode === null) child.kill('SIGKILL');
    net?.destroy();
    await driver?.close();
  });

  it('when two test hosts talk while it runs, then the graph holds one client → server edge with their exact bytes, and the summary is printed', async function () {
    net = TestNetwork.create();
    const port = 20000 + Math.floor(Math.random() * 20000);
    let stdout = '';
    let stderr = '';
    child = spawn(
      process.execPath,
      ['--require', 'tsx/cjs', CLI, 'up', '--interval', '1', '--summary-every', '2', '--keep-stack'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!/nettopo is running/.test(stdout)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`up did not start:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(stdout, /Open Neo4j Browser at http:\/\/127\.0\.0\.1:\d+\/browser\//);

    const server = new PeerProcess(net.b, { role: 'server', host: HOST_B.v4, port, reply: 2222 });
    peers.push(server);
    await server.waitFor('listening');
    const client = new PeerProcess(net.a, { role: 'client', host: HOST_B.v4, port, send: 33333 });
    peers.push(client);
    const done = await client.waitFor('done');
    assert.equal(done.received, 2222);

    driver = createGraphDriver();
    const edgeDeadline = Date.now() + 60_000;
    let edge: Record<string, unknown> | undefined;
    for (;;) {
      const session = driver.session({ defaultAccessMode: 'READ' });
      try {
        const res = await session.run(
          `MATCH (c:Process {pid: $clientPid})-[r:CONNECTS_TO {level: 'process', port: $port}]->(s:Process)
           RETURN c.comm AS client, s.pid AS serverPid, r.connections AS connections,
                  r.bytesToServer AS toServer, r.bytesToClient AS toClient`,
          { clientPid: neo4j.int(done.pid), port: neo4j.int(port) },
        );
        const row = res.records[0]?.toObject();
        if (row && Number(row.toServer) === 33333 && Number(row.toClient) === 2222) {
          edge = row;
          break;
        }
        if (Date.now() > edgeDeadline)
          throw new Error(`edge not complete: ${JSON.stringify(row)}\n${stderr}`);
      } finally {
        await session.close();
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(Number(edge.connections), 1);
    assert.equal(Number(edge.serverPid), (await server.waitFor('served')).pid);

    // The summary keeps coming; then Ctrl-C stops the collector and the ingest (the stack stays: --keep-stack).
    const summaries = (stdout.match(/^graph: /gm) ?? []).length;
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok((stdout.match(/^graph: /gm) ?? []).length > summaries, 'the summary is printed again');
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGINT');
    await exited;
    assert.equal(child.exitCode, 0, stderr);
    assert.match(stderr, /kafka: \d+ records submitted, \d+ produced, 0 dropped/);
  });
});

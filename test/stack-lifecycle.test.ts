import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../common';
import { KubeClient, loadKubeConfig } from '../k8s';
import { isRunning, type ServerStatus } from '../stack';

const root = projectRoot();
const tsxCli = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs the real CLI (`nettopo …` from sources) with extra environment. */
function nettopo(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsxCli, join(root, 'cli', 'main.ts'), ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr, seconds: (Date.now() - t0) / 1000 }));
  });
}

/** Ports the kernel hands out as free right now (bound once, then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
    ports.push((s.address() as { port: number }).port);
  }
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** A stack of its own: a fresh data dir and free ports, so the shared stack of the test run is untouched. */
async function isolatedEnv(dataDir: string): Promise<NodeJS.ProcessEnv> {
  const [kafka, controller, bolt, http, redis, apiserver, etcd, etcdPeer] = await freePorts(8);
  return {
    ...process.env,
    NETTOPO_DATA_DIR: dataDir,
    NETTOPO_KAFKA_PORT: String(kafka),
    NETTOPO_KAFKA_CONTROLLER_PORT: String(controller),
    NETTOPO_NEO4J_BOLT_PORT: String(bolt),
    NETTOPO_NEO4J_HTTP_PORT: String(http),
    NETTOPO_REDIS_PORT: String(redis),
    NETTOPO_KUBE_APISERVER_PORT: String(apiserver),
    NETTOPO_KUBE_ETCD_PORT: String(etcd),
    NETTOPO_KUBE_ETCD_PEER_PORT: String(etcdPeer),
    NETTOPO_KAFKA_HEAP: '256m',
    NETTOPO_NEO4J_HEAP: '256m',
    NETTOPO_NEO4J_PAGECACHE: '32m',
  };
}

/** The last lines of each server log, for a failure's context. */
function printLogTails(logs: string): void {
  if (!existsSync(logs)) return;
  for (const name of readdirSync(logs)) {
    const lines = readFileSync(join(logs, name), 'utf8').trimEnd().split('\n').slice(-15);
    console.log(
      `      --- ${name} (last ${lines.length} lines)\n${lines.map((l) => `      ${l}`).join('\n')}`,
    );
  }
}

describe('nettopo stack lifecycle (on its own ports and data dir)', function () {
  this.timeout(240_000);
  let dataDir: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'nettopo-stack-'));
    env = await isolatedEnv(dataDir);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') printLogTails(join(dataDir, 'logs')); // before they go
    await nettopo(['stack', 'down'], env); // whatever a failed test left running
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('when the stack is up, then a second `stack up` is a no-op and `stack down` leaves no process behind', async () => {
    const first = await nettopo(['stack', 'up'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`kafka  127\\.0\\.0\\.1:${env.NETTOPO_KAFKA_PORT}`));
    assert.match(first.stdout, new RegExp(`bolt://127\\.0\\.0\\.1:${env.NETTOPO_NEO4J_BOLT_PORT}`));
    assert.match(first.stdout, new RegExp(`redis://127\\.0\\.0\\.1:${env.NETTOPO_REDIS_PORT}`));

    const before = JSON.parse((await nettopo(['stack', 'status', '--json'], env)).stdout) as ServerStatus[];
    assert.deepEqual(
      before.map((s) => s.state),
      ['running', 'running', 'running'],
    );

    const second = await nettopo(['stack', 'up'], env);
    assert.equal(second.code, 0, second.stderr);
    for (const name of ['kafka', 'neo4j', 'redis'])
      assert.match(second.stderr, new RegExp(`${name}: already running`));
    assert.doesNotMatch(second.stderr, /started \(pid|fetching/);
    const after = JSON.parse((await nettopo(['stack', 'status', '--json'], env)).stdout) as ServerStatus[];
    assert.deepEqual(
      after.map((s) => s.pid),
      before.map((s) => s.pid),
    );

    const down = await nettopo(['stack', 'down'], env);
    assert.equal(down.code, 0, down.stderr);
    for (const s of before) assert.equal(isRunning(s.pid as number), false, `${s.name} still runs`);
    assert.deepEqual(readdirSync(join(dataDir, 'run')), []);
    const stopped = JSON.parse((await nettopo(['stack', 'status', '--json'], env)).stdout) as ServerStatus[];
    assert.deepEqual(
      stopped.map((s) => s.state),
      ['stopped', 'stopped', 'stopped'],
    );
  });

  it('when `stack up kube` runs, then etcd and kube-apiserver answer on 127.0.0.1 with token auth, from the cache, with owner-only keys, and `stack down` stops both', async () => {
    const up = await nettopo(['stack', 'up', 'kube'], env);
    assert.equal(up.code, 0, up.stderr);
    assert.doesNotMatch(up.stderr, /building/, 'the binaries come from the cache');
    const kubeconfig = join(dataDir, 'kube', 'kubeconfig');
    assert.match(
      up.stdout,
      new RegExp(
        `kube   https://127\\.0\\.0\\.1:${env.NETTOPO_KUBE_APISERVER_PORT}  kubeconfig ${kubeconfig}`,
      ),
    );
    const status = JSON.parse((await nettopo(['stack', 'status', '--json'], env)).stdout) as ServerStatus[];
    assert.deepEqual(
      status.map((x) => `${x.name} ${x.state}`),
      ['kafka stopped', 'neo4j stopped', 'redis stopped', 'etcd running', 'kube-apiserver running'],
    );

    // The kubeconfig's admin token is accepted; a wrong one gets 401, none 403 (anonymous).
    const client = new KubeClient(loadKubeConfig(kubeconfig));
    const namespaces = await client.request<{ items: { metadata: { name: string } }[] }>(
      'GET',
      '/api/v1/namespaces',
    );
    assert.ok(namespaces.items.some((n) => n.metadata.name === 'kube-system'));
    const ca = readFileSync(join(dataDir, 'kube', 'pki', 'ca.crt'));
    const statusOf = (headers: Record<string, string>): Promise<number> =>
      new Promise((resolve, reject) =>
        httpsGet(
          {
            host: '127.0.0.1',
            port: Number(env.NETTOPO_KUBE_APISERVER_PORT),
            path: '/api/v1/namespaces',
            ca,
            headers,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        ).on('error', reject),
      );
    assert.equal(await statusOf({ Authorization: 'Bearer not-the-token' }), 401);
    assert.equal(await statusOf({}), 403);
    // Only their owner reads the keys, the token and the kubeconfig.
    for (const f of [
      'kubeconfig',
      'pki/token',
      'pki/tokens.csv',
      'pki/sa.key',
      'pki/ca.key',
      'pki/apiserver.key',
    ])
      assert.equal(statSync(join(dataDir, 'kube', f)).mode & 0o077, 0, `${f} is readable by others`);
    assert.equal(statSync(join(dataDir, 'kube', 'pki')).mode & 0o077, 0);

    const down = await nettopo(['stack', 'down'], env);
    assert.equal(down.code, 0, down.stderr);
    for (const x of status.filter((y) => y.pid))
      assert.equal(isRunning(x.pid as number), false, `${x.name} still runs`);
    assert.ok(down.seconds < 20, `stack down took ${down.seconds}s`);
  });

  it('when port 7687 is taken, then stack up fails fast naming the port', async () => {
    let holder: Server | undefined = createServer();
    await new Promise<void>((resolve) => {
      holder!.once('error', () => {
        holder = undefined; // already taken (e.g. by the shared stack's Neo4j): just as good
        resolve();
      });
      holder!.listen(7687, '127.0.0.1', resolve);
    });
    try {
      const run = await nettopo(['stack', 'up'], { ...env, NETTOPO_NEO4J_BOLT_PORT: '7687' });
      assert.equal(run.code, 1);
      assert.ok(run.seconds < 15, `took ${run.seconds}s`);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0], /port 7687 \(Neo4j Bolt\).*already in use.*NETTOPO_NEO4J_BOLT_PORT/);
      assert.equal(existsSync(join(dataDir, 'run', 'kafka.pid')), false, 'nothing was started');
    } finally {
      if (holder) await new Promise((r) => holder!.close(r));
    }
  });

  it('when Java is missing, then stack up says so in one line', async () => {
    const noJava = { ...env, PATH: '/nonexistent', JAVA_HOME: '' };
    const run = await nettopo(['stack', 'up'], noJava);
    assert.equal(run.code, 1);
    assert.match(run.stderr.trim(), /^nettopo: java not found/);
    assert.equal(run.stderr.trim().split('\n').length, 1);
  });

  it('when Neo4j dies at start, then stack up names the cause and the log file', async () => {
    const run = await nettopo(['stack', 'up', 'neo4j'], { ...env, NETTOPO_NEO4J_PAGECACHE: 'lots' });
    assert.equal(run.code, 1);
    const last = run.stderr.trim().split('\n').pop() as string;
    assert.match(last, /^nettopo: neo4j exited while starting/);
    assert.match(last, /'lots' is not a valid size/);
    assert.match(last, new RegExp(`log: ${join(dataDir, 'logs', 'neo4j.log')}`));
    assert.equal(existsSync(join(dataDir, 'run', 'neo4j.pid')), false);
  });
});

/**
 * Operating against servers that are not the local stack's: a second stack on other ports with
 * auth on (Kafka SASL/PLAIN, Neo4j auth), reached by the ingest from a config file, from the
 * environment and from flags; wrong passwords as one line; /metrics of a real collector → Kafka →
 * ingest run; /readyz following Kafka and Neo4j as they go away and come back.
 * Needs root (the collector) and Java (the second stack; jars from the cache).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import neo4j, { type Driver } from 'neo4j-driver';
import { KafkaSink, kafkaSettings, type KafkaSettings } from '../kafka';
import { samples } from './contract-samples';
import { AuthStack } from './helpers/auth-stack';
import { CliRun, skipUnlessRoot } from './helpers';

const CLI = ['--require', 'tsx/cjs', `${__dirname}/../cli/main.ts`];

/** `nettopo <args>` to its end; stdout, stderr, status. */
function nettopo(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Prometheus text → value of one series (name with its labels as printed, `component` left out). */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  throw new Error(`no ${name} ${JSON.stringify(labels)} in:\n${text}`);
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

/** The port a command's metrics endpoint bound (it logs it). */
async function metricsPort(run: CliRun): Promise<number> {
  await run.waitForLog(/metrics on http:\/\/127\.0\.0\.1:\d+/, 60_000);
  return Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(run.stderr)?.[1]);
}

/** Polls until `check` passes (bounded). */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('operate: remote servers with auth, metrics and readiness (a second stack with SASL and Neo4j auth)', function () {
  this.timeout(300_000);
  const auth = new AuthStack();
  let settings: KafkaSettings;
  let driver: Driver;
  let kafkaPw: string;
  let neo4jPw: string;
  let wrongPw: string;
  const runs: CliRun[] = [];

  before(async function () {
    this.timeout(240_000);
    await auth.up();
    kafkaPw = auth.file('kafka-password', `${auth.kafkaPassword}\n`);
    neo4jPw = auth.file('neo4j-password', `${auth.neo4jPassword}\n`);
    wrongPw = auth.file('wrong-password', 'not-it\n');
    settings = kafkaSettings(
      {
        brokers: auth.broker,
        saslMechanism: 'plain',
        saslUsername: auth.kafkaUser,
        saslPasswordFile: kafkaPw,
      },
      {},
    );
    driver = neo4j.driver(auth.bolt, neo4j.auth.basic('neo4j', auth.neo4jPassword));
  });

  afterEach(async () => {
    await Promise.all(runs.splice(0).map((r) => r.stop(10_000)));
  });

  after(async () => {
    await driver?.close();
    await auth.remove();
  });

  /** Produces a host, a process and a flow record to prefixed topics over SASL; returns how many. */
  async function produce(prefix: string): Promise<number> {
    const s = samples();
    const sink = new KafkaSink({ settings, topicPrefix: prefix, partitions: 1 });
    sink.start();
    sink.send('host', s.host);
    sink.send('process', s.process);
    sink.send('flow', s.flow);
    await sink.stop(30_000);
    assert.equal(sink.stats().produced, 3);
    return 3;
  }

  /** The offsets the ingest's group committed in Neo4j (with its own progress, in the same transactions). */
  async function applied(group: string): Promise<number> {
    const { records } = await driver.executeQuery(
      'MATCH (p:IngestProgress {group: $group}) RETURN sum(p.offset) AS n',
      { group },
    );
    return Number(records[0].get('n'));
  }

  const ways: { name: string; args: (p: string, g: string) => string[]; env: () => NodeJS.ProcessEnv }[] = [
    {
      name: 'the config file',
      args: (prefix, group) => {
        const file = auth.file(
          `ingest-${group}.yaml`,
          [
            'kafka:',
            `  brokers: [${auth.broker}]`,
            `  topicPrefix: ${prefix}`,
            '  sasl:',
            '    mechanism: plain',
            `    username: ${auth.kafkaUser}`,
            `    passwordFile: ${kafkaPw}`,
            'neo4j:',
            `  uri: ${auth.bolt}`,
            '  user: neo4j',
            `  passwordFile: ${neo4jPw}`,
            'ingest:',
            `  group: ${group}`,
            'log:',
            '  level: info',
            '',
          ].join('\n'),
        );
        return ['ingest', '--config', file, '--until-caught-up'];
      },
      env: () => ({}),
    },
    {
      name: 'the environment',
      args: (prefix, group) => ['ingest', '--topic-prefix', prefix, '--group', group, '--until-caught-up'],
      env: () => ({
        NETTOPO_KAFKA_BROKERS: auth.broker,
        NETTOPO_KAFKA_SASL_MECHANISM: 'plain',
        NETTOPO_KAFKA_SASL_USERNAME: auth.kafkaUser,
        NETTOPO_KAFKA_SASL_PASSWORD: auth.kafkaPassword,
        NETTOPO_NEO4J_URI: auth.bolt,
        NETTOPO_NEO4J_PASSWORD_FILE: neo4jPw,
      }),
    },
    {
      name: 'flags',
      args: (prefix, group) => [
        'ingest',
        '--brokers',
        auth.broker,
        '--kafka-sasl-mechanism',
        'plain',
        '--kafka-sasl-username',
        auth.kafkaUser,
        '--kafka-sasl-password-file',
        kafkaPw,
        '--neo4j-uri',
        auth.bolt,
        '--neo4j-password-file',
        neo4jPw,
        '--topic-prefix',
        prefix,
        '--group',
        group,
        '--until-caught-up',
      ],
      env: () => ({}),
    },
  ];

  for (const way of ways) {
    it(`when the ingest is given the servers and credentials by ${way.name}, then it applies every record produced over SASL into the Neo4j with auth`, async () => {
      const id = randomBytes(4).toString('hex');
      const prefix = `op-${id}.`;
      const group = `op-${id}`;
      const produced = await produce(prefix);
      const r = nettopo(way.args(prefix, group), way.env());
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`brokers ${auth.broker}.*SASL plain as ${auth.kafkaUser}`));
      assert.doesNotMatch(
        r.stderr,
        new RegExp(`${auth.kafkaPassword}|${auth.neo4jPassword}`),
        'no secret logged',
      );
      assert.equal(await applied(group), produced);
    });
  }

  it('when a password is wrong, then the command says which server refused whom in one line and exits 5', () => {
    const neo = nettopo(['schema', 'status', '--neo4j-uri', auth.bolt, '--neo4j-password-file', wrongPw]);
    assert.equal(neo.status, 5);
    assert.equal(neo.stderr, `nettopo: Neo4j at ${auth.bolt} refused user 'neo4j': wrong user or password\n`);
    const kafka = nettopo(
      [
        'ingest',
        '--brokers',
        auth.broker,
        '--neo4j-uri',
        auth.bolt,
        '--neo4j-password-file',
        neo4jPw,
        '--no-migrate',
      ],
      {
        NETTOPO_KAFKA_SASL_MECHANISM: 'plain',
        NETTOPO_KAFKA_SASL_USERNAME: auth.kafkaUser,
        NETTOPO_KAFKA_SASL_PASSWORD_FILE: wrongPw,
        NETTOPO_LOG_LEVEL: 'error',
      },
    );
    assert.equal(kafka.status, 5, kafka.stderr);
    assert.match(
      kafka.stderr,
      new RegExp(`^nettopo: Kafka at ${auth.broker} refused the SASL credentials: .*\\n$`),
    );
  });

  it('when a collector and an ingest run with metrics, then /metrics shows what the run did: records produced = consumed, drops = the heartbeat', async function () {
    skipUnlessRoot.call(this);
    const id = randomBytes(4).toString('hex');
    const prefix = `opm-${id}.`;
    const sasl = {
      NETTOPO_KAFKA_SASL_MECHANISM: 'plain',
      NETTOPO_KAFKA_SASL_USERNAME: auth.kafkaUser,
      NETTOPO_KAFKA_SASL_PASSWORD_FILE: kafkaPw,
    };
    const env = {
      ...process.env,
      ...sasl,
      NETTOPO_NEO4J_URI: auth.bolt,
      NETTOPO_NEO4J_PASSWORD_FILE: neo4jPw,
    };
    const collector = new CliRun(
      [
        'collect',
        '--kafka',
        auth.broker,
        '--topic-prefix',
        prefix,
        '--interval',
        '1',
        '--heartbeat',
        '1',
        '--metrics-address',
        '0',
        '--partitions',
        '1',
      ],
      env,
    );
    runs.push(collector);
    const ingest = new CliRun(
      [
        'ingest',
        '--brokers',
        auth.broker,
        '--topic-prefix',
        prefix,
        '--group',
        `opm-${id}`,
        '--metrics-address',
        '0',
      ],
      env,
    );
    runs.push(ingest);
    const [cPort, iPort] = [await metricsPort(collector), await metricsPort(ingest)];
    // Traffic the collector sees: 20 loopback connections of 1 KiB each way.
    const server: Server = createServer((s) => s.on('data', (d) => s.write(d)).on('error', () => undefined));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    for (let i = 0; i < 20; i++)
      await new Promise<void>((resolve) => {
        const c = connect(port, '127.0.0.1', () => c.write(Buffer.alloc(1024)));
        c.on('data', () => c.end());
        c.on('close', () => resolve());
      });
    server.close();
    await eventually('the collector to produce flows', async () => {
      const m = (await get(cPort, '/metrics')).body;
      return metric(m, 'nettopo_kafka_records_produced_total') > 20;
    });
    assert.equal((await get(cPort, '/readyz')).status, 200);
    assert.equal((await get(iPort, '/readyz')).status, 200);
    assert.equal((await get(cPort, '/healthz')).body, 'ok\n');
    const cm = (await get(cPort, '/metrics')).body;
    assert.ok(metric(cm, 'nettopo_collector_events_total') >= 0, 'the events counter is served');
    assert.ok(metric(cm, 'nettopo_collector_flow_records_total') >= 20);
    // Stop the collector (its last heartbeat is sent), then let the ingest apply everything.
    await collector.stop();
    assert.equal(collector.exitCode, 0, collector.stderr);
    const before = (await get(cPort, '/metrics').catch(() => undefined))?.body;
    assert.equal(before, undefined, 'the collector endpoint closed with the collector');
    await eventually('the ingest to catch up', async () => {
      const m = (await get(iPort, '/metrics')).body;
      return metric(m, 'nettopo_ingest_consumer_lag') === 0;
    });
    const last = /kafka: (\d+) records submitted, (\d+) produced, (\d+) dropped/.exec(collector.stderr);
    assert.ok(last, collector.stderr);
    const produced = Number(last[2]);
    const im = (await get(iPort, '/metrics')).body;
    assert.ok(produced > 20);
    assert.equal(
      metric(im, 'nettopo_ingest_records_consumed_total'),
      produced,
      'every record produced was consumed',
    );
    assert.ok(metric(im, 'nettopo_ingest_transactions_total') >= 1);
    assert.equal(
      metric(im, 'nettopo_ingest_transaction_seconds_count'),
      metric(im, 'nettopo_ingest_transactions_total'),
    );
    assert.equal(metric(im, 'nettopo_ingest_dead_letters_total'), 0);
    // The drops /metrics showed are the heartbeat's: the last one, as the ingest stored it on the Host.
    const machineId = readFileSync('/etc/machine-id', 'utf8').trim();
    const { records } = await driver.executeQuery(
      'MATCH (h:Host {hostId: $id}) RETURN h.dropsRingBufferFull AS ring, h.dropsMapFull AS map, h.dropsKafkaBufferFull AS kafka',
      { id: machineId },
    );
    assert.equal(records.length, 1, 'the heartbeats reached the graph');
    assert.deepEqual(
      {
        ring: Number(records[0].get('ring')),
        map: Number(records[0].get('map')),
        kafka: Number(records[0].get('kafka')),
      },
      {
        ring: metric(cm, 'nettopo_collector_drops_total', { cause: 'ring_buffer_full' }),
        map: metric(cm, 'nettopo_collector_drops_total', { cause: 'map_full' }),
        kafka: metric(cm, 'nettopo_collector_drops_total', { cause: 'kafka_buffer_full' }),
      },
    );
  });

  it('when Kafka or Neo4j goes away, then /readyz of the ingest turns 503 naming it, and 200 again once it is back', async () => {
    const id = randomBytes(4).toString('hex');
    const ingest = new CliRun(
      [
        'ingest',
        '--brokers',
        auth.broker,
        '--topic-prefix',
        `opr-${id}.`,
        '--group',
        `opr-${id}`,
        '--metrics-address',
        '0',
      ],
      {
        ...process.env,
        NETTOPO_KAFKA_SASL_MECHANISM: 'plain',
        NETTOPO_KAFKA_SASL_USERNAME: auth.kafkaUser,
        NETTOPO_KAFKA_SASL_PASSWORD_FILE: kafkaPw,
        NETTOPO_NEO4J_URI: auth.bolt,
        NETTOPO_NEO4J_PASSWORD_FILE: neo4jPw,
      },
    );
    runs.push(ingest);
    const port = await metricsPort(ingest);
    await ingest.waitForLog(/consuming /, 60_000);
    await eventually('ready', async () => (await get(port, '/readyz')).status === 200);
    for (const server of ['kafka', 'neo4j'] as const) {
      await auth.down([server]);
      await eventually(`unready without ${server}`, async () => {
        const r = await get(port, '/readyz');
        return r.status === 503 && r.body.startsWith(`${server}: `);
      });
      const r = await get(port, '/readyz');
      assert.match(
        r.body,
        server === 'kafka' ? /^kafka: Kafka at .* is not reachable/ : /^neo4j: Neo4j at .* is not reachable/,
      );
      await auth.up([server]);
      await eventually(
        `ready again with ${server}`,
        async () => (await get(port, '/readyz')).status === 200,
        90_000,
      );
    }
    assert.equal(ingest.exitCode, null, 'the ingest kept running');
  });
});

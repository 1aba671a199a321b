/**
 * `nettopo alerts` against the local stack's real Kafka and a real HTTP receiver started by the
 * test: rules fire on exactly the matching changes; a receiver that fails twice and then recovers
 * gets each alert once; a restart of the consumer (same group) neither loses nor repeats one; an
 * alert that cannot be delivered ends as a dead-letter record.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Codec, type TopologyChangeV1 } from '../contract';
import { kafkaSettings } from '../kafka/kafka-config';
import { AlertService, alertsConfigOf, type AlertsConfig } from '../reports';
import { CliRun, TestTopics } from './helpers';
import { capturingLogger, eventually } from './helpers/report-checks';

const WINDOW = { from: 1_764_000_000_000, to: 1_764_003_600_000 };

function node(
  label: string,
  key: string,
  namespace: string | null,
  workload: string | null,
): TopologyChangeV1['from'] {
  return { label, key, name: key, hostId: null, namespace, workload };
}

function figures(
  f: Partial<NonNullable<TopologyChangeV1['after']>> = {},
): NonNullable<TopologyChangeV1['after']> {
  return {
    connections: 10,
    failedConnects: 0,
    bytesToServer: 100_000,
    bytesToClient: 100_000,
    retransmits: 0,
    connectLatencyUsSum: 0,
    connectLatencyCount: 0,
    open: 0,
    ...f,
  };
}

let n = 0;
function change(kind: TopologyChangeV1['kind'], f: Partial<TopologyChangeV1>): TopologyChangeV1 {
  n += 1;
  return {
    changeId: `rep-alerts/${n}`,
    reportId: 'rep-alerts',
    schedule: 'hourly',
    kind,
    level: 'pod',
    entity: `entity-${n}`,
    from: null,
    to: null,
    port: null,
    before: null,
    after: null,
    metrics: [],
    windowBefore: { from: WINDOW.from - 3_600_000, to: WINDOW.from },
    windowAfter: WINDOW,
    partial: false,
    createdAt: WINDOW.to,
    ...f,
  };
}

const shop = node('Pod', 'shop-frontend', 'shop', 'shop/Deployment/frontend');
const pay = node('Pod', 'payments-api', 'payments', 'payments/Deployment/api');
const db = node('Pod', 'data-db', 'data', 'data/StatefulSet/db');

/** shop → db's retransmit rate moved from 0 to `pct` %. */
function retransmitsMoved(pct: number): TopologyChangeV1 {
  return change('edge_changed', {
    from: shop,
    to: db,
    port: 5432,
    before: figures(),
    after: figures({ retransmits: Math.round(pct * 4) }),
    metrics: [{ metric: 'retransmitPct', before: 0, after: pct }],
  });
}

/** A webhook receiver: answers 503 to the first `failFirst` requests, then 200; keeps what it accepted. */
class Receiver {
  readonly accepted: { key: string; rule: string; changeId: string }[] = [];
  requests = 0;
  private server: Server | undefined;
  port = 0;

  constructor(private readonly failFirst: number) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.requests += 1;
        if (this.requests <= this.failFirst) {
          res.writeHead(503).end('not yet');
          return;
        }
        const a = JSON.parse(body) as { rule: string; change: { changeId: string } };
        this.accepted.push({
          key: String(req.headers['idempotency-key']),
          rule: a.rule,
          changeId: a.change.changeId,
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}

describe('alerts: rules over the change stream, delivered to a webhook (real Kafka, real HTTP receiver)', function () {
  this.timeout(120_000);
  let topics: TestTopics;
  const services: AlertService[] = [];
  const codec = new Codec();

  before(() => {
    topics = new TestTopics();
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
  });

  after(async () => {
    await topics.cleanup();
  });

  async function publish(changes: TopologyChangeV1[]): Promise<void> {
    const producer = topics.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      await producer.send({
        topic: `${topics.prefix}nettopo.topology-changes.v1`,
        messages: changes.map((c) => codec.message('topology-change', c).message),
        acks: -1,
      });
    } finally {
      await producer.disconnect();
    }
  }

  function service(config: AlertsConfig, group: string): AlertService {
    const s = new AlertService({
      config,
      settings: kafkaSettings({ brokers: topics.broker, clientId: 'nettopo-test-alerts' }),
      groupId: group,
      topicPrefix: topics.prefix,
      fromBeginning: true,
      out: () => undefined,
      log: capturingLogger(),
    });
    services.push(s);
    return s;
  }

  const rules = (url: string, extra: Record<string, unknown> = {}): AlertsConfig =>
    alertsConfigOf({
      webhook: { url, attempts: 5, backoff: '100ms', ...extra },
      rules: [
        { name: 'new-edge-into-payments', when: { kind: 'edge-appeared', toNamespace: 'payments' } },
        { name: 'egress-to-new-external', when: { kind: 'external-endpoint-appeared' } },
        {
          name: 'retransmits-above-2pct',
          when: { kind: ['edge-appeared', 'edge-changed'], metric: 'retransmitPct', above: 2 },
        },
        {
          name: 'workload-new-db-port',
          when: { kind: 'edge-appeared', fromWorkload: '*', port: [5432, 3306, 6379] },
        },
      ],
    });

  it('when changes stream in and the receiver fails twice before recovering, then each matching change is alerted exactly once per rule, and a restart repeats nothing', async () => {
    await topics.create([`${topics.prefix}nettopo.topology-changes.v1`], 3);
    const receiver = new Receiver(2);
    await receiver.start();
    const group = `alerts-${randomUUID()}`;
    const ext = node('ExternalEndpoint', '198.18.7.7', null, null);
    const changes = [
      change('edge_appeared', { from: shop, to: pay, port: 8080, after: figures() }), // payments
      change('edge_appeared', { from: shop, to: db, port: 5432, after: figures() }), // db port
      change('external_endpoint_appeared', { from: ext }), // egress
      retransmitsMoved(5.1), // retransmits
      retransmitsMoved(1.5), // below 2 %: nothing
      change('node_appeared', { from: pay }), // no rule
      change('edge_appeared', {
        from: shop,
        to: node('Pod', 'payments-db', 'payments', null),
        port: 5432,
        after: figures(),
      }), // two rules
      change('edge_vanished', { from: shop, to: pay, port: 8080, before: figures() }), // no rule
    ];
    const expected = [
      `new-edge-into-payments:${changes[0].changeId}`,
      `workload-new-db-port:${changes[1].changeId}`,
      `egress-to-new-external:${changes[2].changeId}`,
      `retransmits-above-2pct:${changes[3].changeId}`,
      `new-edge-into-payments:${changes[6].changeId}`,
      `workload-new-db-port:${changes[6].changeId}`,
    ].sort();
    try {
      await publish(changes);
      const first = service(rules(`http://127.0.0.1:${receiver.port}/hook`), group);
      await first.start();
      await eventually('every alert accepted', () => receiver.accepted.length >= expected.length, 60_000);
      await new Promise((r) => setTimeout(r, 2000)); // anything extra would arrive now
      assert.deepEqual(receiver.accepted.map((a) => a.key).sort(), expected);
      assert.deepEqual(receiver.accepted.map((a) => `${a.rule}:${a.changeId}`).sort(), expected);
      assert.equal(receiver.requests, expected.length + 2, 'two refused tries, then one request per alert');

      // A restart in the same group: nothing delivered before comes again; a new change does.
      await first.stop();
      services.splice(services.indexOf(first), 1);
      const later = change('edge_appeared', { from: shop, to: pay, port: 9090, after: figures() });
      await publish([later]);
      const second = service(rules(`http://127.0.0.1:${receiver.port}/hook`), group);
      await second.start();
      await eventually('the new alert', () => receiver.accepted.length > expected.length, 30_000);
      await new Promise((r) => setTimeout(r, 2000));
      assert.deepEqual(
        receiver.accepted.map((a) => a.key).sort(),
        [...expected, `new-edge-into-payments:${later.changeId}`].sort(),
      );
    } finally {
      await receiver.stop();
    }
  });

  it('when the webhook keeps failing, then after the configured attempts the alert goes to the dead-letter topic with the reason', async () => {
    const receiver = new Receiver(1_000_000);
    await receiver.start();
    const group = `alerts-${randomUUID()}`;
    const failing = change('external_endpoint_appeared', {
      from: node('ExternalEndpoint', '198.18.9.9', null, null),
    });
    try {
      await publish([failing]);
      const s = service(rules(`http://127.0.0.1:${receiver.port}/hook`, { attempts: 3 }), group);
      const dead: string[] = [];
      s.on('deadLetter', (a: { id: string }) => dead.push(a.id));
      await s.start();
      await eventually(
        'the dead letter',
        () => dead.includes(`egress-to-new-external:${failing.changeId}`),
        30_000,
      );
      assert.ok(receiver.requests >= 3);
      const dlq = `${topics.prefix}nettopo.deadletter.v1`;
      const messages = await topics.read([dlq], (m) => m.length >= 1, 20_000);
      const letters = messages.map(
        (m) => codec.decode(m.message.value, m.message.headers, 'deadletter').record,
      );
      const letter = letters.find((l) => l.detail.includes(failing.changeId));
      assert.ok(letter, JSON.stringify(letters.map((l) => l.detail)));
      assert.equal(letter.reason, 'alert-undelivered');
      assert.match(letter.detail, /3 attempts failed, the last: webhook answered 503/);
      assert.equal(letter.sourceTopic, `${topics.prefix}nettopo.topology-changes.v1`);
      // The dead letter carries the change message itself, readable as a topology change.
      assert.equal(
        codec.decode(letter.value, { 'nettopo-schema': 'topology-change.v1' }, 'topology-change').record
          .changeId,
        failing.changeId,
      );
    } finally {
      await receiver.stop();
    }
  });

  it('when `events tail topology-changes` reads the change topic, then it prints each change decoded, keyed by its entity', async () => {
    const c = change('edge_appeared', { from: shop, to: pay, port: 8443, after: figures() });
    await publish([c]);
    const tail = new CliRun<{
      key: string;
      schema: string;
      record: { changeId: string; kind: string; entity: string };
    }>([
      'events',
      'tail',
      'topology-changes',
      '--topic-prefix',
      topics.prefix,
      '--brokers',
      topics.broker,
      '--from-beginning',
    ]);
    try {
      const line = await tail.waitForLine((l) => l.record?.changeId === c.changeId, 30_000);
      assert.equal(line.schema, 'topology-change.v1');
      assert.equal(line.key, c.entity);
      assert.equal(line.record.kind, 'edge_appeared');
    } finally {
      await tail.stop();
    }
  });
});

/**
 * What one process can do to the pipeline through what it shows the collector: its name and its
 * command line. Real processes (the test peer re-executes itself with crafted arguments and writes
 * its own /proc/self/comm) talk across two test hosts while `nettopo collect` runs twice — once
 * printing a table and producing to the local stack's Kafka, once printing JSON — and the real
 * ingest writes the topology into the local stack's Neo4j. Then: the secrets appear nowhere (Kafka
 * bytes, Neo4j, either collector's output or log), command lines are bounded and marked cut, names
 * are stored verbatim and printed escaped, every record of the run is on Kafka, and every
 * connection — those of the hostile processes and one made after them — has its exact bytes.
 * Needs root, a BPF-capable kernel, and the local stack's Kafka and Neo4j.
 */
import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FIELD_BOUNDS, utf8Length, type FlowRecord } from '../contract';
import { Codec } from '../contract';
import { SCRUBBED } from '../collector';
import { terminalText } from '../common';
import { createGraphDriver } from '../graph-schema';
import { IngestService } from '../ingest';
import { toNumber } from '../ingest/graph/neo4j-params';
import {
  CliRun,
  graphWritten,
  tearDownPipeline,
  type PipelineParts,
  HOST_A,
  HOST_B,
  PeerProcess,
  TestNetwork,
  TestTopics,
  type PeerOptions,
  type PeerReport,
  type ReadMessage,
  skipUnlessRoot,
} from './helpers';

const CANARY = `c4n4ry${randomBytes(6).toString('hex')}`;
const hex = (b: Buffer | string): string => Buffer.from(b).toString('hex');
const BIG_ARG = 131_000; // under the kernel's 128 KiB limit per argument

interface Hostile {
  what: string;
  /** Bytes of the name it gives itself (the kernel keeps 15). */
  comm?: Buffer;
  argv?: PeerOptions['argv'];
  /** Its command line is longer than the bounds. */
  cut: boolean;
}

const HOSTILE: Hostile[] = [
  {
    what: 'a command line of 2 MiB, a secret at each end',
    argv: [
      hex(`--password=${CANARY}`),
      ...Array.from({ length: 17 }, () => ({ hex: hex('A'), repeat: BIG_ARG })),
      hex(`--secret=${CANARY}`),
    ],
    cut: true,
  },
  {
    what: 'secrets in every documented form',
    argv: [
      `--password=${CANARY}`,
      '--token',
      CANARY,
      `postgres://app:${CANARY}@db/x`,
      `MYSQL_PWD=${CANARY}`,
    ].map((a) => hex(a)),
    cut: false,
  },
  {
    what: 'a name that clears the screen',
    comm: Buffer.from('\x1b[2J\x1b[Hfake\n'),
    cut: false,
  },
  {
    what: 'a name and an argument that are not UTF-8',
    comm: Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x6e, 0x61, 0x6d, 0x65]),
    argv: [hex(Buffer.from([0x61, 0xc3, 0x28, 0xff]))],
    cut: false,
  },
  {
    what: 'a Cypher fragment as its name and arguments',
    comm: Buffer.from("n'}) DETACH //"),
    argv: ["'}) MATCH (n) DETACH DELETE n //", '" OR 1=1 //', '$batch', '`x`'].map((a) => hex(a)),
    cut: false,
  },
  {
    what: 'a right-to-left override and 100 KiB arguments of escape sequences',
    comm: Buffer.from('\u202egnp.exe'),
    argv: [
      [hex(Buffer.from('\x1b]0;pwned\x07\xff', 'latin1')), { hex: hex('B'), repeat: 100 * 1024 }],
      { hex: hex('\x1b[31m'), repeat: 20_000 },
      hex(`--api-key=${CANARY}`),
    ],
    cut: true,
  },
];

/** Everything a terminal may act on but the newline that ends a line. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

describe('hostile processes: names and command lines through collect, Kafka and Neo4j (real kernel, Kafka, Neo4j)', function () {
  this.timeout(180_000);
  const t: PipelineParts = { peers: [], runs: [], written: graphWritten() };

  before(skipUnlessRoot);

  afterEach(() => tearDownPipeline(t));

  it('when processes name themselves with escapes, bytes that are not UTF-8 and Cypher, and carry secrets and MiBs of arguments, then nothing leaks, names are stored verbatim and printed escaped, command lines are bounded and marked, and every record and byte after them is delivered', async function () {
    const net = (t.net = TestNetwork.create());
    const topics = (t.topics = new TestTopics());
    const driver = (t.driver = createGraphDriver());
    const { written, runs, peers } = t;
    const hostId = randomBytes(16).toString('hex');
    const group = `nettopo-test-hostile-${randomUUID()}`;
    written.hosts.push(hostId);
    written.groups.push(group);
    const port = 20000 + Math.floor(Math.random() * 20000);
    // Only the test hosts' namespaces: no other process of the machine is read (or cut, or logged).
    const common = ['--interval', '0.5', '--port', String(port), '--netns', net.a, '--netns', net.b];
    const table = new CliRun(
      [
        'collect',
        ...topics.collectArgs(),
        '--format',
        'table',
        '--heartbeat',
        '1',
        '--host-id',
        hostId,
        ...common,
      ],
      process.env,
      { json: false },
    );
    const json = new CliRun<FlowRecord>(['collect', '--format', 'json', ...common]);
    runs.push(table, json);
    await Promise.all([table.waitForLog(/snapshot: /, 60_000), json.waitForLog(/snapshot: /, 60_000)]);
    await table.waitForLog(/\[kafka\] connected/);

    const connections = HOSTILE.length + 1;
    const server = new PeerProcess(net.b, { role: 'server', host: HOST_B.v4, port, reply: 321, connections });
    peers.push(server);
    await server.waitFor('listening');

    // One at a time, each holding its connection open until both collectors have read its /proc.
    const hostile: { spec: Hostile; peer: PeerProcess; connected: PeerReport; cmdline: Buffer }[] = [];
    for (const [i, spec] of HOSTILE.entries()) {
      const peer = new PeerProcess(net.a, {
        role: 'client',
        host: HOST_B.v4,
        port,
        hold: true,
        before: 100,
        send: 1000 + i,
        ...(spec.comm ? { comm: hex(spec.comm) } : {}),
        ...(spec.argv ? { argv: spec.argv } : {}),
      });
      peers.push(peer);
      const connected = await peer.waitFor('connected', 20_000);
      hostile.push({ spec, peer, connected, cmdline: readFileSync(`/proc/${connected.pid}/cmdline`) });
      // Both collectors reported its connection: they have read its /proc while it was alive.
      await json.waitForLine((r) => r.localPort === connected.localPort);
      await table.waitForStdout(`${HOST_A.v4}:${connected.localPort} `);
    }
    const big = hostile[0]!;
    assert.ok(big.cmdline.length > 2 * 1024 * 1024, `a 2 MiB command line (${big.cmdline.length} bytes)`);
    for (const h of hostile) h.peer.release();
    const done = await Promise.all(hostile.map((h) => h.peer.waitFor('done', 20_000)));
    // Made after them: the stream must go on.
    const after = new PeerProcess(net.a, { role: 'client', host: HOST_B.v4, port, send: 4242 });
    peers.push(after);
    const afterDone = await after.waitFor('done');
    await server.waitFor('served');
    await json.waitForLine((r) => r.localPort === afterDone.localPort && r.state !== 'open');
    await new Promise((r) => setTimeout(r, 2500)); // the table run's last interval, exits noticed

    const tableLog = await table.stop();
    const jsonLog = await json.stop();
    assert.equal(table.exitCode, 0, tableLog);
    const summary =
      /kafka: (\d+) records submitted, (\d+) produced, 0 dropped .*, 0 refused \(too large\), 0 undelivered at exit, last seq (\d+)/.exec(
        tableLog,
      );
    assert.ok(summary, tableLog);
    const lastSeq = Number(summary[3]);

    // The collector says what it cut: the first cut at once (the 2 MiB one, with its real size), the count at the end.
    assert.match(
      tableLog,
      new RegExp(
        `command line of pid ${big.connected.pid} \\(python3\\) cut: ${big.cmdline.length} bytes, more than \\d+ arguments; kept \\d+ bytes in \\d+ arguments`,
      ),
    );

    // At least those of this test (a collector also reads processes outside its scope that own
    // pre-existing sockets: the machine's other command lines may add to the counts).
    const counts = /command lines: (\d+) cut to their bounds, (\d+) scrubbed \((\d+) values\)/.exec(tableLog);
    assert.ok(counts, tableLog);
    assert.ok(Number(counts[1]) >= 2 && Number(counts[2]) >= 2 && Number(counts[3]) >= 5, counts[0]);

    // Kafka: every record of the run (nothing stopped the stream), and not one byte of a secret.
    const codec = new Codec();
    const seqOf = (m: ReadMessage): number =>
      (codec.decode(m.message.value, m.message.headers).record as { seq: number }).seq;
    const messages = await topics.read(
      (['flow', 'process', 'listener', 'host', 'heartbeat'] as const).map((k) => topics.topic(k)),
      (ms) => new Set(ms.map(seqOf)).size >= lastSeq,
    );
    assert.equal(new Set(messages.map(seqOf)).size, lastSeq, 'every sequence number of the run');
    const onKafka = Buffer.concat(
      messages.flatMap((m) => [
        m.message.value ?? Buffer.alloc(0),
        m.message.key ?? Buffer.alloc(0),
        ...Object.values(m.message.headers ?? {}).map((v) => Buffer.from(v as Buffer)),
      ]),
    );
    assert.equal(onKafka.includes(CANARY), false, 'no secret on Kafka');
    assert.equal(
      onKafka.includes('AAAA'.repeat(FIELD_BOUNDS.cmdlineArgBytes)),
      false,
      'no argument longer than its bound',
    );

    const processes = new Map<number, { comm: string; cmdline: string[]; cmdlineTruncated: boolean }>();
    for (const m of messages) {
      const d = codec.decode(m.message.value, m.message.headers);
      if (d.kind === 'process' && !d.record.exited) processes.set(d.record.pid, d.record);
    }
    for (const h of hostile) {
      const record = processes.get(h.connected.pid);
      assert.ok(record, `a process record for ${h.spec.what}`);
      const name = h.spec.comm ? h.spec.comm.subarray(0, 15).toString() : 'python3';
      assert.equal(record.comm, name, `${h.spec.what}: the name verbatim`);
      assert.equal(record.cmdlineTruncated, h.spec.cut, `${h.spec.what}: marked cut or not`);
      const { cmdline } = record;
      assert.ok(cmdline.length <= FIELD_BOUNDS.cmdlineArgs);
      assert.ok(cmdline.every((a) => utf8Length(a) <= FIELD_BOUNDS.cmdlineArgBytes));
      assert.ok(cmdline.reduce((n, a) => n + utf8Length(a) + 1, 0) <= FIELD_BOUNDS.cmdlineBytes);
      assert.ok(cmdline[1]?.endsWith('tcp-peer.py'), `${h.spec.what}: ${cmdline.slice(0, 2).join(' ')}`);
    }
    assert.deepEqual(processes.get(hostile[1]!.connected.pid)!.cmdline.slice(3), [
      `--password=${SCRUBBED}`,
      '--token',
      SCRUBBED,
      `postgres://app:${SCRUBBED}@db/x`,
      `MYSQL_PWD=${SCRUBBED}`,
    ]);
    assert.deepEqual(processes.get(hostile[3]!.connected.pid)!.cmdline.slice(3), ['a\ufffd(\ufffd']);
    assert.deepEqual(processes.get(hostile[4]!.connected.pid)!.cmdline.slice(3), [
      "'}) MATCH (n) DETACH DELETE n //",
      '" OR 1=1 //',
      '$batch',
      '`x`',
    ]);
    const escapes = processes.get(hostile[5]!.connected.pid)!.cmdline.slice(3);
    assert.equal(escapes.length, 1, 'what follows 64 KiB of a command line is not even read');
    assert.equal(escapes[0], `\x1b]0;pwned\x07\ufffd${'B'.repeat(FIELD_BOUNDS.cmdlineArgBytes - 13)}`);

    // The table: names escaped, nothing a terminal would act on; the JSON lines: the same names, safely escaped.
    const tableText = table.stdout.toString();
    assert.doesNotMatch(tableText, RAW_CONTROL);
    for (const h of hostile.filter((x) => x.spec.comm))
      assert.ok(
        tableText.includes(terminalText(h.connected.comm)),
        `${h.spec.what} in the table as ${terminalText(h.connected.comm)}`,
      );
    assert.ok(tableText.includes('\\x1b[2J\\x1b[Hfake\\x0a'));
    assert.doesNotMatch(json.stdout.toString(), RAW_CONTROL);
    for (const [i, h] of hostile.entries()) {
      const end = json.lines.find((r) => r.localPort === done[i]!.localPort && r.remotePort === port);
      assert.equal(end?.comm, h.connected.comm, `${h.spec.what}: the JSON line's name`);
    }
    for (const text of [tableText, tableLog, json.stdout.toString(), jsonLog])
      assert.equal(text.includes(CANARY), false, 'no secret in any output or log');

    // Neo4j: names and bounded, scrubbed command lines as on Kafka; the secret nowhere; every
    // connection with exactly the bytes sent, the one made after the hostile processes included.
    const ingest = (t.ingest = new IngestService({
      brokers: [topics.broker],
      groupId: group,
      topicPrefix: topics.prefix,
    }));
    await ingest.start();
    await ingest.waitUntilCaughtUp(60_000);
    const stored = await driver.executeQuery(
      `MATCH (p:Process) WHERE p.hostId = $hostId AND p.pid IN $pids
       RETURN p.pid AS pid, p.comm AS comm, p.cmdline AS cmdline, p.cmdlineTruncated AS cut`,
      { hostId, pids: hostile.map((h) => h.connected.pid) },
    );
    assert.equal(stored.records.length, hostile.length);
    for (const r of stored.records) {
      const pid = toNumber(r.get('pid')) as number;
      const record = processes.get(pid)!;
      assert.equal(r.get('comm'), record.comm);
      assert.deepEqual(r.get('cmdline'), record.cmdline);
      assert.equal(r.get('cut'), record.cmdlineTruncated ? true : null, 'the marker only where cut');
    }
    const everything = await driver.executeQuery(
      `MATCH (n) WHERE n.hostId = $hostId OR $hostId IN coalesce(n.hosts, []) RETURN properties(n) AS p`,
      { hostId },
    );
    assert.ok(everything.records.length > hostile.length);
    assert.equal(JSON.stringify(everything.records.map((r) => r.get('p'))).includes(CANARY), false);
    const anywhere = await driver.executeQuery(
      `MATCH (p:Process) WHERE p.comm CONTAINS $canary OR any(a IN coalesce(p.cmdline, []) WHERE a CONTAINS $canary)
       RETURN count(p) AS n`,
      { canary: CANARY },
    );
    assert.equal(toNumber(anywhere.records[0]?.get('n')), 0, 'no Process anywhere holds the secret');

    const edges = await driver.executeQuery(
      `MATCH (c:Process)-[r:CONNECTS_TO {level: 'process'}]->(s:Process)
       WHERE c.hostId = $hostId AND c.pid IN $pids
       RETURN c.pid AS pid, r.connections AS connections, r.bytesToServer AS toServer, r.bytesToClient AS toClient`,
      { hostId, pids: [...done, afterDone].map((d) => d.pid) },
    );
    const byPid = new Map(
      edges.records.map((r) => [
        toNumber(r.get('pid')),
        [toNumber(r.get('connections')), toNumber(r.get('toServer')), toNumber(r.get('toClient'))],
      ]),
    );
    for (const d of [...done, afterDone])
      assert.deepEqual(byPid.get(d.pid), [1, d.sent, 321], `edge of ${d.pid}`);
  });
});

import { randomBytes, randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Message } from 'kafkajs';
import type { Driver } from 'neo4j-driver';
import type { FlowRecord } from '../../contract/flow-record';
import {
  Codec,
  flowToAvro,
  ipToBytes,
  machineIdToBytes,
  podUidToAvro,
  containerIdToAvro,
  uuidToBytes,
  type HostV2,
  type ListenerV1,
  type ProcessV2,
  type TopicMessage,
} from '../../contract';
import { processKey } from '../../ingest/correlation/address';
import { toNumber } from '../../ingest/graph/neo4j-params';
import { connectionUrls } from '../../stack';

/*
 * A synthetic fleet for ingest tests: two hosts (each its own collector and host id) with a
 * client process on A calling a server on B (seen from both ends), loopback traffic inside A,
 * egress from A to an external address, and failed connects. It produces realistic Avro messages
 * with the contract's Codec and knows the totals every edge must end with.
 */

export const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** Per-edge expected totals, keyed `from|to|port`. */
export interface EdgeTotals {
  connections: number;
  failedConnects: number;
  bytesToServer: number;
  bytesToClient: number;
}

export interface ScenarioOptions {
  /** Client→server connections between A and B. @defaultValue 20 */
  connections?: number;
  /** Records per flow (cumulative; the last one closes it). @defaultValue 4 */
  recordsPerFlow?: number;
  /** Unique third octet so that parallel scenarios use different addresses. */
  net?: number;
}

/** The messages and expected totals of one scenario. */
export class IngestScenario {
  readonly hostA = hex(16);
  readonly hostB = hex(16);
  readonly runA = randomUUID();
  readonly runB = randomUUID();
  readonly netnsA = 4026530000 + Math.floor(Math.random() * 1000);
  readonly netnsB = 4026531000 + Math.floor(Math.random() * 1000);
  readonly net: number;
  readonly addrA: string;
  readonly addrB: string;
  readonly externalIp: string;
  readonly clientPid = 100 + Math.floor(Math.random() * 1000);
  readonly serverPid = 2000 + Math.floor(Math.random() * 1000);
  readonly cacheClientPid = 5000 + Math.floor(Math.random() * 1000);
  readonly cachePid = 7000 + Math.floor(Math.random() * 1000);
  readonly start = Date.now() - 60_000;
  readonly containerA = hex(32);
  readonly containerB = hex(32);
  readonly podA = randomUUID();
  readonly podB = randomUUID();
  readonly expected = new Map<string, EdgeTotals>();
  private seqA = 0;
  private seqB = 0;
  private cookie = 1000 + Math.floor(Math.random() * 1e6);

  constructor(private readonly options: ScenarioOptions = {}) {
    this.net = options.net ?? 1 + Math.floor(Math.random() * 250);
    this.addrA = `198.18.${this.net}.1`;
    this.addrB = `198.18.${this.net}.2`;
    this.externalIp = `198.19.${this.net}.${1 + Math.floor(Math.random() * 250)}`;
  }

  get hosts(): string[] {
    return [this.hostA, this.hostB];
  }

  get clientKey(): string {
    return processKey(this.hostA, this.clientPid, this.start);
  }

  get serverKey(): string {
    return processKey(this.hostB, this.serverPid, this.start + 1);
  }

  /** Host, process and listener records (state topics). */
  stateMessages(codec = new Codec()): TopicMessage[] {
    const host = (hostId: string, runId: string, netns: number, addr: string, seq: number): HostV2 => ({
      hostId: machineIdToBytes(hostId),
      runId: uuidToBytes(runId),
      seq,
      hostname: `host-${hostId.slice(0, 6)}`,
      kernel: '6.18.0',
      collectorVersion: '0.1.0',
      namespaces: [
        {
          netns,
          addresses: [
            { address: ipToBytes('127.0.0.1'), prefixLength: 8, ifname: 'lo' },
            { address: ipToBytes(addr), prefixLength: 24, ifname: 'veth0' },
          ],
        },
      ],
      namespacesTruncated: false,
      observedAt: this.start,
    });
    const proc = (
      hostId: string,
      runId: string,
      pid: number,
      startTime: number,
      comm: string,
      container: string | null,
      pod: string | null,
    ): ProcessV2 => ({
      hostId: machineIdToBytes(hostId),
      runId: uuidToBytes(runId),
      seq: 1,
      pid,
      startTime,
      comm,
      exe: `/usr/bin/${comm}`,
      cmdline: [comm],
      cmdlineTruncated: false,
      uid: 1000,
      ppid: 1,
      cgroupId: null,
      containerId: containerIdToAvro(container),
      containerRuntime: container ? 'containerd' : null,
      podUid: podUidToAvro(pod),
      exited: false,
      observedAt: this.start,
    });
    const listener = (
      hostId: string,
      runId: string,
      netns: number,
      addr: string,
      port: number,
      pid: number,
      startTime: number,
    ): ListenerV1 => ({
      hostId: machineIdToBytes(hostId),
      runId: uuidToBytes(runId),
      seq: 2,
      netns,
      family: 'ipv4',
      address: ipToBytes(addr),
      port,
      pid,
      processStartTime: startTime,
      state: 'listening',
      observedAt: this.start,
    });
    return [
      codec.message('host', host(this.hostA, this.runA, this.netnsA, this.addrA, 0)),
      codec.message('host', host(this.hostB, this.runB, this.netnsB, this.addrB, 0)),
      codec.message(
        'process',
        proc(this.hostA, this.runA, this.clientPid, this.start, 'client', this.containerA, this.podA),
      ),
      codec.message(
        'process',
        proc(this.hostB, this.runB, this.serverPid, this.start + 1, 'server', this.containerB, this.podB),
      ),
      codec.message(
        'process',
        proc(this.hostA, this.runA, this.cachePid, this.start + 2, 'redis', null, null),
      ),
      codec.message(
        'listener',
        listener(this.hostB, this.runB, this.netnsB, '0.0.0.0', 8080, this.serverPid, this.start + 1),
      ),
      codec.message(
        'listener',
        listener(this.hostA, this.runA, this.netnsA, '127.0.0.1', 6379, this.cachePid, this.start + 2),
      ),
    ];
  }

  /**
   * Flow records of both collectors, in the order each collector would send them; each end's
   * records are cumulative and the last one closes the flow.
   */
  flowMessages(codec = new Codec()): TopicMessage[] {
    const n = this.options.connections ?? 20;
    const k = this.options.recordsPerFlow ?? 4;
    const out: TopicMessage[] = [];
    const add = (key: string, t: Partial<EdgeTotals>): void => {
      const e = this.expected.get(key) ?? {
        connections: 0,
        failedConnects: 0,
        bytesToServer: 0,
        bytesToClient: 0,
      };
      e.connections += t.connections ?? 0;
      e.failedConnects += t.failedConnects ?? 0;
      e.bytesToServer += t.bytesToServer ?? 0;
      e.bytesToClient += t.bytesToClient ?? 0;
      this.expected.set(key, e);
    };
    for (let i = 0; i < n; i += 1) {
      const clientPort = 40000 + i;
      const up = 1000 + i * 7;
      const down = 50000 + i * 13;
      const opened = this.start + 1000 + i * 10;
      const cookieA = this.cookie++;
      const cookieB = this.cookie++;
      for (let j = 1; j <= k; j += 1) {
        const last = j === k;
        const t = opened + j * 1000;
        out.push(
          this.flow(
            'A',
            {
              cookie: cookieA,
              role: 'client',
              localAddr: this.addrA,
              localPort: clientPort,
              remoteAddr: this.addrB,
              remotePort: 8080,
              pid: this.clientPid,
              processStartTime: this.start,
              comm: 'client',
              containerId: this.containerA,
              containerRuntime: 'containerd',
              podUid: this.podA,
              bytesSent: Math.round((up * j) / k),
              bytesReceived: Math.round((down * j) / k),
              retransmits: last ? 1 : 0,
              connectLatencyUs: 300,
              openedAt: opened,
              closedAt: last ? t : null,
              observedAt: t,
              state: last ? 'closed' : 'open',
            },
            codec,
          ),
        );
        out.push(
          this.flow(
            'B',
            {
              cookie: cookieB,
              role: 'server',
              localAddr: this.addrB,
              localPort: 8080,
              remoteAddr: this.addrA,
              remotePort: clientPort,
              pid: this.serverPid,
              processStartTime: this.start + 1,
              comm: 'server',
              containerId: this.containerB,
              containerRuntime: 'containerd',
              podUid: this.podB,
              bytesSent: Math.round((down * j) / k),
              bytesReceived: Math.round((up * j) / k),
              openedAt: opened + 1,
              closedAt: last ? t + 1 : null,
              observedAt: t + 1,
              state: last ? 'closed' : 'open',
            },
            codec,
          ),
        );
      }
      add(`${this.clientKey}|${this.serverKey}|8080`, {
        connections: 1,
        bytesToServer: up,
        bytesToClient: down,
      });
    }
    // Loopback inside host A: client process → local redis (listener on 127.0.0.1:6379), both ends seen.
    for (let i = 0; i < 3; i += 1) {
      const port = 45000 + i;
      const opened = this.start + 2000 + i;
      const c1 = this.cookie++;
      const c2 = this.cookie++;
      out.push(
        this.flow(
          'A',
          {
            cookie: c1,
            role: 'client',
            localAddr: '127.0.0.1',
            localPort: port,
            remoteAddr: '127.0.0.1',
            remotePort: 6379,
            pid: this.cacheClientPid,
            processStartTime: this.start + 3,
            comm: 'worker',
            bytesSent: 100,
            bytesReceived: 200,
            openedAt: opened,
            closedAt: opened + 5,
            observedAt: opened + 5,
            state: 'closed',
          },
          codec,
        ),
      );
      out.push(
        this.flow(
          'A',
          {
            cookie: c2,
            role: 'server',
            localAddr: '127.0.0.1',
            localPort: 6379,
            remoteAddr: '127.0.0.1',
            remotePort: port,
            pid: this.cachePid,
            processStartTime: this.start + 2,
            comm: 'redis',
            bytesSent: 200,
            bytesReceived: 100,
            openedAt: opened,
            closedAt: opened + 5,
            observedAt: opened + 6,
            state: 'closed',
          },
          codec,
        ),
      );
      add(
        `${processKey(this.hostA, this.cacheClientPid, this.start + 3)}|${processKey(this.hostA, this.cachePid, this.start + 2)}|6379`,
        { connections: 1, bytesToServer: 100, bytesToClient: 200 },
      );
    }
    // Egress from A to an address no collector owns.
    for (let i = 0; i < 2; i += 1) {
      const opened = this.start + 3000 + i;
      out.push(
        this.flow(
          'A',
          {
            cookie: this.cookie++,
            role: 'client',
            localAddr: this.addrA,
            localPort: 46000 + i,
            remoteAddr: this.externalIp,
            remotePort: 443,
            pid: this.clientPid,
            processStartTime: this.start,
            comm: 'client',
            containerId: this.containerA,
            containerRuntime: 'containerd',
            podUid: this.podA,
            bytesSent: 10,
            bytesReceived: 20,
            openedAt: opened,
            closedAt: opened + 9,
            observedAt: opened + 9,
            state: 'closed',
          },
          codec,
        ),
      );
      add(`${this.clientKey}|${this.externalIp}|443`, {
        connections: 1,
        bytesToServer: 10,
        bytesToClient: 20,
      });
    }
    // A failed connect from A to B's closed port 9090.
    const opened = this.start + 4000;
    out.push(
      this.flow(
        'A',
        {
          cookie: this.cookie++,
          role: 'client',
          localAddr: this.addrA,
          localPort: 47000,
          remoteAddr: this.addrB,
          remotePort: 9090,
          pid: this.clientPid,
          processStartTime: this.start,
          comm: 'client',
          containerId: this.containerA,
          containerRuntime: 'containerd',
          podUid: this.podA,
          openedAt: opened,
          closedAt: opened + 3,
          observedAt: opened + 3,
          state: 'failed',
          connectLatencyUs: null,
        },
        codec,
      ),
    );
    add(`${this.clientKey}|${processKey(this.hostB, 0, 0)}|9090`, { failedConnects: 1 });
    return out;
  }

  private flow(end: 'A' | 'B', f: Partial<FlowRecord>, codec: Codec): TopicMessage {
    const a = end === 'A';
    const rec: FlowRecord = {
      hostId: a ? this.hostA : this.hostB,
      runId: a ? this.runA : this.runB,
      seq: a ? ++this.seqA : ++this.seqB,
      cookie: 0,
      netns: a ? this.netnsA : this.netnsB,
      role: 'unknown',
      state: 'open',
      family: 4,
      localAddr: '',
      localPort: 0,
      remoteAddr: '',
      remotePort: 0,
      pid: 0,
      processStartTime: 0,
      comm: '',
      cgroupId: 0,
      containerId: null,
      containerRuntime: null,
      podUid: null,
      bytesSent: 0,
      bytesReceived: 0,
      retransmits: 0,
      srttUs: 250,
      connectLatencyUs: null,
      openedAt: 0,
      closedAt: null,
      observedAt: 0,
      preexisting: false,
      ...f,
    };
    return codec.message('flow', flowToAvro(rec));
  }
}

/** Produces messages to `prefix + topic`, in order per topic. */
export async function produce(
  prefix: string,
  messages: TopicMessage[],
  brokers = [connectionUrls().kafkaBroker],
): Promise<void> {
  const kafka = new Kafka({ clientId: 'nettopo-test-producer', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const byTopic = new Map<string, Message[]>();
    for (const m of messages) {
      const t = `${prefix}${m.topic}`;
      const list = byTopic.get(t) ?? [];
      list.push(m.message);
      byTopic.set(t, list);
    }
    for (const [topic, list] of byTopic) {
      for (let i = 0; i < list.length; i += 2000)
        await producer.send({ topic, messages: list.slice(i, i + 2000), acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Process-level CONNECTS_TO totals touching the given hosts, keyed `from|to|port`. */
export async function edgeTotals(
  driver: Driver,
  hosts: string[],
  level = 'process',
): Promise<Map<string, EdgeTotals>> {
  const { records } = await driver.executeQuery(
    `MATCH (a)-[r:CONNECTS_TO {level: $level}]->(b)
     WHERE a.hostId IN $hosts OR b.hostId IN $hosts
        OR exists { (a)-[:RUNS_ON]->(h:Host) WHERE h.hostId IN $hosts }
        OR exists { (b)-[:RUNS_ON]->(h:Host) WHERE h.hostId IN $hosts }
     RETURN coalesce(a.key, a.containerId, a.uid, a.hostId, a.ip) AS from, coalesce(b.key, b.containerId, b.uid, b.hostId, b.ip) AS to,
            r.port AS port, r.connections AS connections, r.failedConnects AS failedConnects,
            r.bytesToServer AS bytesToServer, r.bytesToClient AS bytesToClient`,
    { hosts, level },
  );
  const out = new Map<string, EdgeTotals>();
  for (const r of records) {
    out.set(`${r.get('from')}|${r.get('to')}|${toNumber(r.get('port'))}`, {
      connections: toNumber(r.get('connections')) ?? 0,
      failedConnects: toNumber(r.get('failedConnects')) ?? 0,
      bytesToServer: toNumber(r.get('bytesToServer')) ?? 0,
      bytesToClient: toNumber(r.get('bytesToClient')) ?? 0,
    });
  }
  return out;
}

/** Removes what a scenario wrote to Neo4j and its topics. */
export async function cleanUp(
  driver: Driver,
  s: IngestScenario,
  prefix: string,
  groups: string[],
): Promise<void> {
  await driver.executeQuery(
    `MATCH (n) WHERE (n:Host OR n:Process OR n:Listener OR n:NetnsAddress) AND n.hostId IN $hosts DETACH DELETE n`,
    { hosts: s.hosts },
  );
  await driver.executeQuery(
    `MATCH (c:Connection) WHERE any(h IN c.hosts WHERE h IN $hosts) DETACH DELETE c`,
    { hosts: s.hosts },
  );
  await driver.executeQuery(
    `MATCH (n) WHERE (n:Container AND n.containerId IN $containers) OR (n:Pod AND n.uid IN $pods)
        OR (n:ExternalEndpoint AND n.ip IN $ips) DETACH DELETE n`,
    {
      containers: [s.containerA, s.containerB],
      pods: [s.podA, s.podB],
      ips: [s.externalIp, s.addrA, s.addrB],
    },
  );
  await driver.executeQuery('MATCH (p:IngestProgress) WHERE p.group IN $groups DELETE p', { groups });
  const kafka = new Kafka({
    clientId: 'nettopo-test-cleanup',
    brokers: [connectionUrls().kafkaBroker],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics });
    await admin.deleteGroups(groups).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

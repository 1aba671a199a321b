import { Kafka, logLevel } from 'kafkajs';
import neo4j from 'neo4j-driver';
import Redis from 'ioredis';

/** Sends a Kafka Metadata request (describeCluster) to host:port. */
export async function probeKafka(
  broker: string,
  sasl?: { username: string; password: string },
): Promise<void> {
  const kafka = new Kafka({
    ...(sasl ? { sasl: { mechanism: 'plain' as const, ...sasl } } : {}),
    clientId: 'nettopo-stack-probe',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('no broker in metadata');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Runs `RETURN 1` over Bolt. */
export async function probeNeo4j(boltUrl: string, user: string, password: string): Promise<void> {
  const driver = neo4j.driver(boltUrl, neo4j.auth.basic(user, password), {
    connectionTimeout: 2000,
    maxConnectionPoolSize: 1,
    logging: { level: 'error', logger: () => undefined },
  });
  // An auto-commit query: executeQuery would retry for up to 30 s inside one probe.
  const session = driver.session();
  try {
    const { records } = await session.run('RETURN 1 AS one');
    if (Number(records[0]?.get('one')) !== 1) throw new Error('RETURN 1 gave no 1');
  } finally {
    await session.close();
    await driver.close();
  }
}

/** GETs a URL and expects 200. */
export async function probeHttp(url: string): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
}

/** Sends PING and expects PONG. */
export async function probeRedis(port: number, host = '127.0.0.1'): Promise<void> {
  const redis = new Redis({
    host,
    port,
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const pong = await redis.ping();
    if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
  } finally {
    redis.disconnect();
  }
}

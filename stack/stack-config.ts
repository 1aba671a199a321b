import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, projectRoot } from '../common';

/** The servers of the local stack, in start order (`down` stops them in reverse). */
export const SERVER_NAMES = ['kafka', 'neo4j', 'redis', 'etcd', 'kube-apiserver'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

/** What `stack up` starts when no server is named; the Kubernetes API server is optional (`stack up kube`). */
export const DEFAULT_SERVERS: readonly ServerName[] = ['kafka', 'neo4j', 'redis'];

/** Names that stand for several servers on the command line. */
export const SERVER_GROUPS: Readonly<Record<string, readonly ServerName[]>> = {
  kube: ['etcd', 'kube-apiserver'],
};

/** Every setting of the local stack. Build one with {@link stackConfig}. */
export interface StackConfig {
  /** Address every server binds to. Always loopback. @defaultValue '127.0.0.1' */
  host: string;
  /** Folder holding data, logs, configs and pid files (NETTOPO_DATA_DIR). @defaultValue `<project>/.nettopo` */
  dataDir: string;
  /** Cache of the servers' jars, shared by all data dirs (NETTOPO_JARS_DIR). @defaultValue `~/.cache/nettopo/jars` */
  jarsDir: string;
  /** Maven local repository (NETTOPO_MAVEN_REPO); undefined keeps Maven's own (~/.m2/repository). @defaultValue undefined */
  mavenRepo: string | undefined;
  /** Seconds to wait for each server to answer (NETTOPO_STACK_TIMEOUT). @defaultValue 120 */
  startTimeoutSec: number;
  kafka: {
    /** Client (PLAINTEXT) port (NETTOPO_KAFKA_PORT). @defaultValue 9092 */
    port: number;
    /** KRaft controller port (NETTOPO_KAFKA_CONTROLLER_PORT). @defaultValue 9093 */
    controllerPort: number;
    /** JVM heap, -Xms and -Xmx (NETTOPO_KAFKA_HEAP). @defaultValue '512m' */
    heap: string;
    /**
     * SASL/PLAIN on the client listener with this one user (a test stack's "auth on"; the
     * controller listener stays plaintext). @defaultValue undefined (plaintext, no auth)
     */
    sasl?: { username: string; password: string };
  };
  neo4j: {
    /** Bolt port (NETTOPO_NEO4J_BOLT_PORT). @defaultValue 7687 */
    boltPort: number;
    /** HTTP port serving the API and Neo4j Browser at /browser/ (NETTOPO_NEO4J_HTTP_PORT). @defaultValue 7474 */
    httpPort: number;
    /** JVM heap, -Xms and -Xmx (NETTOPO_NEO4J_HEAP). @defaultValue '1g' */
    heap: string;
    /** Page cache (NETTOPO_NEO4J_PAGECACHE). @defaultValue '128m' */
    pageCache: string;
    /** User clients send; the local server runs with auth disabled, so any is accepted (NETTOPO_NEO4J_USER). @defaultValue 'neo4j' */
    user: string;
    /** Password clients send; never logged (NETTOPO_NEO4J_PASSWORD). @defaultValue 'nettopo-dev' */
    password: string;
    /**
     * Auth on, with `password` as user neo4j's initial password (a test stack's "auth on").
     * @defaultValue false (auth disabled on this loopback-only server)
     */
    auth?: boolean;
  };
  redis: {
    /** Port (NETTOPO_REDIS_PORT). @defaultValue 6379 */
    port: number;
    /** Redis maxmemory; the policy is noeviction as BullMQ requires (NETTOPO_REDIS_MAXMEMORY). @defaultValue '256mb' */
    maxMemory: string;
  };
  kube: {
    /** kube-apiserver's secure (HTTPS) port (NETTOPO_KUBE_APISERVER_PORT). @defaultValue 6443 */
    apiserverPort: number;
    /** etcd's client port (NETTOPO_KUBE_ETCD_PORT). @defaultValue 2379 */
    etcdPort: number;
    /** etcd's peer port, bound although the cluster has one member (NETTOPO_KUBE_ETCD_PEER_PORT). @defaultValue 2380 */
    etcdPeerPort: number;
    /** Cache of the kube-apiserver and etcd binaries, shared by all data dirs (NETTOPO_KUBE_CACHE_DIR). @defaultValue `~/.cache/nettopo/kube` */
    cacheDir: string;
  };
}

/** Values given on the command line; they win over the environment. */
export interface StackOverrides {
  dataDir?: string;
  kafkaPort?: number;
  kafkaControllerPort?: number;
  neo4jBoltPort?: number;
  neo4jHttpPort?: number;
  redisPort?: number;
  kafkaHeap?: string;
  neo4jHeap?: string;
  neo4jPageCache?: string;
  kubeApiserverPort?: number;
  kubeEtcdPort?: number;
  /** Kafka with SASL/PLAIN and this user (tests). */
  kafkaSasl?: { username: string; password: string };
  /** Neo4j with auth on and this password for user neo4j (tests). */
  neo4jPassword?: string;
}

function port(name: string, value: number | string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new ConfigError(`${name} must be a port (1-65535), got '${value}'`);
  return n;
}

function size(name: string, value: string | undefined, fallback: string, pattern = /^\d+[kmg]$/i): string {
  if (value === undefined || value === '') return fallback;
  if (!pattern.test(value))
    throw new ConfigError(`${name} must be a size such as 512m or 1g, got '${value}'`);
  return value;
}

/**
 * The stack's configuration: command-line overrides, then NETTOPO_* environment variables, then defaults.
 * Other packages and tests call it to learn where the servers are (see {@link connectionUrls}).
 */
export function stackConfig(
  overrides: StackOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): StackConfig {
  const cacheHome = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const timeout = Number(env.NETTOPO_STACK_TIMEOUT || 120);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new ConfigError('NETTOPO_STACK_TIMEOUT must be seconds > 0');
  const config: StackConfig = {
    host: '127.0.0.1',
    dataDir: resolve(overrides.dataDir || env.NETTOPO_DATA_DIR || join(projectRoot(), '.nettopo')),
    jarsDir: resolve(env.NETTOPO_JARS_DIR || join(cacheHome, 'nettopo', 'jars')),
    mavenRepo: env.NETTOPO_MAVEN_REPO ? resolve(env.NETTOPO_MAVEN_REPO) : undefined,
    startTimeoutSec: timeout,
    kafka: {
      port: port('NETTOPO_KAFKA_PORT', overrides.kafkaPort ?? env.NETTOPO_KAFKA_PORT, 9092),
      controllerPort: port(
        'NETTOPO_KAFKA_CONTROLLER_PORT',
        overrides.kafkaControllerPort ?? env.NETTOPO_KAFKA_CONTROLLER_PORT,
        9093,
      ),
      heap: size('NETTOPO_KAFKA_HEAP', overrides.kafkaHeap ?? env.NETTOPO_KAFKA_HEAP, '512m'),
      ...(overrides.kafkaSasl ? { sasl: overrides.kafkaSasl } : {}),
    },
    neo4j: {
      boltPort: port('NETTOPO_NEO4J_BOLT_PORT', overrides.neo4jBoltPort ?? env.NETTOPO_NEO4J_BOLT_PORT, 7687),
      httpPort: port('NETTOPO_NEO4J_HTTP_PORT', overrides.neo4jHttpPort ?? env.NETTOPO_NEO4J_HTTP_PORT, 7474),
      heap: size('NETTOPO_NEO4J_HEAP', overrides.neo4jHeap ?? env.NETTOPO_NEO4J_HEAP, '1g'),
      pageCache: overrides.neo4jPageCache ?? env.NETTOPO_NEO4J_PAGECACHE ?? '128m',
      user: env.NETTOPO_NEO4J_USER || 'neo4j',
      password: overrides.neo4jPassword ?? (env.NETTOPO_NEO4J_PASSWORD || 'nettopo-dev'),
      ...(overrides.neo4jPassword === undefined ? {} : { auth: true }),
    },
    redis: {
      port: port('NETTOPO_REDIS_PORT', env.NETTOPO_REDIS_PORT, 6379),
      maxMemory: size('NETTOPO_REDIS_MAXMEMORY', env.NETTOPO_REDIS_MAXMEMORY, '256mb', /^\d+(kb|mb|gb)?$/i),
    },
    kube: {
      apiserverPort: port(
        'NETTOPO_KUBE_APISERVER_PORT',
        overrides.kubeApiserverPort ?? env.NETTOPO_KUBE_APISERVER_PORT,
        6443,
      ),
      etcdPort: port('NETTOPO_KUBE_ETCD_PORT', overrides.kubeEtcdPort ?? env.NETTOPO_KUBE_ETCD_PORT, 2379),
      etcdPeerPort: port('NETTOPO_KUBE_ETCD_PEER_PORT', env.NETTOPO_KUBE_ETCD_PEER_PORT, 2380),
      cacheDir: resolve(env.NETTOPO_KUBE_CACHE_DIR || join(cacheHome, 'nettopo', 'kube')),
    },
  };
  const ports = [
    config.kafka.port,
    config.kafka.controllerPort,
    config.neo4j.boltPort,
    config.neo4j.httpPort,
    config.redis.port,
    config.kube.apiserverPort,
    config.kube.etcdPort,
    config.kube.etcdPeerPort,
  ];
  if (new Set(ports).size !== ports.length)
    throw new ConfigError(`the stack's ports must differ: ${ports.join(', ')}`);
  return config;
}

/** Where clients connect. */
export interface ConnectionUrls {
  /** kafkajs `brokers` entry, e.g. 127.0.0.1:9092 */
  kafkaBroker: string;
  neo4jBolt: string;
  neo4jBrowser: string;
  redis: string;
  /** The local Kubernetes API server (`stack up kube`); clients use the kubeconfig in its data dir. */
  kubeApiserver: string;
}

export function connectionUrls(config: StackConfig = stackConfig()): ConnectionUrls {
  return {
    kafkaBroker: `${config.host}:${config.kafka.port}`,
    neo4jBolt: `bolt://${config.host}:${config.neo4j.boltPort}`,
    neo4jBrowser: `http://${config.host}:${config.neo4j.httpPort}/browser/`,
    redis: `redis://${config.host}:${config.redis.port}`,
    kubeApiserver: `https://${config.host}:${config.kube.apiserverPort}`,
  };
}

/** Folders under the data dir. */
export function stackPaths(config: StackConfig): {
  run: string;
  logs: string;
  server: (name: ServerName) => string;
  /** etcd's and kube-apiserver's folder: etcd data, keys, tokens and the kubeconfig. */
  kube: string;
} {
  return {
    run: join(config.dataDir, 'run'),
    logs: join(config.dataDir, 'logs'),
    server: (name) => join(config.dataDir, name),
    kube: join(config.dataDir, 'kube'),
  };
}

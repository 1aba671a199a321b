/**
 * docker-compose.yml against what it must equal: the native stack (`nettopo stack up` writes its servers'
 * configuration files; they are written here into a scratch data dir and read back) and the Kubernetes
 * manifests (deploy/kubernetes/nettopo.yaml) for the collector and the ingest. No container engine runs compose
 * on these machines, so its structure is what is checked.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packageVersion, projectRoot } from '../common';
import {
  KafkaServer,
  Neo4jServer,
  RedisServer,
  serverVersion,
  stackConfig,
  type StackConfig,
} from '../stack';
import {
  collectorRunSpec,
  findObject,
  parseManifests,
  podSpecOf,
  type KubeObject,
} from './helpers/deploy-manifests';

interface ComposeService {
  image: string;
  ports?: string[];
  command?: string[];
  environment?: Record<string, string | number>;
  pid?: string;
  network_mode?: string;
  user?: string;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  read_only?: boolean;
  volumes?: (
    string | { source: string; target: string; read_only?: boolean; bind?: { propagation?: string } }
  )[];
}

/** `key=value` lines (Kafka's server.properties, neo4j.conf) without comments. */
function properties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const at = line.indexOf('=');
    out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

/** The entries of `map` whose keys `keep` accepts. */
function only(map: Map<string, string>, keep: (key: string) => boolean): Record<string, string> {
  return Object.fromEntries([...map].filter(([k]) => keep(k)).sort(([a], [b]) => a.localeCompare(b)));
}

/** apache/kafka's image: KAFKA_LOG_RETENTION_HOURS → log.retention.hours (`__` → `_`, `___` → `-`). */
function kafkaKey(variable: string): string {
  return variable
    .slice('KAFKA_'.length)
    .toLowerCase()
    .split('___')
    .map((part) =>
      part
        .split('__')
        .map((word) => word.split('_').join('.'))
        .join('_'),
    )
    .join('-');
}

/** neo4j's image: NEO4J_db_tx__log_rotation_retention__policy → db.tx_log.rotation.retention_policy. */
function neo4jKey(variable: string): string {
  return variable
    .slice('NEO4J_'.length)
    .split('__')
    .map((word) => word.split('_').join('.'))
    .join('_');
}

describe('docker-compose.yml', function () {
  this.timeout(60000);
  const compose = parse(readFileSync(join(projectRoot(), 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, ComposeService>;
  };
  const service = (name: string): ComposeService => {
    const s = compose.services[name];
    assert.ok(s, `no ${name} service`);
    return s;
  };
  let manifests: KubeObject[];
  let dataDir: string;
  let config: StackConfig;

  before(() => {
    manifests = parseManifests();
    dataDir = mkdtempSync(join(tmpdir(), 'nettopo-compose-'));
    mkdirSync(join(dataDir, 'logs'));
    // The stack's defaults (ports, heaps), not this shell's NETTOPO_* ports; the jar cache stays where it is.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !k.startsWith('NETTOPO_') || k === 'NETTOPO_JARS_DIR' || k === 'NETTOPO_MAVEN_REPO',
      ),
    );
    config = stackConfig({ dataDir }, env);
  });

  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('when parsed, then it runs the servers of `stack up` in the same versions, and the image of this version', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), [
      'collector',
      'ingest',
      'kafka',
      'neo4j',
      'redis',
    ]);
    assert.equal(service('kafka').image, `apache/kafka:${serverVersion('kafka')}`);
    assert.equal(service('neo4j').image, `neo4j:${serverVersion('neo4j')}-community`);
    const debianRedis = /v=(\d+\.\d+\.\d+)/.exec(
      spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout,
    );
    assert.ok(debianRedis, 'redis-server --version gave no version');
    assert.equal(service('redis').image, `redis:${debianRedis[1]}`);
    const image = `localhost/nettopo:${packageVersion()}`;
    assert.equal(service('collector').image, image);
    assert.equal(service('ingest').image, image);
    for (const workload of manifests.filter((o) => ['DaemonSet', 'Deployment'].includes(o.kind)))
      for (const c of podSpecOf(workload).containers) assert.equal(c.image, image, workload.metadata.name);
  });

  it('when parsed, then every port is the stack default and published on 127.0.0.1 only', () => {
    assert.deepEqual(service('kafka').ports, ['127.0.0.1:9092:9092']);
    assert.deepEqual(service('neo4j').ports, ['127.0.0.1:7474:7474', '127.0.0.1:7687:7687']);
    assert.deepEqual(service('redis').ports, ['127.0.0.1:6379:6379']);
    assert.equal(service('collector').ports, undefined);
    assert.equal(service('ingest').ports, undefined);
  });

  it("when Kafka's settings are compared, then every setting of the native broker is the same in compose but its addresses and folders", async () => {
    await new KafkaServer(config).prepare();
    const native = properties(readFileSync(join(dataDir, 'kafka', 'server.properties'), 'utf8'));
    const env = service('kafka').environment ?? {};
    const composed = new Map(
      Object.entries(env)
        .filter(([k]) => k !== 'KAFKA_HEAP_OPTS')
        .map(([k, v]) => [kafkaKey(k), String(v)]),
    );
    const machineSpecific = ['listeners', 'advertised.listeners', 'controller.quorum.voters', 'log.dirs'];
    const keep = (k: string): boolean => !machineSpecific.includes(k);
    assert.deepEqual(only(composed, keep), only(native, keep));
    assert.equal(native.get('log.retention.hours'), '24');
    assert.equal(env.KAFKA_HEAP_OPTS, `-Xms${config.kafka.heap} -Xmx${config.kafka.heap}`);
  });

  it("when Neo4j's settings are compared, then every setting of the native server is the same in compose but its addresses and folders", async () => {
    await new Neo4jServer(config).prepare();
    const native = properties(readFileSync(join(dataDir, 'neo4j', 'conf', 'neo4j.conf'), 'utf8'));
    const env = service('neo4j').environment ?? {};
    const composed = new Map(
      Object.entries(env)
        .filter(([k]) => k !== 'NEO4J_AUTH')
        .map(([k, v]) => [neo4jKey(k), String(v)]),
    );
    // The image's NEO4J_AUTH=none is neo4j.conf's dbms.security.auth_enabled=false.
    if (env.NEO4J_AUTH === 'none') composed.set('dbms.security.auth_enabled', 'false');
    const keep = (k: string): boolean =>
      !k.startsWith('server.directories.') &&
      !['server.default_listen_address', 'server.default_advertised_address'].includes(k) &&
      !/^server\.(bolt|http)\.listen_address$/.test(k);
    assert.deepEqual(only(composed, keep), only(native, keep));
    assert.equal(native.get('db.tx_log.rotation.retention_policy'), '2 files');
  });

  it("when Redis' settings are compared, then its persistence and memory settings are the native server's", async () => {
    await new RedisServer(config).prepare();
    const native = new Map(
      readFileSync(join(dataDir, 'redis', 'redis.conf'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#'))
        .map((l): [string, string] => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
    );
    const [program, ...args] = service('redis').command ?? [];
    assert.equal(program, 'redis-server');
    const composed = new Map<string, string>();
    let key = '';
    for (const arg of args) {
      if (arg.startsWith('--')) composed.set((key = arg.slice(2)), '');
      else composed.set(key, `${composed.get(key)} ${arg}`.trim());
    }
    // Addresses, folders and daemon settings are the container's own (the image binds inside its network).
    const containerSpecific = ['bind', 'port', 'protected-mode', 'daemonize', 'supervised', 'logfile', 'dir'];
    const keep = (k: string): boolean => !containerSpecific.includes(k);
    assert.deepEqual(only(composed, keep), only(native, keep));
  });

  it('when the collector service is compared with the DaemonSet, then it runs the same command with the same capabilities, namespaces, user and mounts', () => {
    const spec = collectorRunSpec(manifests);
    const collector = service('collector');
    assert.deepEqual(collector.command, spec.args);
    assert.deepEqual(collector.cap_drop, ['ALL']);
    assert.deepEqual([...(collector.cap_add ?? [])].sort(), spec.capabilities);
    assert.equal(collector.pid === 'host', spec.hostPID);
    assert.equal(collector.network_mode === 'host', spec.hostNetwork);
    assert.equal(collector.user, `${spec.runAsUser}:0`);
    assert.equal(collector.read_only, spec.readOnlyRootFilesystem);
    assert.equal(collector.security_opt?.includes('no-new-privileges:true'), spec.noNewPrivileges);
    const mounts = (collector.volumes ?? []).map((v) => {
      assert.ok(typeof v === 'object', `collector volume ${String(v)} in the long syntax`);
      return {
        hostPath: v.source,
        containerPath: v.target,
        readOnly: v.read_only === true,
        followsHost: v.bind?.propagation === 'rslave',
      };
    });
    assert.deepEqual(mounts, spec.mounts);
  });

  it('when the ingest service is compared with the Deployment, then it runs the same command as the same user, with Kafka and Neo4j given', () => {
    const ingest = service('ingest');
    const container = podSpecOf(findObject(manifests, 'Deployment', '-ingest')).containers[0]!;
    assert.deepEqual(ingest.command, container.args);
    assert.equal(
      ingest.user,
      `${container.securityContext?.runAsUser}:${container.securityContext?.runAsUser}`,
    );
    assert.deepEqual(ingest.cap_drop, ['ALL']);
    assert.equal(ingest.read_only, container.securityContext?.readOnlyRootFilesystem);
    const names = (container.env ?? []).map((e) => e.name);
    for (const variable of ['NETTOPO_KAFKA_BROKERS', 'NETTOPO_NEO4J_URI'])
      assert.ok(names.includes(variable) && ingest.environment?.[variable], variable);
    assert.equal(ingest.environment?.NETTOPO_KAFKA_BROKERS, '127.0.0.1:9092');
    assert.equal(ingest.environment?.NETTOPO_NEO4J_URI, `bolt://127.0.0.1:${config.neo4j.boltPort}`);
  });
});

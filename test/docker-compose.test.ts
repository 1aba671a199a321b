import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../common';
import { serverVersion } from '../stack';

interface ComposeService {
  image: string;
  ports: string[];
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(projectRoot(), 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, ComposeService>;
  };

  it('when parsed, then it runs the same three servers as `stack up`, in the same versions', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['kafka', 'neo4j', 'redis']);
    assert.equal(compose.services.kafka.image, `apache/kafka:${serverVersion('kafka')}`);
    assert.equal(compose.services.neo4j.image, `neo4j:${serverVersion('neo4j')}-community`);
    const debianRedis = /v=(\d+\.\d+\.\d+)/.exec(
      spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout,
    );
    assert.ok(debianRedis, 'redis-server --version gave no version');
    assert.equal(compose.services.redis.image, `redis:${debianRedis[1]}`);
  });

  it('when parsed, then every port is the stack default and published on 127.0.0.1 only', () => {
    assert.deepEqual(compose.services.kafka.ports, ['127.0.0.1:9092:9092']);
    assert.deepEqual(compose.services.neo4j.ports, ['127.0.0.1:7474:7474', '127.0.0.1:7687:7687']);
    assert.deepEqual(compose.services.redis.ports, ['127.0.0.1:6379:6379']);
  });
});

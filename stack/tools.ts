import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MissingToolError } from './errors';

/** Full path of `name` on PATH, or undefined. */
export function which(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The java binary ($JAVA_HOME/bin/java, else java on PATH), checked to be Java 17 or newer. */
export function findJava(env: NodeJS.ProcessEnv = process.env): string {
  const fromHome = env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : undefined;
  const java = fromHome && existsSync(fromHome) ? fromHome : which('java', env);
  if (!java) {
    throw new MissingToolError(
      'java not found (need a Java 17 runtime for Kafka and Neo4j; run scripts/install-deps.sh or install openjdk-17-jre-headless)',
    );
  }
  const out = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${out.stderr}${out.stdout}`);
  const major = match ? Number(match[1] === '1' ? match[2] : match[1]) : NaN;
  if (!(major >= 17)) {
    throw new MissingToolError(
      `${java} is not Java 17 or newer (Neo4j 5.26 needs Java 17); set JAVA_HOME to a Java 17`,
    );
  }
  return java;
}

/** The mvn binary on PATH. */
export function findMaven(env: NodeJS.ProcessEnv = process.env): string {
  const mvn = which('mvn', env);
  if (!mvn) {
    throw new MissingToolError(
      "mvn not found (Maven fetches Kafka's and Neo4j's jars; run scripts/install-deps.sh or apt-get install maven)",
    );
  }
  return mvn;
}

/** The redis-server binary on PATH (Debian puts it in /usr/bin). */
export function findRedisServer(env: NodeJS.ProcessEnv = process.env): string {
  const redis = which('redis-server', env);
  if (!redis) {
    throw new MissingToolError(
      'redis-server not found (run scripts/install-deps.sh or apt-get install redis-server)',
    );
  }
  return redis;
}

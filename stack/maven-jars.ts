import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../common';
import { StackError } from './errors';
import type { StackConfig } from './stack-config';
import { findMaven } from './tools';

/** A server whose jars come from Maven Central through `stack/<server>/pom.xml`. */
export type JarServer = 'kafka' | 'neo4j';

/** The maven-dependency-plugin used for copying; pinned so that Debian's old default (2.8) is not used. */
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

/** Path of the pom that lists a server's jars. */
export function pomPath(server: JarServer): string {
  return join(projectRoot(), 'stack', server, 'pom.xml');
}

/** The server's version: the version of its pom (which is also the version of the main artifact). */
export function serverVersion(server: JarServer): string {
  const pom = readFileSync(pomPath(server), 'utf8');
  const match = /<\/artifactId>\s*<version>([^<]+)<\/version>/.exec(pom);
  if (!match) throw new StackError(`no <version> in ${pomPath(server)}`);
  return match[1];
}

/** Folder of the server's jars in the cache, e.g. ~/.cache/nettopo/jars/kafka-3.9.1. */
export function jarsFolder(config: StackConfig, server: JarServer): string {
  return join(config.jarsDir, `${server}-${serverVersion(server)}`);
}

/** True when the jars are cached already (a finished copy leaves a `.complete` marker). */
export function jarsCached(config: StackConfig, server: JarServer): boolean {
  return existsSync(join(jarsFolder(config, server), '.complete'));
}

/**
 * Makes sure the server's jars are in the cache and returns their folder. A cached copy is used as is
 * (no Maven run, no download); otherwise `mvn dependency:copy-dependencies` fills a temporary folder that is
 * renamed into place only when complete, so an interrupted copy is never taken for a good one.
 */
export async function ensureJars(config: StackConfig, server: JarServer, logFile: string): Promise<string> {
  const target = jarsFolder(config, server);
  if (jarsCached(config, server)) return target;
  const mvn = findMaven();
  const tmp = `${target}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const args = [
    '-B',
    '-q',
    '-f',
    pomPath(server),
    `${DEPENDENCY_PLUGIN}:copy-dependencies`,
    `-DoutputDirectory=${tmp}`,
    '-DincludeScope=runtime',
  ];
  if (config.mavenRepo) args.push(`-Dmaven.repo.local=${config.mavenRepo}`);
  const fd = openSync(logFile, 'a');
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(mvn, args, { stdio: ['ignore', fd, fd] });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c ?? 1));
  }).finally(() => closeSync(fd));
  if (code !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new StackError(`mvn could not fetch the ${server} jars (exit ${code}; log: ${logFile})`, {
      retriable: true,
    });
  }
  writeFileSync(join(tmp, '.complete'), `${new Date().toISOString()}\n`);
  rmSync(target, { recursive: true, force: true });
  renameSync(tmp, target);
  return target;
}

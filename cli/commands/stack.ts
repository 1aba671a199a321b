import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../../common';
import { positiveInt } from './option-parsers';
import {
  connectionUrls,
  DEFAULT_SERVERS,
  kubeFiles,
  LocalStack,
  SERVER_GROUPS,
  SERVER_NAMES,
  stackConfig,
  type ServerName,
  type StackOverrides,
} from '../../stack';

function portArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('not a port (1-65535)');
  return n;
}

/** Options shared by every `stack` subcommand: ports, heaps, data dir (each also an environment variable). */
function withStackOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--data-dir <dir>', 'data, logs and pid files').env('NETTOPO_DATA_DIR'))
    .addOption(new Option('--kafka-port <port>', 'Kafka client port (default 9092)').argParser(portArg))
    .addOption(
      new Option('--kafka-controller-port <port>', 'Kafka KRaft controller port (default 9093)').argParser(
        portArg,
      ),
    )
    .addOption(new Option('--neo4j-bolt-port <port>', 'Neo4j Bolt port (default 7687)').argParser(portArg))
    .addOption(
      new Option('--neo4j-http-port <port>', 'Neo4j HTTP/Browser port (default 7474)').argParser(portArg),
    )
    .addOption(new Option('--redis-port <port>', 'Redis port (default 6379)').argParser(portArg))
    .addOption(new Option('--kafka-heap <size>', 'Kafka JVM heap (default 512m)'))
    .addOption(new Option('--neo4j-heap <size>', 'Neo4j JVM heap (default 1g)'))
    .addOption(new Option('--neo4j-pagecache <size>', 'Neo4j page cache (default 128m)'))
    .addOption(
      new Option('--kube-apiserver-port <port>', 'kube-apiserver HTTPS port (default 6443)').argParser(
        portArg,
      ),
    )
    .addOption(
      new Option('--kube-etcd-port <port>', "the API server's etcd (default 2379)").argParser(portArg),
    )
    .argument(
      '[servers...]',
      `some of: ${SERVER_NAMES.join(', ')}; kube = ${SERVER_GROUPS.kube.join(' + ')}`,
    );
}

interface StackFlags {
  dataDir?: string;
  kafkaPort?: number;
  kafkaControllerPort?: number;
  neo4jBoltPort?: number;
  neo4jHttpPort?: number;
  redisPort?: number;
  kafkaHeap?: string;
  neo4jHeap?: string;
  neo4jPagecache?: string;
  kubeApiserverPort?: number;
  kubeEtcdPort?: number;
}

function stackFrom(flags: StackFlags): LocalStack {
  const overrides: StackOverrides = {};
  if (flags.dataDir) overrides.dataDir = flags.dataDir;
  if (flags.kafkaPort) overrides.kafkaPort = flags.kafkaPort;
  if (flags.kafkaControllerPort) overrides.kafkaControllerPort = flags.kafkaControllerPort;
  if (flags.neo4jBoltPort) overrides.neo4jBoltPort = flags.neo4jBoltPort;
  if (flags.neo4jHttpPort) overrides.neo4jHttpPort = flags.neo4jHttpPort;
  if (flags.kafkaHeap) overrides.kafkaHeap = flags.kafkaHeap;
  if (flags.neo4jHeap) overrides.neo4jHeap = flags.neo4jHeap;
  if (flags.neo4jPagecache) overrides.neo4jPageCache = flags.neo4jPagecache;
  if (flags.kubeApiserverPort) overrides.kubeApiserverPort = flags.kubeApiserverPort;
  if (flags.kubeEtcdPort) overrides.kubeEtcdPort = flags.kubeEtcdPort;
  const env = flags.redisPort ? { ...process.env, NETTOPO_REDIS_PORT: String(flags.redisPort) } : process.env;
  return new LocalStack(stackConfig(overrides, env));
}

/** The servers named (a group such as `kube` standing for its members), or `fallback` when none is. */
function serverNames(args: string[], fallback: readonly ServerName[]): ServerName[] {
  const names = new Set<ServerName>();
  for (const a of args) {
    const group = SERVER_GROUPS[a];
    if (group) group.forEach((n) => names.add(n));
    else if ((SERVER_NAMES as readonly string[]).includes(a)) names.add(a as ServerName);
    else
      throw new ConfigError(
        `unknown server '${a}' (servers: ${[...SERVER_NAMES, ...Object.keys(SERVER_GROUPS)].join(', ')})`,
      );
  }
  return names.size ? [...names] : [...fallback];
}

const progress = (msg: string): void => void process.stderr.write(`stack: ${msg}\n`);

/** Writes the last `lines` lines of a file; with `follow`, keeps writing what is appended until interrupted. */
async function tail(
  file: string,
  lines: number,
  follow: boolean,
  prefix: string,
  header: boolean,
): Promise<void> {
  if (header && !follow) process.stdout.write(`${prefix}==> ${file} <==\n`);
  if (!existsSync(file)) {
    process.stderr.write(`${prefix}(no log yet at ${file})\n`);
    if (!follow) return;
  } else {
    const text = readFileSync(file, 'utf8').split('\n');
    if (text[text.length - 1] === '') text.pop();
    for (const line of text.slice(-lines)) process.stdout.write(`${prefix}${line}\n`);
  }
  if (!follow) return;
  let offset = existsSync(file) ? statSync(file).size : 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    if (!existsSync(file)) continue;
    const size = statSync(file).size;
    if (size < offset) offset = 0;
    if (size === offset) continue;
    const buf = Buffer.alloc(size - offset);
    const fd = openSync(file, 'r');
    readSync(fd, buf, 0, buf.length, offset);
    closeSync(fd);
    offset = size;
    for (const line of buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l.length)) {
      process.stdout.write(`${prefix}${line}\n`);
    }
  }
}

/** `nettopo stack up|down|status|logs|fetch`: the local Kafka + Neo4j + Redis. */
export function registerStack(program: Command): void {
  const stack = program
    .command('stack')
    .description(
      'run the local Kafka, Neo4j and Redis servers, and optionally a Kubernetes API server (127.0.0.1 only, data under .nettopo/)',
    );

  withStackOptions(
    stack
      .command('up')
      .description(
        'start the servers that are not running and wait until each answers; prints connection URLs',
      ),
  ).action(async (args: string[], flags: StackFlags) => {
    const local = stackFrom(flags);
    const t0 = Date.now();
    const results = await local.up(serverNames(args, DEFAULT_SERVERS), progress);
    const urls = connectionUrls(local.config);
    progress(`ready in ${((Date.now() - t0) / 1000).toFixed(1)}s (data: ${local.config.dataDir})`);
    for (const r of results) {
      if (r.name === 'kafka') process.stdout.write(`kafka  ${urls.kafkaBroker}\n`);
      if (r.name === 'neo4j')
        process.stdout.write(`neo4j  ${urls.neo4jBolt}  browser ${urls.neo4jBrowser}\n`);
      if (r.name === 'redis') process.stdout.write(`redis  ${urls.redis}\n`);
      if (r.name === 'etcd') process.stdout.write(`etcd   ${r.url}\n`);
      if (r.name === 'kube-apiserver')
        process.stdout.write(
          `kube   ${urls.kubeApiserver}  kubeconfig ${kubeFiles(local.config).kubeconfig}\n`,
        );
    }
  });

  withStackOptions(
    stack.command('down').description('stop the servers that `stack up` started (by pid files)'),
  ).action(async (args: string[], flags: StackFlags) => {
    await stackFrom(flags).down(serverNames(args, SERVER_NAMES), progress);
  });

  withStackOptions(
    stack.command('status').description('tell which servers run, whether they answer, and their memory'),
  )
    .option('--json', 'print JSON')
    .action(async (args: string[], flags: StackFlags & { json?: boolean }) => {
      const statuses = await stackFrom(flags).status(args.length ? serverNames(args, []) : undefined);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
        return;
      }
      for (const s of statuses) {
        const pid = s.pid === undefined ? '-' : String(s.pid);
        const rss = s.rssKib === undefined ? '-' : `${Math.round(s.rssKib / 1024)} MiB`;
        process.stdout.write(
          `${s.name.padEnd(14)} ${s.state.padEnd(14)} pid ${pid.padEnd(8)} rss ${rss.padEnd(9)} ${s.url}\n`,
        );
      }
    });

  withStackOptions(stack.command('logs').description("print (or follow) the servers' log files"))
    .option('-n, --lines <n>', 'lines per server', positiveInt('lines'), 50)
    .option('-f, --follow', 'keep printing new lines')
    .action(async (args: string[], flags: StackFlags & { lines: number; follow?: boolean }) => {
      const local = stackFrom(flags);
      const servers = local.servers(serverNames(args, SERVER_NAMES));
      // Each server's stdout/stderr, plus Neo4j's own neo4j.log (its console stays nearly empty).
      const files = servers.flatMap((s) =>
        [s.logFile, ...s.ownLogFiles.slice(0, 1)].map((file) => ({ file, s })),
      );
      await Promise.all(
        files.map(({ file, s }) =>
          tail(file, flags.lines, !!flags.follow, files.length > 1 ? `${s.name} | ` : '', files.length > 1),
        ),
      );
    });

  withStackOptions(
    stack
      .command('fetch')
      .description(
        "download Kafka's and Neo4j's jars from Maven Central (`fetch kube`: build kube-apiserver and etcd) into the cache (once)",
      ),
  ).action(async (args: string[], flags: StackFlags) => {
    const local = stackFrom(flags);
    const names = serverNames(args, DEFAULT_SERVERS);
    await local.fetch(names, progress);
    if (names.some((n) => n === 'kafka' || n === 'neo4j'))
      progress(`jars cached under ${local.config.jarsDir}`);
    if (names.some((n) => n === 'etcd' || n === 'kube-apiserver'))
      progress(`kube-apiserver and etcd cached under ${local.config.kube.cacheDir}`);
  });
}

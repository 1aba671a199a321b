import { Command } from 'commander';
import neo4j, { type Driver } from 'neo4j-driver';
import { createLogger } from '../../common/log';
import { terminalText } from '../../common/terminal-text';
import { CollectorRun } from '../../collector';
import { kafkaSettings } from '../../kafka';
import { createGraphDriver } from '../../graph-schema/graph-driver';
import { IngestService } from '../../ingest';
import { connectionUrls, LocalStack, stackConfig, type ServerName } from '../../stack';
import { failIfUndelivered, untilStopped } from './collect';
import {
  commandLineOptions,
  MAX_FLOWS_OPTION,
  positiveNumber,
  scrubOptions,
  type ScrubFlags,
} from './option-parsers';

const log = createLogger('up');

/** The query `nettopo up` suggests for Neo4j Browser. */
export const EXAMPLE_QUERY = "MATCH p = (:Process)-[:CONNECTS_TO {level: 'process'}]->() RETURN p LIMIT 100";

interface UpOptions extends ScrubFlags {
  interval: number;
  summaryEvery: number;
  duration?: number;
  includeStackTraffic?: boolean;
  keepStack?: boolean;
  maxFlows: number;
}

/** A short view of the graph: node counts, process-level edges, top talkers. */
export interface TopologySummary {
  nodes: Record<string, number>;
  edges: number;
  top: { client: string; server: string; port: number; bytes: number; connections: number }[];
}

/** Reads the summary `nettopo up` prints (parameterised, read-only). */
export async function topologySummary(driver: Driver): Promise<TopologySummary> {
  const session = driver.session({ defaultAccessMode: 'READ' });
  try {
    return await session.executeRead(async (tx) => {
      const nodes: Record<string, number> = {};
      // One count per label, each answered from Neo4j's count store (no node scan).
      const counts = await tx.run(
        ['Host', 'Process', 'Container', 'Pod', 'ExternalEndpoint']
          .map((label) => `MATCH (n:${label}) RETURN '${label}' AS label, count(n) AS n`)
          .join(' UNION ALL '),
      );
      for (const r of counts.records) nodes[r.get('label') as string] = Number(r.get('n'));
      const edges = await tx.run(
        'MATCH ()-[r:CONNECTS_TO {level: $level}]->() WHERE r.connections > 0 OR r.failedConnects > 0 RETURN count(r) AS n',
        { level: 'process' },
      );
      const top = await tx.run(
        `MATCH (c:Process)-[r:CONNECTS_TO {level: $level}]->(s)
         RETURN c.comm AS client, coalesce(s.comm, s.ip) AS server, r.port AS port,
                r.bytesToServer + r.bytesToClient AS bytes, r.connections AS connections
         ORDER BY bytes DESC LIMIT $limit`,
        { level: 'process', limit: neo4j.int(5) },
      );
      return {
        nodes,
        edges: Number(edges.records[0]?.get('n') ?? 0),
        top: top.records.map((r) => ({
          client: String(r.get('client') ?? '?'),
          server: String(r.get('server') ?? '?'),
          port: Number(r.get('port')),
          bytes: Number(r.get('bytes')),
          connections: Number(r.get('connections')),
        })),
      };
    });
  } finally {
    await session.close();
  }
}

function formatSummary(s: TopologySummary): string {
  const nodes = Object.entries(s.nodes)
    .map(([label, n]) => `${n} ${label}`)
    .join(', ');
  const lines = [`graph: ${nodes}; ${s.edges} process-level CONNECTS_TO edges`];
  for (const t of s.top)
    lines.push(
      `  ${terminalText(t.client)} -> ${terminalText(t.server)}:${t.port}  ${t.bytes} bytes in ${t.connections} connection${t.connections === 1 ? '' : 's'}`,
    );
  return lines.join('\n');
}

/** `nettopo up`: the whole pipeline on this machine — stack, collector → Kafka, ingest → Neo4j. */
export function registerUp(program: Command): void {
  const command = program
    .command('up')
    .description(
      'run everything on this machine: the local stack, the collector (to Kafka) and the ingest (to Neo4j), with a live summary (root)',
    )
    .option('-i, --interval <seconds>', 'collector report interval', positiveNumber('interval'), 5)
    .option(
      '-s, --summary-every <seconds>',
      'print the graph summary this often',
      positiveNumber('summary-every'),
      5,
    )
    .option(
      '-d, --duration <seconds>',
      'stop after this many seconds (default: until Ctrl-C)',
      positiveNumber('duration'),
    )
    .option('--include-stack-traffic', "also show the local stack's own traffic (Kafka, Neo4j, Redis ports)")
    .option('--keep-stack', 'leave the servers running on exit (default: stop the ones this command started)')
    .option(
      MAX_FLOWS_OPTION.flags,
      MAX_FLOWS_OPTION.description,
      MAX_FLOWS_OPTION.parse,
      MAX_FLOWS_OPTION.default,
    );
  scrubOptions(command).action(async (opts: UpOptions) => {
    const config = stackConfig();
    const urls = connectionUrls(config);
    const stack = new LocalStack(config);
    const names: ServerName[] = ['kafka', 'neo4j'];
    const started = (await stack.up(names, (m) => log.info(m))).filter((r) => r.started).map((r) => r.name);

    const stackPorts = [
      config.kafka.port,
      config.kafka.controllerPort,
      config.neo4j.boltPort,
      config.neo4j.httpPort,
    ];
    const ingest = new IngestService({ brokers: [urls.kafkaBroker] });
    let run: CollectorRun | undefined;
    let driver: Driver | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await ingest.start();
      run = CollectorRun.start({
        intervalMs: opts.interval * 1000,
        filter: opts.includeStackTraffic ? {} : { excludePorts: stackPorts },
        maxFlows: opts.maxFlows,
        commandLines: commandLineOptions(opts),
        kafka: { settings: kafkaSettings({ brokers: urls.kafkaBroker }) },
      });
      driver = createGraphDriver();
      const graph = driver;
      process.stdout.write(
        `nettopo is running: collector → Kafka ${urls.kafkaBroker} → ingest → Neo4j ${urls.neo4jBolt}\n` +
          `Open Neo4j Browser at ${urls.neo4jBrowser} (connect to ${urls.neo4jBolt}, no authentication) and run:\n` +
          `  ${EXAMPLE_QUERY}\n` +
          `More queries: graph-schema/README.md. Ctrl-C stops.\n`,
      );
      const summarize = async (): Promise<void> => {
        try {
          process.stdout.write(`${formatSummary(await topologySummary(graph))}\n`);
        } catch (err) {
          log.warn(`summary unavailable: ${(err as Error).message}`);
        }
      };
      timer = setInterval(() => void summarize(), opts.summaryEvery * 1000);
      await untilStopped(opts.duration);
      clearInterval(timer);
      timer = undefined;
      failIfUndelivered(await run.stop());
      run = undefined;
      // Let the ingest apply what the collector produced last, then print the final picture.
      await ingest.waitUntilCaughtUp(15_000).catch((err: Error) => log.warn(err.message));
      await summarize();
    } finally {
      if (timer) clearInterval(timer);
      await run?.stop();
      await ingest.stop();
      await driver?.close();
      if (!opts.keepStack && started.length) await stack.down(started, (m) => log.info(m));
    }
  });
}

import type { Command } from 'commander';
import { parseTime } from '../../common/duration';
import { ConfigError } from '../../common/errors';
import { createGraphDriver, bucketStart, DEFAULT_BUCKET_MS } from '../../graph-schema';
import { HistoryReader } from '../../reports';

interface TopologyFlags {
  at: string;
  level: string;
  format: 'table' | 'json';
}

/** `nettopo topology --at T --level L`: the topology as the history knows it at a past time. */
export function registerTopology(program: Command): void {
  program
    .command('topology')
    .description(
      'print the topology at a time, from the history the ingest records: every edge of a level that was active or held an open connection in the history bucket holding that time',
    )
    .requiredOption('--at <time>', 'now, -2h (that long ago), an ISO date or epoch ms')
    .option('-l, --level <level>', 'process, container, pod, host (workload, service where recorded)', 'host')
    .option('--format <format>', 'table or json (one edge per line)', 'table')
    .action(async (flags: TopologyFlags) => {
      if (flags.format !== 'table' && flags.format !== 'json')
        throw new ConfigError(`--format must be table or json, got ${flags.format}`);
      const at = parseTime(flags.at, Date.now(), '--at');
      const driver = createGraphDriver();
      try {
        const reader = new HistoryReader(driver);
        const settings = await reader.settings();
        const bucket = settings?.bucketMs ?? DEFAULT_BUCKET_MS;
        const window = { from: bucketStart(at, bucket), to: bucketStart(at, bucket) + bucket };
        const snap = await reader.window(flags.level, window);
        const edges = [...snap.edges.values()];
        const names = await reader.describe(edges.flatMap((e) => [e.from, e.to]));
        const name = (label: string, key: string): string => names.get(`${label}:${key}`)?.name ?? key;
        const rows = edges
          .map((e) => ({
            client: name(e.from.label, e.from.key),
            server: name(e.to.label, e.to.key),
            clientKey: `${e.from.label}:${e.from.key}`,
            serverKey: `${e.to.label}:${e.to.key}`,
            port: e.port,
            connections: e.connections,
            bytesToServer: e.bytesToServer,
            bytesToClient: e.bytesToClient,
            open: e.open,
          }))
          .sort(
            (x, y) => x.client.localeCompare(y.client) || x.server.localeCompare(y.server) || x.port - y.port,
          );
        if (flags.format === 'json') {
          for (const r of rows)
            process.stdout.write(`${JSON.stringify({ level: flags.level, ...window, ...r })}\n`);
          return;
        }
        process.stderr.write(
          `topology at ${flags.level} level, ${new Date(window.from).toISOString()} – ${new Date(window.to).toISOString()}` +
            `${settings ? '' : ' (no history recorded yet)'}: ${rows.length} edges\n`,
        );
        const head = ['CLIENT', 'SERVER', 'PORT', 'CONN', 'TO_SERVER_B', 'TO_CLIENT_B', 'OPEN'];
        const cells = rows.map((r) => [
          r.client,
          r.server,
          String(r.port),
          String(r.connections),
          String(r.bytesToServer),
          String(r.bytesToClient),
          String(r.open),
        ]);
        const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
        for (const line of [head, ...cells])
          process.stdout.write(
            `${line.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ')}\n`,
          );
      } finally {
        await driver.close();
      }
    });
}

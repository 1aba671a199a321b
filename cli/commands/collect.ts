import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../../common/log';
import { FlowCollector, formatFlow, tableHeader, type FlowOutputFormat } from '../../collector';

const log = createLogger('collect');

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

function intList(name: string) {
  return (value: string, previous: number[] = []): number[] => {
    const out = [...previous];
    for (const part of value.split(',')) {
      const n = Number(part);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name}: '${part}' is not a number`);
      out.push(n);
    }
    return out;
  };
}

function stringList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').filter((s) => s.length > 0)];
}

interface CollectOptions {
  duration?: number;
  interval: number;
  format: FlowOutputFormat;
  pid?: number[];
  port?: number[];
  container?: string[];
  includeSelf?: boolean;
}

/** `nettopo collect`: the collector on its own, printing flow records (like tcplife, attributed). */
export function registerCollect(program: Command): void {
  program
    .command('collect')
    .description(
      'trace TCP connections with eBPF and print attributed flow records (needs root; see README for capabilities)',
    )
    .option(
      '-d, --duration <seconds>',
      'stop after this many seconds (default: until Ctrl-C)',
      positiveNumber('duration'),
    )
    .option(
      '-i, --interval <seconds>',
      'report open flows every this many seconds',
      positiveNumber('interval'),
      5,
    )
    .option(
      '-f, --format <format>',
      'json (one JSON object per line) or table',
      (v: string) => {
        if (v !== 'json' && v !== 'table') throw new InvalidArgumentError("format must be 'json' or 'table'");
        return v;
      },
      'json',
    )
    .option(
      '-p, --pid <pids>',
      'only flows of these process ids (comma separated, repeatable)',
      intList('pid'),
    )
    .option('-P, --port <ports>', 'only flows with these local or remote ports', intList('port'))
    .option('-c, --container <ids>', 'only flows of these containers (id prefixes)', stringList)
    .option('--include-self', "also trace the collector's own sockets")
    .action(async (opts: CollectOptions) => {
      const collector = new FlowCollector({
        intervalMs: opts.interval * 1000,
        filter: { pids: opts.pid, ports: opts.port, containers: opts.container },
        ignorePid: opts.includeSelf ? 0 : process.pid,
      });
      if (opts.format === 'table') process.stdout.write(`${tableHeader()}\n`);
      let printed = 0;
      collector.start((records) => {
        printed += records.length;
        process.stdout.write(records.map((r) => formatFlow(r, opts.format)).join('\n') + '\n');
      });
      await new Promise<void>((resolve) => {
        const done = (): void => resolve();
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
        if (opts.duration) setTimeout(done, opts.duration * 1000).unref();
      });
      collector.stop();
      const s = collector.stats();
      log.info(
        `stopped: ${printed} records; drops: ring buffer ${s?.ringbufFull ?? 0}, map ${s?.flowUpdateFailed ?? 0}, evicted ${s?.flowsEvicted ?? 0}`,
      );
    });
}

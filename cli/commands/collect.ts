import { Command, InvalidArgumentError } from 'commander';
import {
  CollectorRun,
  formatFlow,
  parseMachineId,
  resolveNetns,
  tableHeader,
  undeliveredNote,
  type FlowOutputFormat,
} from '../../collector';
import { type UndeliveredRecords } from '../../kafka';
import { withConfigOption } from '../command-config';
import { registerCollectorMetrics, type MetricsAddress } from '../../metrics';
import { kafkaReady, metricsOption, startMetrics } from './metrics-options';
import { kafkaOptions, kafkaSettingsOf, type KafkaOptionValues } from './connection-options';
import {
  commandLineOptions,
  intList,
  MAX_FLOWS_OPTION,
  positiveInt,
  positiveNumber,
  scrubOptions,
  stringList,
  type ScrubFlags,
} from './option-parsers';

/** A network namespace name, path or inode number, resolved to its inode number now. */
function netnsList(value: string, previous: number[] = []): number[] {
  try {
    return [...previous, resolveNetns(value)];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function hostId(value: string): string {
  const id = parseMachineId(value);
  if (!id) throw new InvalidArgumentError(`host id '${value}' is not 32 hex digits (machine-id format)`);
  return id;
}

interface CollectOptions extends ScrubFlags, KafkaOptionValues {
  maxRecordBytes: number;
  duration?: number;
  interval: number;
  format?: FlowOutputFormat | 'none';
  kafka?: string | true;
  topicPrefix: string;
  partitions: number;
  retentionHours: number;
  bufferMb: number;
  compression: 'gzip' | 'none';
  heartbeat: number;
  hostInterval: number;
  stopTimeout: number;
  pid?: number[];
  port?: number[];
  container?: string[];
  includeSelf?: boolean;
  maxFlows: number;
  metricsAddress?: MetricsAddress;
  hostId?: string;
  netns?: number[];
}

/** `nettopo collect`: the collector on its own, printing flow records (like tcplife, attributed). */
export function registerCollect(program: Command): void {
  const command = program
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
      'json (one JSON object per line), table, or none (default: json, none with --kafka)',
      (v: string) => {
        if (v !== 'json' && v !== 'table' && v !== 'none')
          throw new InvalidArgumentError("format must be 'json', 'table' or 'none'");
        return v;
      },
    )
    .option(
      '-k, --kafka [brokers]',
      'also produce every record to Kafka (host:port,...; default NETTOPO_KAFKA_BROKERS, else the local stack); SASL/TLS from NETTOPO_KAFKA_* variables',
    )
    .option('--topic-prefix <prefix>', 'prefix of the topic names (e.g. for a test)', '')
    .option('--partitions <n>', 'partitions of topics created on start', positiveInt('partitions'), 3)
    .option(
      '--retention-hours <hours>',
      'retention of the flow and heartbeat topics created on start',
      positiveNumber('retention-hours'),
      168,
    )
    .option(
      '--buffer-mb <MiB>',
      'memory cap of records waiting for Kafka; past it the oldest are dropped and counted',
      positiveNumber('buffer-mb'),
      64,
    )
    .option(
      '--compression <codec>',
      'gzip or none',
      (v: string) => {
        if (v !== 'gzip' && v !== 'none')
          throw new InvalidArgumentError("compression must be 'gzip' or 'none'");
        return v;
      },
      'gzip',
    )
    .option(
      '--max-record-bytes <bytes>',
      "largest record sent to Kafka; a larger one is counted as refused and dropped (keep it under the broker's message.max.bytes)",
      positiveInt('max-record-bytes'),
      1_000_000,
    )
    .option('--heartbeat <seconds>', 'heartbeat period', positiveNumber('heartbeat'), 10)
    .option('--host-interval <seconds>', 'host record period', positiveNumber('host-interval'), 60)
    .option(
      '--stop-timeout <seconds>',
      'on exit, how long to wait for Kafka to take the buffered records',
      positiveNumber('stop-timeout'),
      10,
    )
    .option(
      '-p, --pid <pids>',
      'only flows of these process ids (comma separated, repeatable)',
      intList('pid'),
    )
    .option('-P, --port <ports>', 'only flows with these local or remote ports', intList('port'))
    .option('-c, --container <ids>', 'only flows of these containers (id prefixes)', stringList)
    .option('--include-self', "also trace the collector's own sockets")
    .option(
      MAX_FLOWS_OPTION.flags,
      MAX_FLOWS_OPTION.description,
      MAX_FLOWS_OPTION.parse,
      MAX_FLOWS_OPTION.default,
    )
    .option(
      '--host-id <id>',
      'report as this host id (32 hex digits) instead of /etc/machine-id (default NETTOPO_HOST_ID), e.g. one host of a simulated fleet',
      hostId,
    )
    .option(
      '--netns <name-or-inode>',
      'only sockets, listeners and addresses of this network namespace (ip netns name, /proc/<pid>/ns/net path or inode; repeatable)',
      netnsList,
    );
  withConfigOption(metricsOption(kafkaOptions(scrubOptions(command), { brokers: false }))).action(
    async (opts: CollectOptions) => {
      const format = opts.format ?? (opts.kafka ? 'none' : 'json');
      if (format === 'table') process.stdout.write(`${tableHeader()}\n`);
      const settings = opts.kafka
        ? kafkaSettingsOf(command, opts, { brokers: typeof opts.kafka === 'string' ? opts.kafka : undefined })
        : undefined;
      const run = CollectorRun.start({
        intervalMs: opts.interval * 1000,
        filter: { pids: opts.pid, ports: opts.port, containers: opts.container, netns: opts.netns },
        hostId: opts.hostId ?? envHostId(),
        ignorePid: opts.includeSelf ? 0 : process.pid,
        maxFlows: opts.maxFlows,
        commandLines: commandLineOptions(opts),
        kafka: settings
          ? {
              settings,
              topicPrefix: opts.topicPrefix,
              partitions: opts.partitions,
              retentionMs: Math.round(opts.retentionHours * 3600 * 1000),
              bufferBytes: Math.round(opts.bufferMb * 1024 * 1024),
              compression: opts.compression,
              maxRecordBytes: opts.maxRecordBytes,
              heartbeatIntervalMs: opts.heartbeat * 1000,
              hostIntervalMs: opts.hostInterval * 1000,
            }
          : undefined,
        onFlows: (records) => {
          if (format !== 'none')
            process.stdout.write(records.map((r) => formatFlow(r, format)).join('\n') + '\n');
        },
      });
      const metrics = await startMetrics('collector', opts.metricsAddress, (server) => {
        registerCollectorMetrics(server.registry, {
          events: () => run.counters().events,
          flowRecords: () => run.counters().flowRecords,
          drops: () => run.counters().drops,
          evicted: () => run.counters().evicted,
          flowsTracked: () => run.counters().flowsTracked,
          kafka: () => run.counters().kafka,
        });
        server.addReadinessCheck('bpf', () => {
          if (!run.attached()) throw new Error('no BPF program attached');
        });
        if (settings) kafkaReady(server, settings);
      }).catch(async (err: unknown) => {
        await run.stop(0);
        throw err;
      });
      await untilStopped(opts.duration);
      failIfUndelivered(await run.stop(opts.stopTimeout * 1000));
      await metrics?.close();
    },
  );
}

/** Exit status of a collector that lost records. */
export const UNDELIVERED_EXIT_CODE = 3;

/** Says how many records Kafka did not get and makes the exit status non-zero when any. */
export function failIfUndelivered(lost: UndeliveredRecords | undefined): void {
  const note = undeliveredNote(lost);
  if (note === undefined) return;
  process.stderr.write(`nettopo: ${note}\n`);
  process.exitCode = UNDELIVERED_EXIT_CODE;
}

/** NETTOPO_HOST_ID, validated; undefined when unset or empty. */
function envHostId(): string | undefined {
  const value = process.env.NETTOPO_HOST_ID;
  return value ? hostId(value) : undefined;
}

/** Resolves at Ctrl-C, SIGTERM, or after `seconds` when given. */
export function untilStopped(seconds?: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (seconds) setTimeout(done, seconds * 1000).unref();
  });
}

import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../../common/log';
import { terminalJson } from '../../common/terminal-text';
import { kafkaSettings } from '../../kafka/kafka-config';
import { ALL_TOPICS } from '../../contract';
import { EventConsumer, recordView } from '../../events';
import { connectionUrls } from '../../stack/stack-config';

const log = createLogger('events');

interface TailOptions {
  brokers?: string;
  topicPrefix: string;
  fromBeginning?: boolean;
  max?: number;
  group?: string;
}

/** `flows`, `flow`, `nettopo.flows.v1`, `pods`, `endpointslices` or any topic name → the topic to read. */
export function resolveTopic(name: string, prefix = ''): string {
  const spec = ALL_TOPICS.find(
    (t) => name === t.kind || name === `${t.kind}s` || name === t.topic.split('.').slice(-2)[0],
  );
  return spec ? `${prefix}${spec.topic}` : name;
}

/** The broker list: the flag, else NETTOPO_KAFKA_BROKERS, else the local stack's Kafka. */
export function brokersOf(flag: string | undefined): string {
  return flag || process.env.NETTOPO_KAFKA_BROKERS || connectionUrls().kafkaBroker;
}

/** `nettopo events tail <topic>`: decodes and prints any nettopo topic as JSON lines. */
export function registerEvents(program: Command): void {
  const events = program.command('events').description('read the nettopo topics on Kafka');
  events
    .command('tail')
    .description(
      'print the records of a topic as JSON lines (one per message: topic, partition, offset, key, schema, record); ' +
        'a message that does not decode is printed with an "error" and skipped',
    )
    .argument(
      '<topic>',
      `a topic name, or a kind: ${ALL_TOPICS.map((t) => t.kind).join(', ')} (plural allowed)`,
    )
    .option(
      '-b, --brokers <list>',
      'host:port,... (default NETTOPO_KAFKA_BROKERS, else the local stack); SASL/TLS from NETTOPO_KAFKA_* variables',
    )
    .option('--topic-prefix <prefix>', 'prefix of the topic names when a kind is given', '')
    .option('--from-beginning', 'start at the oldest retained message (default: only new ones)')
    .option('-n, --max <count>', 'exit after this many messages (records and errors)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('max must be a positive integer');
      return n;
    })
    .option('--group <id>', 'consumer group to use (default: a fresh one, deleted on exit)')
    .action(async (topicArg: string, opts: TailOptions) => {
      const topic = resolveTopic(topicArg, opts.topicPrefix);
      const consumer = new EventConsumer({
        settings: kafkaSettings({ brokers: brokersOf(opts.brokers), clientId: 'nettopo-events-tail' }),
        topics: [topic],
        fromBeginning: !!opts.fromBeginning,
        ...(opts.group ? { groupId: opts.group } : {}),
      });
      let seen = 0;
      let failed = 0;
      let finish: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      const count = (): void => {
        seen++;
        if (opts.max !== undefined && seen >= opts.max) finish();
      };
      const out = (line: unknown): void => void process.stdout.write(`${terminalJson(line)}\n`);
      await consumer.run({
        onRecord: ({ topic: t, partition, offset, key, timestamp, decoded }) => {
          if (opts.max !== undefined && seen >= opts.max) return;
          out({
            topic: t,
            partition,
            offset,
            key,
            timestamp: Number(timestamp),
            schema: decoded.schema,
            record: recordView(decoded),
          });
          count();
        },
        onTombstone: ({ topic: t, partition, offset, key, timestamp }) => {
          if (opts.max !== undefined && seen >= opts.max) return;
          out({ topic: t, partition, offset, key, timestamp: Number(timestamp), tombstone: true });
          count();
        },
        onFailure: ({ topic: t, partition, offset, key, timestamp, error }) => {
          if (opts.max !== undefined && seen >= opts.max) return;
          failed++;
          log.warn(`${t}/${partition}@${offset}: skipped, ${error.reason}: ${error.message}`);
          out({
            topic: t,
            partition,
            offset,
            key,
            timestamp: Number(timestamp),
            error: {
              name: error.name,
              reason: error.reason,
              schema: error.schema ?? null,
              message: error.message,
            },
          });
          count();
        },
      });
      log.info(`tailing ${topic}${opts.fromBeginning ? ' from the beginning' : ''}`);
      process.once('SIGINT', finish);
      process.once('SIGTERM', finish);
      await finished;
      await consumer.stop();
      log.info(`stopped: ${seen} messages, ${failed} not decodable`);
    });
}

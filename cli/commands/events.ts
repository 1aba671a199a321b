import { Command } from 'commander';
import { NettopoError } from '../../common/errors';
import { createLogger } from '../../common/log';
import { terminalJson } from '../../common/terminal-text';
import { UnknownTopicError } from '../../kafka/errors';
import { ALL_TOPICS } from '../../contract';
import { EventConsumer, recordView } from '../../events';
import { withConfigOption } from '../command-config';
import { kafkaOptions, kafkaSettingsOf, serverError, type KafkaOptionValues } from './connection-options';
import { positiveInt } from './option-parsers';

const log = createLogger('events');

interface TailOptions extends KafkaOptionValues {
  topicPrefix: string;
  fromBeginning?: boolean;
  max?: number;
  group?: string;
}

/** `flows`, `flow`, `nettopo.flows.v1`, `pods`, `endpointslices` or any topic name → the topic to read. */
export function resolveTopic(name: string, prefix = ''): string {
  return knownTopic(name, prefix) ?? name;
}

/** The topic of a kind's name (singular or plural), or undefined when `name` names no kind. */
function knownTopic(name: string, prefix: string): string | undefined {
  const spec = ALL_TOPICS.find(
    (t) => name === t.kind || name === `${t.kind}s` || name === t.topic.split('.').slice(-2)[0],
  );
  return spec ? `${prefix}${spec.topic}` : undefined;
}

/** `nettopo events tail <topic>`: decodes and prints any nettopo topic as JSON lines. */
export function registerEvents(program: Command): void {
  const events = program.command('events').description('read the nettopo topics on Kafka');
  const tail = events.command('tail');
  withConfigOption(kafkaOptions(tail))
    .description(
      'print the records of a topic as JSON lines (one per message: topic, partition, offset, key, schema, record); ' +
        'a message that does not decode is printed with an "error" and skipped',
    )
    .argument(
      '<topic>',
      `a topic name, or a kind: ${ALL_TOPICS.map((t) => t.kind).join(', ')} (plural allowed)`,
    )
    .option('--topic-prefix <prefix>', 'prefix of the topic names when a kind is given', '')
    .option('--from-beginning', 'start at the oldest retained message (default: only new ones)')
    .option('-n, --max <count>', 'exit after this many messages (records and errors)', positiveInt('max'))
    .option('--group <id>', 'consumer group to use (default: a fresh one, deleted on exit)')
    .action(async (topicArg: string, opts: TailOptions) => {
      const topic = resolveTopic(topicArg, opts.topicPrefix);
      const settings = kafkaSettingsOf(tail, opts, { clientId: 'nettopo-events-tail' });
      const consumer = new EventConsumer({
        settings,
        topics: [topic],
        fromBeginning: !!opts.fromBeginning,
        ...(opts.group ? { groupId: opts.group } : {}),
      });
      let seen = 0;
      let failed = 0;
      const missing = await consumer.missingTopics().catch((err: unknown) => {
        throw serverError(err, { kafka: settings });
      });
      if (missing.length > 0) {
        const at = `on Kafka at ${settings.brokers.join(',')}`;
        throw new UnknownTopicError(
          knownTopic(topicArg, opts.topicPrefix)
            ? `topic ${topic} does not exist ${at} yet (nothing was produced to it)`
            : `unknown topic '${topicArg}': not a kind (${ALL_TOPICS.map((t) => t.kind).join(', ')}) nor a topic ${at}`,
        );
      }
      let finish: () => void = () => undefined;
      let crashed: Error | undefined;
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
        onCrash: (error) => {
          crashed = error;
          finish();
        },
      });
      log.info(`tailing ${topic}${opts.fromBeginning ? ' from the beginning' : ''}`);
      process.once('SIGINT', finish);
      process.once('SIGTERM', finish);
      await finished;
      await consumer.stop().catch(() => undefined);
      if (crashed)
        throw new NettopoError(
          `reading ${topic} stopped: ${(serverError(crashed, { kafka: settings }) as Error).message}`,
        );
      log.info(`stopped: ${seen} messages, ${failed} not decodable`);
    });
}

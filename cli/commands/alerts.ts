import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createLogger } from '../../common/log';
import { kafkaSettings } from '../../kafka/kafka-config';
import { AlertService, loadAlertsConfig } from '../../reports';
import { brokersOf } from './connection-options';

const log = createLogger('alerts');

interface AlertFlags {
  rules: string;
  group: string;
  topicPrefix: string;
  fromBeginning?: boolean;
  brokers?: string;
}

/** `nettopo alerts`: rules over the change stream, printed and/or POSTed to a webhook. */
export function registerAlerts(program: Command): void {
  program
    .command('alerts')
    .description(
      'match every change on nettopo.topology-changes.v1 against the rules of a YAML file; print the matches and/or POST them to a webhook (retries with back-off, then a dead letter); its own consumer group, so a restart neither loses nor repeats a delivered alert',
    )
    .requiredOption(
      '-r, --rules <file>',
      'YAML file with the rules and the webhook (reports/README.md shows one)',
    )
    .option('-g, --group <id>', 'consumer group', 'nettopo-alerts')
    .option('--topic-prefix <prefix>', 'prefix of the change and dead-letter topics', '')
    .option('--from-beginning', 'when the group is new, start at the oldest retained change')
    .option('-b, --brokers <list>', 'Kafka (default NETTOPO_KAFKA_BROKERS, else the local stack)')
    .action(async (flags: AlertFlags) => {
      const config = loadAlertsConfig(resolve(flags.rules));
      const service = new AlertService({
        config,
        settings: kafkaSettings({ brokers: brokersOf(flags.brokers), clientId: 'nettopo-alerts' }),
        groupId: flags.group,
        topicPrefix: flags.topicPrefix,
        fromBeginning: !!flags.fromBeginning,
        log,
      });
      await service.start();
      log.info(
        `alerts: ${config.rules.length} rules, group ${flags.group}` +
          (config.delivery.webhookUrl
            ? `, webhook ${new URL(config.delivery.webhookUrl).origin}`
            : ', printing only'),
      );
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await service.stop();
    });
}

import { Command } from 'commander';
import { ConfigError } from '../../common/errors';
import { createLogger } from '../../common/log';
import { CLUSTER_NAME, ClusterPublisher, ClusterWatcher, KubeClient, loadKubeConfig } from '../../k8s';
import { withConfigOption } from '../command-config';
import { registerK8sWatchMetrics, type MetricsAddress } from '../../metrics';
import { kafkaReady, metricsOption, startMetrics } from './metrics-options';
import { kafkaOptions, kafkaSettingsOf, type KafkaOptionValues } from './connection-options';
import { positiveInt } from './option-parsers';

const log = createLogger('k8s-watch');

interface K8sWatchFlags extends KafkaOptionValues {
  kubeconfig?: string;
  cluster?: string;
  topicPrefix: string;
  partitions: number;
  watchTimeout: number;
  metricsAddress?: MetricsAddress;
}

/** `nettopo k8s-watch`: one per cluster, publishes pods, Services and EndpointSlices to Kafka. */
export function registerK8sWatch(program: Command): void {
  const command = program.command('k8s-watch');
  withConfigOption(metricsOption(kafkaOptions(command)))
    .description(
      "watch a Kubernetes cluster's pods (with their owner workloads), Services and EndpointSlices and publish them " +
        'to compacted Kafka topics for the ingest; run ONE per cluster',
    )
    .option(
      '--kubeconfig <file>',
      'kubeconfig to use, or `in-cluster` (default: KUBECONFIG, ~/.kube/config, else in-cluster)',
    )
    .option(
      '--cluster <name>',
      "the cluster's name in records and keys (default: NETTOPO_K8S_CLUSTER, else the kubeconfig's current cluster)",
    )
    .option('--topic-prefix <prefix>', 'prefix of the topic names', '')
    .option('--partitions <n>', 'partitions of the topics it creates', positiveInt('partitions'), 3)
    .option(
      '--watch-timeout <seconds>',
      'the API server ends each watch after about this long; the watcher then watches again from where it was',
      positiveInt('watch-timeout'),
      300,
    )
    .action(async (flags: K8sWatchFlags) => {
      const config = loadKubeConfig(flags.kubeconfig);
      const cluster =
        flags.cluster || process.env.NETTOPO_K8S_CLUSTER || config.getCurrentCluster()?.name || '';
      if (!CLUSTER_NAME.test(cluster))
        throw new ConfigError(
          `the cluster name ${JSON.stringify(cluster)} must match ${CLUSTER_NAME.source}; give one with --cluster`,
        );
      const settings = kafkaSettingsOf(command, flags, { clientId: 'nettopo-k8s-watch' });
      const publisher = new ClusterPublisher({
        settings,
        topicPrefix: flags.topicPrefix,
        partitions: flags.partitions,
        log,
      });
      const watcher = new ClusterWatcher({
        cluster,
        client: new KubeClient(config),
        publisher,
        log,
        reflector: { watchTimeoutSeconds: flags.watchTimeout },
      });
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      let listed = false;
      const metrics = await startMetrics('k8s-watch', flags.metricsAddress, (server) => {
        registerK8sWatchMetrics(server.registry, () => watcher.stats);
        kafkaReady(server, settings);
        server.addReadinessCheck('kubernetes', () => {
          if (!listed) throw new Error('the first list of the API server is not done yet');
        });
      });
      await Promise.race([watcher.start().then(() => (listed = true)), stopped]);
      await stopped;
      await watcher.stop();
      await metrics?.close();
      const s = watcher.stats;
      log.info(
        `stopped: published ${s.published.pod} pod, ${s.published.service} service and ${s.published.endpointslice} ` +
          `endpointslice records (${s.deleted.pod + s.deleted.service + s.deleted.endpointslice} deletions)`,
      );
    });
}

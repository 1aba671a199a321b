import '../patches/kafkajs'; // before kafkajs: see the module
import { Kafka, logLevel } from 'kafkajs';
import { kafkaConnectError } from './errors';
import { kafkaClientConfig, type KafkaSettings } from './kafka-config';

/**
 * Asks the brokers for their metadata, once, without retries: a readiness check. Each check opens
 * and closes its own connection, so a broker that went away and came back is seen as it is now.
 */
export class KafkaProbe {
  private readonly kafka: Kafka;

  constructor(private readonly settings: KafkaSettings) {
    this.kafka = new Kafka({
      ...kafkaClientConfig(settings),
      clientId: `${settings.clientId}-probe`,
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
  }

  /** @throws KafkaUnavailableError or KafkaAuthError, one line naming the brokers */
  async check(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length === 0) throw new Error('no broker in the metadata');
    } catch (err) {
      throw kafkaConnectError(err, this.settings.brokers.join(','));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}

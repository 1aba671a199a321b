import type { Command } from 'commander';
import { createGraphDriver, graphError, type GraphConnection } from '../../graph-schema/graph-driver';
import { KafkaProbe } from '../../kafka/kafka-probe';
import type { KafkaSettings } from '../../kafka/kafka-config';
import { MetricsServer, parseMetricsAddress, type MetricsAddress } from '../../metrics';

/** Adds `--metrics-address` (also the config file's `metrics.address`). */
export function metricsOption(command: Command): Command {
  return command.option(
    '--metrics-address <host:port|port|off>',
    'serve /metrics, /healthz and /readyz there (a bare port binds 127.0.0.1; default off; config metrics.address)',
    (value: string) => parseMetricsAddress(value),
  );
}

/** Starts the endpoint when `--metrics-address` asks for one; undefined otherwise. */
export async function startMetrics(
  component: string,
  address: MetricsAddress | undefined,
  setUp: (server: MetricsServer) => void,
): Promise<MetricsServer | undefined> {
  if (!address) return undefined;
  const server = new MetricsServer(component);
  setUp(server);
  await server.listen(address);
  return server;
}

/** Readiness: Kafka answers a metadata request. */
export function kafkaReady(server: MetricsServer, settings: KafkaSettings): void {
  const probe = new KafkaProbe(settings);
  server.addReadinessCheck('kafka', () => probe.check());
}

/** Readiness: Neo4j accepts a connection and the login. Returns a close function for its driver. */
export function graphReady(server: MetricsServer, connection: GraphConnection): () => Promise<void> {
  const driver = createGraphDriver(connection);
  server.addReadinessCheck('neo4j', async () => {
    try {
      await driver.verifyConnectivity({ database: connection.database ?? 'neo4j' });
    } catch (err) {
      throw graphError(err, connection);
    }
  });
  return () => driver.close();
}

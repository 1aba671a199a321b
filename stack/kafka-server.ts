import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServerStartError } from './errors';
import { lastErrorLine } from './log-files';
import type { LaunchCommand, ManagedServer, PortSpec } from './managed-server';
import { ensureJars, jarsFolder } from './maven-jars';
import { probeKafka } from './probes';
import { stackPaths, type StackConfig } from './stack-config';
import { findJava } from './tools';

/** Apache Kafka 3.9 in KRaft mode, one node acting as broker and controller, on 127.0.0.1. */
export class KafkaServer implements ManagedServer {
  readonly name = 'kafka' as const;
  readonly logFile: string;
  readonly ownLogFiles: string[] = [];
  private readonly home: string;

  constructor(private readonly config: StackConfig) {
    this.logFile = join(stackPaths(config).logs, 'kafka.log');
    this.home = stackPaths(config).server('kafka');
  }

  ports(): PortSpec[] {
    return [
      { port: this.config.kafka.port, what: 'Kafka', envVar: 'NETTOPO_KAFKA_PORT' },
      {
        port: this.config.kafka.controllerPort,
        what: 'Kafka controller',
        envVar: 'NETTOPO_KAFKA_CONTROLLER_PORT',
      },
    ];
  }

  async fetch(): Promise<void> {
    await ensureJars(this.config, 'kafka', join(stackPaths(this.config).logs, 'maven-kafka.log'));
  }

  url(): string {
    return `${this.config.host}:${this.config.kafka.port}`;
  }

  async prepare(): Promise<LaunchCommand> {
    await this.fetch();
    const java = findJava();
    const { host, kafka } = this.config;
    const dataDir = join(this.home, 'data');
    mkdirSync(dataDir, { recursive: true });
    const properties = join(this.home, 'server.properties');
    // The client listener: PLAINTEXT, or SASL_PLAINTEXT with one PLAIN user (the broker logs in
    // to itself as that user too).
    const client = kafka.sasl ? 'SASL_PLAINTEXT' : 'PLAINTEXT';
    const quote = (v: string): string => JSON.stringify(v);
    const sasl = kafka.sasl
      ? [
          'sasl.enabled.mechanisms=PLAIN',
          'sasl.mechanism.inter.broker.protocol=PLAIN',
          `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=${quote(kafka.sasl.username)} password=${quote(kafka.sasl.password)} user_${kafka.sasl.username}=${quote(kafka.sasl.password)};`,
        ]
      : [];
    writeFileSync(
      properties,
      [
        '# Written by `nettopo stack up` on every start; edit stack/kafka-server.ts instead.',
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@${host}:${kafka.controllerPort}`,
        `listeners=${client}://${host}:${kafka.port},CONTROLLER://${host}:${kafka.controllerPort}`,
        `advertised.listeners=${client}://${host}:${kafka.port}`,
        'controller.listener.names=CONTROLLER',
        `inter.broker.listener.name=${client}`,
        `listener.security.protocol.map=CONTROLLER:PLAINTEXT,${client}:${client}`,
        ...sasl,
        `log.dirs=${dataDir}`,
        'num.partitions=1',
        'default.replication.factor=1',
        'offsets.topic.replication.factor=1',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'min.insync.replicas=1',
        'group.initial.rebalance.delay.ms=0',
        'auto.create.topics.enable=true',
        'delete.topic.enable=true',
        'log.retention.hours=24',
        'log.segment.bytes=67108864',
        '',
      ].join('\n'),
    );
    const log4j = join(this.home, 'log4j.properties');
    writeFileSync(
      log4j,
      [
        'log4j.rootLogger=INFO, stdout',
        'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
        'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
        'log4j.logger.kafka.request.logger=WARN',
        'log4j.logger.state.change.logger=WARN',
        'log4j.logger.org.apache.kafka.clients=WARN',
        '',
      ].join('\n'),
    );
    const jvm = [
      `-Xms${kafka.heap}`,
      `-Xmx${kafka.heap}`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${log4j}`,
      '-Dnettopo.server=kafka',
      '-cp',
      `${jarsFolder(this.config, 'kafka')}/*`,
    ];
    // A new data dir is formatted once (KRaft needs a cluster id in meta.properties). The quorum is static
    // (controller.quorum.voters), so neither --standalone nor --initial-controllers applies;
    // --ignore-formatted (-g) makes a repeated format harmless.
    if (!existsSync(join(dataDir, 'meta.properties'))) {
      const clusterId = randomBytes(16).toString('base64url');
      appendFileSync(this.logFile, `nettopo: formatting ${dataDir} (cluster id ${clusterId})\n`);
      const format = spawnSync(
        java,
        [
          ...jvm.filter((a) => !a.startsWith('-Xms')),
          'kafka.tools.StorageTool',
          'format',
          '-t',
          clusterId,
          '-c',
          properties,
          '-g',
        ],
        { encoding: 'utf8', cwd: this.home },
      );
      appendFileSync(this.logFile, `${format.stdout ?? ''}${format.stderr ?? ''}`);
      if (format.status !== 0) {
        const why = format.error?.message ?? lastErrorLine(this.logFile);
        throw new ServerStartError(
          `kafka storage format failed (${format.signal ? `signal ${format.signal}` : `exit ${format.status}`})${why ? `: ${why}` : ''}`,
          this.logFile,
        );
      }
    }
    return { command: java, args: [...jvm, 'kafka.Kafka', properties], cwd: this.home };
  }

  probe(): Promise<void> {
    return probeKafka(this.url(), this.config.kafka.sasl);
  }
}

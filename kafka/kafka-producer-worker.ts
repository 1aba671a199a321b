/**
 * Entry of the producer thread ({@link KafkaProducerThread}): one {@link KafkaProducer} built from
 * `workerData`, answering the collector thread's requests in order.
 */
import '../patches/kafkajs'; // before kafkajs: see the module
import { parentPort, workerData } from 'node:worker_threads';
import { KafkaProducer, type KafkaProducerConfig } from './kafka-producer';
import { type ProducerReply, type ProducerRequest, unpackBatch } from './kafka-producer-thread';

const port = parentPort;
if (!port) throw new Error('kafka-producer-worker runs in a worker thread');
const producer = new KafkaProducer(workerData as KafkaProducerConfig);

port.on('message', (req: ProducerRequest) => {
  const reply = (r: ProducerReply): void => port.postMessage(r);
  const done = (p: Promise<unknown>): void => {
    p.then(
      () => reply({ id: req.id, ok: true }),
      (err: unknown) => reply({ id: req.id, ok: false, error: (err as Error).message ?? String(err) }),
    );
  };
  switch (req.op) {
    case 'connect':
      return done(producer.connect());
    case 'send':
      void producer
        .send(unpackBatch(req.batch), req.epoch)
        .then((result) => reply({ id: req.id, ok: 'sent', result }));
      return;
    case 'reset':
      return done(producer.reset());
    case 'close':
      void producer.reset().finally(() => {
        reply({ id: req.id, ok: true });
        port.close();
      });
      return;
  }
});

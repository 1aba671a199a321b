import { EXIT_CODES, NettopoError } from '../common/errors';

/** Base error of the Kafka room. */
export class KafkaError extends NettopoError {}

/**
 * Kafka could not be reached or refused a batch. Retriable: the sink keeps the records in its
 * bounded buffer and tries again with back-off.
 */
export class KafkaUnavailableError extends KafkaError {
  static override readonly exitCode: number = EXIT_CODES.unreachable;
  static override readonly retriable: boolean = true;
}

/** The brokers refused the SASL credentials (or the TLS client certificate). */
export class KafkaAuthError extends KafkaError {
  static override readonly exitCode: number = EXIT_CODES.unauthorized;
}

/** A topic that does not exist on the brokers (and is not one this build creates). */
export class UnknownTopicError extends KafkaError {
  static override readonly exitCode: number = EXIT_CODES.usage;
}

/**
 * One line for what kafkajs threw while connecting to `brokers`: refused credentials, brokers out
 * of reach, or (anything else) the error itself.
 */
export function kafkaConnectError(err: unknown, brokers: string): NettopoError {
  if (err instanceof NettopoError) return err;
  const e = err as Error & { name?: string };
  let root: Error = e;
  while (root.cause instanceof Error) root = root.cause;
  const chain = [e, root];
  if (
    chain.some(
      (x) =>
        /SASLAuthentication|SaslAuthentication/.test(x.name ?? '') ||
        /SASL .*authentication failed/i.test(x.message),
    )
  )
    return new KafkaAuthError(
      `Kafka at ${brokers} refused the SASL credentials: ${root.message.replace(/^SASL \S+ authentication failed: /i, '')}`,
      { cause: err },
    );
  if (
    chain.some((x) => /Connection|NumberOfRetriesExceeded|BrokerNotFound|RequestTimeout/.test(x.name ?? ''))
  )
    return new KafkaUnavailableError(`Kafka at ${brokers} is not reachable: ${root.message}`, { cause: err });
  return new KafkaError(`Kafka at ${brokers}: ${e.message}`, { cause: err });
}

import type { IHeaders, KafkaMessage } from 'kafkajs';
import { ContractError } from './errors';
import type { DeadLetterV1, HeaderV1 } from './types.generated';

/** Where a failed message came from, as kafkajs' `eachMessage` payload gives it. */
export interface DeadLetterSource {
  topic: string;
  partition: number;
  message: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset'>;
}

function headerList(headers: IHeaders | undefined): HeaderV1[] {
  const out: HeaderV1[] = [];
  for (const [key, raw] of Object.entries(headers ?? {})) {
    for (const v of Array.isArray(raw) ? raw : [raw]) {
      out.push({ key, value: v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v) });
    }
  }
  return out;
}

/**
 * The dead-letter record of a message the ingest gives up on: the bytes and headers as received,
 * the error's `reason` (a `ContractErrorReason`, or `processing-failed` for any other error).
 */
export function toDeadLetter(
  source: DeadLetterSource,
  err: unknown,
  failedAt: number = Date.now(),
): DeadLetterV1 {
  return {
    sourceTopic: source.topic,
    partition: source.partition,
    offset: Number(source.message.offset),
    reason: err instanceof ContractError ? err.reason : 'processing-failed',
    detail: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    key: source.message.key ?? null,
    value: source.message.value ?? null,
    headers: headerList(source.message.headers),
    failedAt,
  };
}

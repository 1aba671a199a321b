import type { IHeaders } from 'kafkajs';
import { Codec, InvalidRecordError, isClusterKind, topicOf, type IngestKind } from '../../contract';
import type { ClusterMessage, DecodedMessage } from '../graph/decoded-message';
import type { ClusterKind } from '../../contract';

/** A Kafka message as the decoder needs it. */
export interface RawMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
  /** Broker timestamp, ms since the epoch as text (kafkajs' form). */
  timestamp?: string;
}

/** The outcome of validating one message: a record, or the error that sends it to the dead-letter topic. */
export type DecodeOutcome = { ok: true; message: DecodedMessage } | { ok: false; error: unknown };

const MAX_PORT = 65535;

/**
 * Validates messages: the contract's codec (schema header, fingerprint, Avro bytes, kind of the
 * topic), then the ingest's own checks (ports, addresses, counters). Never throws: every failure
 * is an outcome with the error (a ContractError with its `reason`).
 */
export class MessageDecoder {
  constructor(private readonly codec: Codec = new Codec()) {}

  decode(kind: IngestKind, m: RawMessage): DecodeOutcome {
    const offset = Number(m.offset);
    try {
      if (isClusterKind(kind)) return { ok: true, message: this.clusterMessage(kind, offset, m) };
      switch (kind) {
        case 'flow': {
          const flow = this.codec.decodeFlow(m.value, m.headers);
          if (
            flow.localPort > MAX_PORT ||
            flow.remotePort > MAX_PORT ||
            flow.localPort < 0 ||
            flow.remotePort < 0
          )
            throw new InvalidRecordError(
              'invalid-record',
              `flow ports out of range: ${flow.localPort}, ${flow.remotePort}`,
            );
          if (flow.bytesSent < 0 || flow.bytesReceived < 0 || flow.retransmits < 0)
            throw new InvalidRecordError('invalid-record', 'negative counter in a flow record');
          return { ok: true, message: { offset, kind, record: flow } };
        }
        default: {
          const { record } = this.codec.decode(m.value, m.headers, kind);
          return { ok: true, message: { offset, kind, record } as DecodedMessage };
        }
      }
    } catch (error) {
      return { ok: false, error };
    }
  }

  /** A cluster record, or a tombstone; its key must be the record's own (`cluster/uid`, `cluster/namespace/name`). */
  private clusterMessage(kind: ClusterKind, offset: number, m: RawMessage): ClusterMessage {
    const key = m.key?.toString('utf8') ?? '';
    if (!key) throw new InvalidRecordError('invalid-record', `a ${kind} message without a key`);
    const at = Number(m.timestamp ?? Date.now());
    if (m.value === null) return { offset, kind, key, record: null, at };
    const { record } = this.codec.decode(m.value, m.headers, kind);
    const own = (topicOf(kind).keyOf as (r: typeof record) => string)(record);
    if (own !== key)
      throw new InvalidRecordError(
        'invalid-record',
        `${kind} record keyed ${JSON.stringify(key)} describes ${own}`,
      );
    return { offset, kind, key, record: record as ClusterMessage['record'], at };
  }
}

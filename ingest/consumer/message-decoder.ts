import type { IHeaders } from 'kafkajs';
import { Codec, InvalidRecordError, type CollectorKind } from '../../contract';
import type { DecodedMessage } from '../graph/decoded-message';

/** A Kafka message as the decoder needs it. */
export interface RawMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
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

  decode(kind: CollectorKind, m: RawMessage): DecodeOutcome {
    const offset = Number(m.offset);
    try {
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
}

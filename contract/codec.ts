import type { Resolver } from 'avsc';
import type { IHeaders } from 'kafkajs';
import type { ContractSchema } from './contract-schema';
import type { FlowRecord } from './flow-record';
import { LastText, utf8Text } from '../common/last-text';
import { InvalidRecordError, MalformedRecordError, UnknownSchemaError } from './errors';
import { flowFromAvro } from './flow-conversion';
import { FLOW_READER_SCHEMA, FlowReadError, FlowReader } from './flow-reader';
import { SchemaCatalog } from './schema-catalog';
import { topicOf } from './topics';
import type { ContractRecords, FlowV1, RecordKind } from './types.generated';

/** Header naming the schema that wrote the message value: `<kind>.v<version>`, e.g. `flow.v1`. */
export const SCHEMA_HEADER = 'nettopo-schema';
/** Optional header: 16 hex characters of the SHA-256 of the writer schema's canonical form. */
export const FINGERPRINT_HEADER = 'nettopo-schema-fp';

/** Options of {@link Codec}. */
export interface CodecOptions {
  /**
   * The schemas to write and read with.
   * @defaultValue `SchemaCatalog.default()` (contract/schemas/)
   */
  catalog?: SchemaCatalog;
  /**
   * Whether `encode` adds the fingerprint header (about 36 bytes per message before batch
   * compression). `decode` always checks a fingerprint that is present.
   * @defaultValue `true`
   */
  fingerprint?: boolean;
}

/** An encoded message: the Avro binary value and the headers that name its schema. */
export interface EncodedMessage {
  value: Buffer;
  /** One shared, frozen object per schema: the same for every message of that schema. */
  headers: Readonly<Record<string, string>>;
}

/** A message ready for kafkajs' `producer.send({ topic, messages: [message] })`. */
export interface TopicMessage {
  topic: string;
  message: { key: string; value: Buffer; headers: Readonly<Record<string, string>> };
}

/** A decoded message: the writer schema's name and the record in the reader's (newest) shape. */
export type DecodedRecord = {
  [K in RecordKind]: { kind: K; schema: string; record: ContractRecords[K] };
}[RecordKind];

/**
 * Encodes records to Avro binary with the newest schema of their kind and decodes messages written
 * with any known version of a kind into the newest version's shape (older versions are read
 * through avsc's schema resolution). Every failure is a non-retriable {@link ContractError}
 * subclass carrying a `reason`; nothing else escapes.
 */
export class Codec {
  private readonly catalog: SchemaCatalog;
  private readonly withFingerprint: boolean;
  private readonly resolvers = new Map<string, Resolver>();
  private readonly headerSets = new Map<string, Readonly<Record<string, string>>>();
  private readonly flowReader = new FlowReader();
  /** The flow schema FlowReader reads, when it is this catalog's reader schema (else undefined: avsc). */
  private readonly flowReaderSchema: ContractSchema | undefined;
  /** The last value of each header read (every message of a stream carries the same ones). */
  private readonly headerTexts = new Map<string, LastText>();

  constructor(options: CodecOptions = {}) {
    this.catalog = options.catalog ?? SchemaCatalog.default();
    const flow = this.catalog.latest('flow');
    this.flowReaderSchema = flow?.fingerprint === FLOW_READER_SCHEMA.fingerprint ? flow : undefined;
    this.withFingerprint = options.fingerprint ?? true;
  }

  /** Encodes a record with the newest schema of its kind. */
  encode<K extends RecordKind>(kind: K, record: ContractRecords[K]): EncodedMessage {
    const schema = this.catalog.latest(kind);
    if (!schema) throw new UnknownSchemaError('unknown-schema', `no schema of kind ${kind}`);
    return this.write(schema, record);
  }

  /** Encodes a record for its topic, with the topic's message key. */
  message<K extends RecordKind>(kind: K, record: ContractRecords[K]): TopicMessage {
    const spec = topicOf(kind);
    let key: string;
    try {
      key = spec.keyOf(record);
    } catch (err) {
      throw new InvalidRecordError('invalid-record', `no ${kind} key: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return { topic: spec.topic, message: { key, ...this.encode(kind, record) } };
  }

  /** Encodes a record with a given schema version (tools, tests, a writer pinned to an older version). */
  encodeAs(schemaName: string, record: unknown): EncodedMessage {
    const schema = this.catalog.get(schemaName);
    if (!schema) throw new UnknownSchemaError('unknown-schema', `unknown schema ${schemaName}`);
    return this.write(schema, record);
  }

  /**
   * Decodes a message value given its headers (kafkajs' `message.headers`) into the newest
   * schema's shape. Records are avsc record instances: their own enumerable properties are the
   * schema's fields.
   * @param expectedKind - when given, a message of another kind is rejected (`wrong-kind`).
   */
  decode<K extends RecordKind>(
    value: Buffer | null | undefined,
    headers: IHeaders | undefined,
    expectedKind: K,
  ): { kind: K; schema: string; record: ContractRecords[K] };
  decode(value: Buffer | null | undefined, headers: IHeaders | undefined): DecodedRecord;
  decode(
    value: Buffer | null | undefined,
    headers: IHeaders | undefined,
    expectedKind?: RecordKind,
  ): DecodedRecord {
    const writer = this.writerOf(value, headers, expectedKind);
    return {
      kind: writer.kind,
      schema: writer.name,
      record: this.read(writer, value as Buffer),
    } as DecodedRecord;
  }

  /**
   * Decodes a flow message straight into the collector's FlowRecord: what
   * `flowFromAvro(decode(value, headers, 'flow').record)` gives, with the same errors. A message
   * written with the reader schema goes through {@link FlowReader} (no avsc record in between).
   */
  decodeFlow(value: Buffer | null | undefined, headers: IHeaders | undefined): FlowRecord {
    const writer = this.writerOf(value, headers, 'flow');
    if (writer !== this.flowReaderSchema) return flowFromAvro(this.read(writer, value as Buffer) as FlowV1);
    try {
      return this.flowReader.read(value as Buffer);
    } catch (err) {
      if (!(err instanceof FlowReadError)) throw err;
      throw this.malformed(writer.name, err);
    }
  }

  /** The schema that wrote a message, from its headers; throws what `decode` throws before decoding. */
  private writerOf(
    value: Buffer | null | undefined,
    headers: IHeaders | undefined,
    expectedKind: RecordKind | undefined,
  ): ContractSchema {
    const name = this.header(headers, SCHEMA_HEADER);
    if (name === undefined)
      throw new UnknownSchemaError('missing-header', `message has no ${SCHEMA_HEADER} header`);
    const writer = this.catalog.get(name);
    if (!writer) {
      throw new UnknownSchemaError(
        'unknown-schema',
        `message written with unknown schema ${JSON.stringify(name)}`,
        {
          schema: name,
        },
      );
    }
    if (expectedKind !== undefined && writer.kind !== expectedKind) {
      throw new UnknownSchemaError('wrong-kind', `expected a ${expectedKind} record, got ${name}`, {
        schema: name,
      });
    }
    const fingerprint = this.header(headers, FINGERPRINT_HEADER);
    if (fingerprint !== undefined && fingerprint !== writer.fingerprint) {
      throw new UnknownSchemaError(
        'fingerprint-mismatch',
        `message says ${name} with fingerprint ${fingerprint}, this build's ${name} is ${writer.fingerprint}`,
        { schema: name },
      );
    }
    if (value === null || value === undefined || value.length === 0) {
      throw new MalformedRecordError('no-value', `${name} message has no value (tombstone?)`, {
        schema: name,
      });
    }
    return writer;
  }

  /** A value in the reader schema's shape (avsc), written with `writer`. */
  private read(writer: ContractSchema, value: Buffer): unknown {
    const reader = this.catalog.latest(writer.kind) as ContractSchema;
    try {
      return reader === writer
        ? reader.type.fromBuffer(value)
        : reader.type.fromBuffer(value, this.resolver(writer));
    } catch (err) {
      throw this.malformed(writer.name, err);
    }
  }

  private malformed(name: string, err: unknown): MalformedRecordError {
    return new MalformedRecordError(
      'malformed-record',
      `${name} value does not decode: ${(err as Error).message}`,
      {
        schema: name,
        cause: err,
      },
    );
  }

  private write(schema: ContractSchema, record: unknown): EncodedMessage {
    let value: Buffer;
    try {
      value = schema.type.toBuffer(record);
    } catch (err) {
      throw new InvalidRecordError(
        'invalid-record',
        `record does not match ${schema.name}: ${this.explain(schema, record, err)}`,
        {
          schema: schema.name,
          cause: err,
        },
      );
    }
    return { value, headers: this.headersOf(schema) };
  }

  private headersOf(schema: ContractSchema): Readonly<Record<string, string>> {
    let headers = this.headerSets.get(schema.name);
    if (!headers) {
      const set: Record<string, string> = { [SCHEMA_HEADER]: schema.name };
      if (this.withFingerprint) set[FINGERPRINT_HEADER] = schema.fingerprint;
      this.headerSets.set(schema.name, (headers = Object.freeze(set)));
    }
    return headers;
  }

  /** Names the first offending field, which avsc's own message does not. */
  private explain(schema: ContractSchema, record: unknown, err: unknown): string {
    const problems: string[] = [];
    schema.type.isValid(record, {
      errorHook: (path: string[], val: unknown) => {
        problems.push(`${path.join('.') || '(record)'} = ${String(val)}`);
      },
    });
    return problems.length > 0 ? `invalid ${problems.join(', ')}` : (err as Error).message;
  }

  private resolver(writer: ContractSchema): Resolver {
    let resolver = this.resolvers.get(writer.name);
    if (!resolver) {
      // The catalog proved at construction that this resolver can be built.
      resolver = (this.catalog.latest(writer.kind) as ContractSchema).type.createResolver(writer.type);
      this.resolvers.set(writer.name, resolver);
    }
    return resolver;
  }

  /** A header's value as text; undefined when absent; repeated headers are refused. */
  private header(headers: IHeaders | undefined, key: string): string | undefined {
    const raw = headers?.[key];
    if (raw === undefined) return undefined;
    const one = Array.isArray(raw) ? (raw.length === 1 ? raw[0] : null) : raw;
    if (one === null)
      throw new UnknownSchemaError(
        'missing-header',
        `header ${key} is repeated ${(raw as unknown[]).length} times`,
      );
    if (typeof one === 'string') return one;
    let last = this.headerTexts.get(key);
    if (!last) this.headerTexts.set(key, (last = new LastText(64)));
    return last.get(one, 0, one.length, utf8Text);
  }
}

import type { Type } from 'avsc';

/** One version of one record kind: a parsed `.avsc` file of contract/schemas/. */
export interface ContractSchema {
  /** `<kind>.v<version>`, e.g. `flow.v1`; what the `nettopo-schema` header carries. */
  readonly name: string;
  /** Record kind, e.g. `flow`. */
  readonly kind: string;
  /** Schema version within the kind, from 1. */
  readonly version: number;
  /** The parsed avsc type (unions unwrapped). */
  readonly type: Type;
  /** First 8 bytes of the SHA-256 of the schema's canonical form, as 16 hex characters. */
  readonly fingerprint: string;
  /** The schema as JSON, as written in its file. */
  readonly definition: object;
}

/**
 * The kafkajs 2.2.4 fast paths, loaded before kafkajs sends or fetches (import this module first
 * wherever kafkajs may be loaded): for the producer, linear per-partition grouping and the
 * single-allocation record encoder; for the consumer, the record decoder without `Long`
 * arithmetic. Each module says what it replaces and why.
 */
import { linearGroupingApplied } from './linear-grouping';
import { fastRecordApplied } from './fast-record';
import { fastRecordDecoderApplied } from './fast-record-decoder';

/** Which of the patches took effect (false: kafkajs had loaded what they replace before them). */
export const kafkajsPatches = {
  linearGrouping: linearGroupingApplied,
  fastRecord: fastRecordApplied,
  fastRecordDecoder: fastRecordDecoderApplied,
};

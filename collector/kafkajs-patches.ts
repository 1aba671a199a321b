/**
 * The two kafkajs 2.2.4 fast paths of the producer, loaded before kafkajs (import this module
 * first wherever kafkajs' producer may be loaded): linear per-partition grouping and the
 * single-allocation record encoder. Each module says what it replaces and why.
 */
import { linearGroupingApplied } from './kafkajs-linear-grouping';
import { fastRecordApplied } from './kafkajs-fast-record';

/** Which of the patches took effect (false: kafkajs' producer was loaded before them). */
export const kafkajsPatches = { linearGrouping: linearGroupingApplied, fastRecord: fastRecordApplied };

/**
 * kafkajs 2.2.4 groups a produce call's messages per partition with
 * `Object.assign(result, { [partition]: [...current, message] })`: every message copies its
 * partition's array, so a batch of n messages to one partition (all flow records of a host share
 * the key hostId) costs n²/2 element copies — about 12 ms for 5,000 messages, 1.5 s for 20,000.
 * This module replaces that function (`kafkajs/src/producer/groupMessagesPerPartition.js`) in
 * Node's module cache with a linear one giving the same result (messages keep their order within a
 * partition, partitions keyed by number). It must be loaded before kafkajs itself, which binds the
 * function when its producer module loads: import it first. {@link linearGroupingApplied} says
 * whether it took effect.
 */
import { checkedVersion } from '../library-version';
import { kafkajsRequire } from './internals';

interface GroupArgs {
  topic: string;
  partitionMetadata: unknown[];
  messages: unknown[];
  partitioner: (args: { topic: string; partitionMetadata: unknown[]; message: unknown }) => number;
}

/** Same contract as kafkajs' own function, O(n). */
function groupMessagesPerPartition({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupArgs): Record<number, unknown[]> {
  const result: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

function apply(): boolean {
  if (!checkedVersion('kafkajs', 'linear grouping')) return false;
  try {
    const { req, local } = kafkajsRequire();
    const target = local.resolve('./src/producer/groupMessagesPerPartition');
    const sendMessages = local.resolve('./src/producer/sendMessages');
    if (req.cache[sendMessages]) return req.cache[target]?.exports === groupMessagesPerPartition;
    const original = local(target) as unknown;
    const cached = req.cache[target];
    if (typeof original !== 'function' || !cached) return false;
    cached.exports = groupMessagesPerPartition;
    return true;
  } catch {
    return false;
  }
}

/** Whether kafkajs' producer uses the linear grouping (false: kafkajs was loaded first). */
export const linearGroupingApplied: boolean = apply();

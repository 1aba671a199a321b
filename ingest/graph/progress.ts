/** Identity of one progress record. */
export interface ProgressKey {
  group: string;
  topic: string;
  partition: number;
}

/** What a transaction stores as the progress of one topic-partition. */
export interface SavedProgress {
  key: ProgressKey;
  /** The next offset to consume. */
  next: number;
  records: number;
  deadLetters: number;
}

/** `group/topic/partition`. */
export function progressId(k: ProgressKey): string {
  return `${k.group}/${k.topic}/${k.partition}`;
}

/** Progress of one topic-partition for one consumer group, as stored in the graph. */
export interface StoredProgress {
  /** The next offset to consume. */
  offset: number;
  records: number;
  deadLetters: number;
}

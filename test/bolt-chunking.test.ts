import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { BOLT_CHUNK_BUFFER_BYTES, driverChunking, installBoltChunking } from '../patches/neo4j-driver';
import { createGraphDriver } from '../graph-schema';

/** What the driver's chunker hands to its channel: a buffer view with a length and byte access. */
interface ChannelSlice {
  length: number;
  getUInt8(i: number): number;
}

interface TestChunker {
  putUInt8(position: number, value: number): void;
  messageBoundary(): void;
  flush(): void;
}

/** Frames messages with the driver's chunker class at a buffer size (its default when undefined). */
function frame(messages: Buffer[], bufferSize?: number): { writes: Buffer[]; bytes: Buffer } {
  const writes: Buffer[] = [];
  const channel = {
    write: (slice: ChannelSlice) => {
      const out = Buffer.alloc(slice.length);
      for (let i = 0; i < slice.length; i += 1) out[i] = slice.getUInt8(i);
      writes.push(out);
    },
  };
  const Chunker = driverChunking().Chunker;
  const chunker = new Chunker(channel, bufferSize) as TestChunker;
  for (const m of messages) {
    for (const byte of m) chunker.putUInt8(0, byte);
    chunker.messageBoundary();
  }
  chunker.flush();
  return { writes, bytes: Buffer.concat(writes) };
}

/** Bolt dechunking: `size (u16 BE), payload` chunks; a zero size ends a message. */
function dechunk(bytes: Buffer): { messages: Buffer[]; largestChunk: number } {
  const messages: Buffer[] = [];
  let parts: Buffer[] = [];
  let largestChunk = 0;
  for (let at = 0; at < bytes.length;) {
    const size = bytes.readUInt16BE(at);
    at += 2;
    if (size === 0) {
      messages.push(Buffer.concat(parts));
      parts = [];
      continue;
    }
    largestChunk = Math.max(largestChunk, size);
    parts.push(bytes.subarray(at, at + size));
    at += size;
  }
  assert.equal(parts.length, 0, 'bytes after the last message boundary');
  return { messages, largestChunk };
}

describe('Bolt chunking', () => {
  before(() => installBoltChunking());

  it('when messages are framed with the larger buffer, then they are the same messages as with the driver’s 1,400-byte buffer, in chunks of at most 65,535 bytes and far fewer writes', () => {
    const messages = [1, 1397, 1398, 1400, 1401, 65_535, 70_000, 200_000].map((n) => randomBytes(n));
    const driverDefault = frame(messages, 1400);
    const larger = frame(messages);
    const a = dechunk(driverDefault.bytes);
    const b = dechunk(larger.bytes);
    assert.deepEqual(a.messages, messages);
    assert.deepEqual(b.messages, messages);
    assert.ok(b.largestChunk <= 65_535 && b.largestChunk > 1400, `largest chunk ${b.largestChunk}`);
    assert.ok(
      larger.writes.length * 10 < driverDefault.writes.length,
      `${larger.writes.length} writes against ${driverDefault.writes.length}`,
    );
    assert.ok(larger.writes.every((w) => w.length <= BOLT_CHUNK_BUFFER_BYTES));
  });

  it('when installed, then a real Neo4j reads a 2 MB parameter intact', async () => {
    const driver = createGraphDriver();
    try {
      const text = randomBytes(1_000_000).toString('hex');
      const { records } = await driver.executeQuery(
        'RETURN size($text) AS n, substring($text, 1234567, 32) AS part',
        { text },
      );
      assert.equal(records[0].get('n').toNumber(), text.length);
      assert.equal(records[0].get('part'), text.slice(1_234_567, 1_234_567 + 32));
    } finally {
      await driver.close();
    }
  });
});

import { createRequire } from 'node:module';
import { checkedVersion } from '../library-version';

/*
 * neo4j-driver (5.28) frames each Bolt message into chunks through a 1,400-byte buffer and hands
 * every full buffer to the socket as its own write. One ingest transaction sends a few MB of
 * UNWIND parameters, so that is thousands of socket writes per transaction: about 8 % of the
 * ingest's CPU in the ingest bench. Bolt allows chunks of up to 65,535 bytes; this gives the
 * driver's chunker a 32 KiB buffer, so the same messages go out in chunks about 23 times larger
 * and as many times fewer writes. The bytes of every message are unchanged (only where chunk
 * boundaries fall, which the protocol leaves to the sender), see test/bolt-chunking.test.ts.
 *
 * The driver constructs its chunker as `new channel.Chunker(socketChannel)` when a connection
 * opens, reading the class from the `chunking` module's exports each time: replacing that export
 * with a subclass whose default size is larger is enough, and affects connections opened after.
 */

/** Bytes of the chunker's buffer: chunk header (2) plus payload, at most 2 + 65,535. */
export const BOLT_CHUNK_BUFFER_BYTES = 32 * 1024;

interface ChunkingModule {
  Chunker: new (channel: unknown, bufferSize?: number) => object;
}

const patched = Symbol.for('nettopo.boltChunking');

/** The driver's own `chunking` module (the one its connections use). */
export function driverChunking(): ChunkingModule {
  const driver = createRequire(require.resolve('neo4j-driver'));
  return driver('neo4j-driver-bolt-connection/lib/channel/chunking.js') as ChunkingModule;
}

/** Installs the larger chunk buffer (idempotent) and says whether it is in effect; call before the first connection opens. */
export function installBoltChunking(bufferBytes = BOLT_CHUNK_BUFFER_BYTES): boolean {
  if (!checkedVersion('neo4j-driver', '32 KiB Bolt chunks')) return false;
  const chunking = driverChunking() as ChunkingModule & { [patched]?: true };
  if (chunking[patched]) return true;
  const Original = chunking.Chunker;
  class LargerChunker extends Original {
    constructor(channel: unknown, bufferSize?: number) {
      super(channel, bufferSize ?? bufferBytes);
    }
  }
  chunking.Chunker = LargerChunker;
  chunking[patched] = true;
  return true;
}

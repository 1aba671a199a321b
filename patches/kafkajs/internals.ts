import { createRequire } from 'node:module';

/**
 * `req` shares Node's module cache with this package; `local` resolves and loads kafkajs' own
 * internal modules (`./src/...`) — what the kafkajs patches replace in that cache.
 */
export function kafkajsRequire(): { req: NodeRequire; local: NodeRequire } {
  const req = createRequire(__filename);
  return { req, local: createRequire(req.resolve('kafkajs')) };
}

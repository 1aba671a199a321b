import { NativeCollector, NativeFlow, decodeFlows } from '../../collector';

/**
 * Accumulates what readFlows() returns (closed flows are deleted after one read, so every read
 * is kept), and waits, bounded, until a wanted flow shows up.
 */
export class FlowStore {
  private readonly flows = new Map<number, NativeFlow>();

  constructor(private readonly collector: NativeCollector) {}

  read(): NativeFlow[] {
    for (const f of decodeFlows(this.collector.readFlows())) this.flows.set(f.cookie, f);
    return [...this.flows.values()];
  }

  async waitFor(what: string, match: (f: NativeFlow) => boolean, timeoutMs = 5000): Promise<NativeFlow> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.read().find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no flow ${what} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * A `before` hook for tests that load eBPF programs: skips them, saying why, when not root.
 * Use as `before(skipUnlessRoot)`.
 */
export function skipUnlessRoot(this: Mocha.Context): void {
  if (process.geteuid?.() === 0) return;
  console.log('    skipped: needs root (loads eBPF programs)');
  this.skip();
}

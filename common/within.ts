/**
 * Waits for `promise` at most `ms`, then settles with `fallback`. The timer is cleared as soon as either side
 * settles, so a bounded wait never keeps the process alive after the work it waited for is done.
 */
export async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

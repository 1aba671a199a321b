import { Counter, Gauge, type Registry } from 'prom-client';

/** Label values and a number: one sample of a metric read at scrape time. */
export type Sample = [labels: Record<string, string>, value: number];

/**
 * A counter whose value is read from the component at each scrape (the component keeps its own
 * totals; nothing is counted twice). `read` returns the current totals, one per label set.
 */
export function pulledCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => Sample[] | number,
  labelNames: string[] = [],
): Counter {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      const samples = read();
      this.reset();
      for (const [labels, value] of typeof samples === 'number' ? [[{}, samples] as Sample] : samples)
        if (Number.isFinite(value) && value >= 0) this.inc(labels, value);
    },
  });
}

/** A gauge read at each scrape; `read` may be async (a lag query). */
export function pulledGauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => Promise<Sample[] | number> | Sample[] | number,
  labelNames: string[] = [],
): Gauge {
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const samples = await read();
      this.reset();
      for (const [labels, value] of typeof samples === 'number' ? [[{}, samples] as Sample] : samples)
        if (Number.isFinite(value)) this.set(labels, value);
    },
  });
}

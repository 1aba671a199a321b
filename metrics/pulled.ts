import { Counter, Gauge, type Registry } from 'prom-client';

/** Label values and a number: one sample of a metric read at scrape time. */
export type Sample = [labels: Record<string, string>, value: number];

type Read = () => Promise<Sample[] | number> | Sample[] | number;

/** What `read` returned, as samples with finite values. */
async function samplesOf(read: Read): Promise<Sample[]> {
  const samples = await read();
  return (typeof samples === 'number' ? [[{}, samples] as Sample] : samples).filter(([, v]) =>
    Number.isFinite(v),
  );
}

/**
 * A counter whose value is read from the component at each scrape (the component keeps its own
 * totals; nothing is counted twice). `read` returns the current totals, one per label set.
 */
export function pulledCounter(
  registry: Registry,
  name: string,
  help: string,
  read: Read,
  labelNames: string[] = [],
): Counter {
  return pulled(
    Counter,
    { name, help, labelNames, registers: [registry] },
    read,
    (m, labels, v) => v >= 0 && m.inc(labels, v),
  );
}

/** A gauge read at each scrape; `read` may be async (a lag query). */
export function pulledGauge(
  registry: Registry,
  name: string,
  help: string,
  read: Read,
  labelNames: string[] = [],
): Gauge {
  return pulled(Gauge, { name, help, labelNames, registers: [registry] }, read, (m, labels, v) =>
    m.set(labels, v),
  );
}

/** A metric of class `Kind` whose values are replaced by `read`'s at each scrape. */
function pulled<M extends Counter | Gauge>(
  Kind: new (config: {
    name: string;
    help: string;
    labelNames: string[];
    registers: Registry[];
    collect(): Promise<void>;
  }) => M,
  config: { name: string; help: string; labelNames: string[]; registers: Registry[] },
  read: Read,
  put: (metric: M, labels: Record<string, string>, value: number) => unknown,
): M {
  const metric: M = new Kind({
    ...config,
    async collect() {
      const samples = await samplesOf(read);
      metric.reset();
      for (const [labels, value] of samples) put(metric, labels, value);
    },
  });
  return metric;
}

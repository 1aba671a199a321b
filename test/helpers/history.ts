import neo4j, { type Driver } from 'neo4j-driver';
import { emptyDelta, type EdgeDelta, type HistoryWriter } from '../../ingest';

/** An edge delta with every figure 0 but those given (host level, port 8080, tcp unless told). */
export function edgeDelta(d: Partial<EdgeDelta> & Pick<EdgeDelta, 'fromKey' | 'toKey'>): EdgeDelta {
  const e = emptyDelta({
    level: 'host',
    fromLabel: 'Host',
    toLabel: 'Host',
    port: 8080,
    protocol: 'tcp',
    ...d,
  });
  return { ...e, ...d };
}

/** Records deltas in one write transaction, as the ingest would. */
export async function recordDeltas(
  driver: Driver,
  writer: HistoryWriter,
  deltas: EdgeDelta[],
): Promise<void> {
  const session = driver.session({ defaultAccessMode: neo4j.session.WRITE });
  try {
    await session.executeWrite((tx) => writer.recordEdges(tx, deltas));
  } finally {
    await session.close();
  }
}

import neo4j, { type Driver } from 'neo4j-driver';
import type { EdgeDelta, HistoryWriter } from '../../ingest';

/** An edge delta with every figure 0 but those given (host level, port 8080, tcp unless told). */
export function edgeDelta(d: Partial<EdgeDelta> & Pick<EdgeDelta, 'fromKey' | 'toKey'>): EdgeDelta {
  return {
    level: 'host',
    fromLabel: 'Host',
    toLabel: 'Host',
    port: 8080,
    protocol: 'tcp',
    connections: 0,
    failedConnects: 0,
    bytesToServer: 0,
    bytesToClient: 0,
    retransmits: 0,
    connectLatencyUsSum: 0,
    connectLatencyCount: 0,
    srttUs: null,
    firstSeen: null,
    lastSeen: null,
    open: 0,
    ...d,
  };
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

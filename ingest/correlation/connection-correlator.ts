import type { FlowRecord } from '../../contract/flow-record';
import { isLoopback, isWildcard, processKey, type Side } from './address';
import type {
  AddressOwner,
  Contribution,
  ConnectionState,
  EdgeDelta,
  EdgeLevel,
  EdgeRef,
  Endpoint,
  EndSlot,
  ListenerHit,
  ListenerKey,
  ResolutionFacts,
} from './connection-model';

const LEVELS: EdgeLevel[] = ['process', 'container', 'pod', 'host'];
const other = (s: Side): Side => (s === 'a' ? 'b' : 'a');

/** A delta of one edge that changes nothing yet. */
export function emptyDelta(e: EdgeRef): EdgeDelta {
  return {
    ...e,
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
  };
}

/** Whether a connection is open: every end seen is (a closed or failed end ends it). */
export function isOpen(ends: { a?: EndSlot; b?: EndSlot }): boolean {
  return [ends.a, ends.b].every((s) => s === undefined || s.state === 'open');
}

/** The flow key of a record: host id, run id and socket cookie. */
export function flowKeyOf(r: FlowRecord): string {
  return `${r.hostId}/${r.runId}/${r.cookie}`;
}

function slotFrom(r: FlowRecord, base: EndSlot['base']): EndSlot {
  return {
    flowKey: flowKeyOf(r),
    seq: r.seq,
    observedAt: r.observedAt,
    hostId: r.hostId,
    netns: r.netns,
    role: r.role,
    state: r.state,
    localAddr: r.localAddr,
    localPort: r.localPort,
    remoteAddr: r.remoteAddr,
    remotePort: r.remotePort,
    pid: r.pid,
    startTime: r.processStartTime,
    comm: r.comm === '' ? null : r.comm,
    containerId: r.containerId,
    containerRuntime: r.containerRuntime,
    podUid: r.podUid,
    sent: r.bytesSent,
    recv: r.bytesReceived,
    retrans: r.retransmits,
    srttUs: r.srttUs,
    connectLatencyUs: r.connectLatencyUs,
    openedAt: r.openedAt,
    closedAt: r.closedAt,
    base,
  };
}

const ZERO_BASE: EndSlot['base'] = { sent: 0, recv: 0, retrans: 0, ok: 0, fail: 0, latSum: 0, latCount: 0 };

/**
 * The pure part of the ingest: applies flow records to connection states and turns the states
 * into edge contributions. No I/O: the graph writer reads the states and facts, this class
 * computes, the writer writes.
 *
 * Rules (graph-schema/README.md, "Correlation"):
 * - A record updates its end's slot only if it is newer: same flow → higher `seq`; another flow on
 *   the same end and 4-tuple → later `observedAt` (then the old flow's totals move into `base`;
 *   it counts as a new connection unless the new flow is `preexisting`, i.e. a collector restart).
 *   A replayed or older record changes nothing.
 * - Bytes, connection counts and connect latency come from the client end when it was seen, else
 *   from the server end (bytes swapped): one connection seen from both ends is counted once, and the
 *   result does not depend on which end arrived first. Retransmits are the sum of both ends
 *   (each end retransmits its own segments).
 * - Each edge receives `new contribution − applied contribution`, so a connection whose endpoint
 *   resolution improves (server end or listener seen later) moves from the old edge to the new one.
 */
export class ConnectionCorrelator {
  /** Applies one record to a state; returns false when the record is stale (nothing changed). */
  apply(state: ConnectionState, side: Side, r: FlowRecord): boolean {
    const slot = state[side];
    if (!slot) {
      state[side] = slotFrom(r, { ...ZERO_BASE });
      return true;
    }
    if (slot.flowKey === flowKeyOf(r)) {
      if (r.seq <= slot.seq) return false;
      state[side] = slotFrom(r, slot.base);
      return true;
    }
    if (r.observedAt <= slot.observedAt) return false;
    const failed = slot.state === 'failed';
    const base: EndSlot['base'] = {
      sent: slot.base.sent + slot.sent,
      recv: slot.base.recv + slot.recv,
      retrans: slot.base.retrans + slot.retrans,
      ok: slot.base.ok + (r.preexisting || failed ? 0 : 1),
      fail: slot.base.fail + (r.preexisting || !failed ? 0 : 1),
      latSum: slot.base.latSum + (slot.connectLatencyUs ?? 0),
      latCount: slot.base.latCount + (slot.connectLatencyUs === null ? 0 : 1),
    };
    state[side] = slotFrom(r, base);
    return true;
  }

  /** Which side is the client: the ends' own roles, else listeners, else the lower port is the server. */
  clientSide(state: ConnectionState, facts: ResolutionFacts): Side {
    for (const s of ['a', 'b'] as Side[]) {
      const slot = state[s];
      if (slot?.role === 'client') return s;
      if (slot?.role === 'server') return other(s);
    }
    for (const s of ['a', 'b'] as Side[]) {
      const slot = state[s];
      if (!slot) continue;
      if (this.listenerFor({ hostId: slot.hostId, netns: slot.netns }, slot.localAddr, slot.localPort, facts))
        return other(s);
      const owner = this.ownerOf(slot.remoteAddr, slot.remotePort, slot, facts);
      if (owner && this.listenerFor(owner, slot.remoteAddr, slot.remotePort, facts)) return s;
    }
    const any = (state.a ?? state.b) as EndSlot;
    const sideOfAny: Side = state.a ? 'a' : 'b';
    // The lower port is taken for the server's; on a tie, side a is the client.
    if (any.localPort < any.remotePort) return other(sideOfAny);
    if (any.localPort > any.remotePort) return sideOfAny;
    return 'a';
  }

  /**
   * The namespace owning an address, seen from an end: loopback stays home; else, among several,
   * those with a listener on the port when the address is a server's (`serverPort`), then the
   * same host first.
   */
  ownerOf(
    addr: string,
    port: number,
    from: { hostId: string; netns: number },
    facts: ResolutionFacts,
    serverPort = true,
  ): AddressOwner | undefined {
    if (isLoopback(addr)) return { hostId: from.hostId, netns: from.netns };
    const candidates = [...(facts.owners.get(addr) ?? [])].sort((x, y) =>
      x.hostId === y.hostId ? x.netns - y.netns : x.hostId < y.hostId ? -1 : 1,
    );
    if (candidates.length <= 1) return candidates[0];
    // A client's port is ephemeral: nobody listens there, so listeners cannot tell its owners apart.
    const withListener = serverPort ? candidates.filter((c) => this.listenerFor(c, addr, port, facts)) : [];
    const pool = withListener.length > 0 ? withListener : candidates;
    return pool.find((c) => c.hostId === from.hostId) ?? pool[0];
  }

  /**
   * The (host, netns, port) keys whose listeners {@link ConnectionCorrelator.contribution} and
   * {@link ConnectionCorrelator.endpoints} may consult for this state, given the address owners.
   * Listeners decide the direction only when no end knows its role, and resolve a far end only
   * when that end was not seen and is the server (its process, and which of several namespaces
   * owning its address); a batch reads just these instead of every end's ports. (Asking for the
   * listeners of every client port when an address has several owners, as this once did, read
   * one key per connection.)
   */
  listenerKeys(state: ConnectionState, owners: ResolutionFacts['owners']): ListenerKey[] {
    const out: ListenerKey[] = [];
    const slots = (['a', 'b'] as Side[]).filter((s) => state[s] !== undefined);
    const roleKnown = slots.some((s) => state[s]?.role !== 'unknown');
    const client = roleKnown ? this.clientSide(state, { owners, listeners: new Map() }) : undefined;
    for (const side of slots) {
      const slot = state[side] as EndSlot;
      if (!roleKnown) out.push({ hostId: slot.hostId, netns: slot.netns, port: slot.localPort });
      const candidates: AddressOwner[] = isLoopback(slot.remoteAddr)
        ? [{ hostId: slot.hostId, netns: slot.netns }]
        : (owners.get(slot.remoteAddr) ?? []);
      const farEndUnseen = state[other(side)] === undefined;
      if (!roleKnown || (farEndUnseen && client === side))
        for (const o of candidates) out.push({ hostId: o.hostId, netns: o.netns, port: slot.remotePort });
    }
    return out;
  }

  /** The listener accepting addr:port in a namespace (exact bind or wildcard). */
  listenerFor(
    owner: AddressOwner,
    addr: string,
    port: number,
    facts: ResolutionFacts,
  ): ListenerHit | undefined {
    const id = `${owner.hostId}/${owner.netns}/${port}`;
    if (facts.read && !facts.read.has(id))
      throw new Error(`ingest bug: listeners of ${id} consulted but not read (listenerKeys)`);
    const hits = facts.listeners.get(id) ?? [];
    const exact = hits.find((h) => h.addr === addr);
    if (exact) return exact;
    const v4 = !addr.includes(':') || addr.startsWith('::ffff:');
    return hits.find((h) => isWildcard(h.addr) && (h.addr === '::' || v4));
  }

  /** The endpoints and figures a connection adds to the graph now. */
  contribution(state: ConnectionState, facts: ResolutionFacts): Contribution {
    const cs = this.clientSide(state, facts);
    const c = state[cs];
    const s = state[other(cs)];
    const client = c
      ? this.processEndpoint(c)
      : this.peerEndpoint(s as EndSlot, (s as EndSlot).remoteAddr, (s as EndSlot).remotePort, facts, false);
    const server = s
      ? this.processEndpoint(s)
      : this.peerEndpoint(c as EndSlot, c!.remoteAddr, c!.remotePort, facts, true);
    const port = s ? s.localPort : c!.remotePort;
    const owner = c ?? (s as EndSlot);
    const countedFrom = c
      ? {
          ok: c.base.ok + (c.state === 'failed' ? 0 : 1),
          fail: c.base.fail + (c.state === 'failed' ? 1 : 0),
          toServer: c.base.sent + c.sent,
          toClient: c.base.recv + c.recv,
          latSum: c.base.latSum + (c.connectLatencyUs ?? 0),
          latCount: c.base.latCount + (c.connectLatencyUs === null ? 0 : 1),
        }
      : {
          ok: owner.base.ok + (owner.state === 'failed' ? 0 : 1),
          fail: owner.base.fail + (owner.state === 'failed' ? 1 : 0),
          toServer: owner.base.recv + owner.recv,
          toClient: owner.base.sent + owner.sent,
          latSum: owner.base.latSum,
          latCount: owner.base.latCount,
        };
    const slots = [c, s].filter((x): x is EndSlot => x !== undefined);
    return {
      edges: this.edges(client, server, port),
      connections: countedFrom.ok,
      failedConnects: countedFrom.fail,
      bytesToServer: countedFrom.toServer,
      bytesToClient: countedFrom.toClient,
      retransmits: slots.reduce((n, x) => n + x.base.retrans + x.retrans, 0),
      connectLatencyUsSum: countedFrom.latSum,
      connectLatencyCount: countedFrom.latCount,
      srttUs: (c?.srttUs || s?.srttUs) ?? null,
      firstSeen: Math.min(...slots.map((x) => x.openedAt)),
      lastSeen: Math.max(...slots.map((x) => x.closedAt ?? x.observedAt)),
      open: isOpen(state),
    };
  }

  /** Adds `next − previous` of one connection to the per-edge deltas of a batch. */
  accumulate(deltas: Map<string, EdgeDelta>, previous: Contribution | undefined, next: Contribution): void {
    if (previous) for (const e of previous.edges) this.add(deltas, e, previous, -1);
    for (const e of next.edges) this.add(deltas, e, next, 1);
  }

  /** The endpoints' processes, every endpoint in a contribution (to upsert before the edges). */
  endpoints(state: ConnectionState, facts: ResolutionFacts): Endpoint[] {
    const cs = this.clientSide(state, facts);
    const c = state[cs];
    const s = state[other(cs)];
    return [
      c ? this.processEndpoint(c) : this.peerEndpoint(s!, s!.remoteAddr, s!.remotePort, facts, false),
      s ? this.processEndpoint(s) : this.peerEndpoint(c!, c!.remoteAddr, c!.remotePort, facts, true),
    ];
  }

  private add(deltas: Map<string, EdgeDelta>, e: EdgeRef, k: Contribution, sign: 1 | -1): void {
    const id = `${e.level}|${e.fromLabel}|${e.fromKey}|${e.toLabel}|${e.toKey}|${e.port}|${e.protocol}`;
    let d = deltas.get(id);
    if (!d) {
      d = emptyDelta(e);
      deltas.set(id, d);
    }
    d.connections += sign * k.connections;
    d.failedConnects += sign * k.failedConnects;
    d.bytesToServer += sign * k.bytesToServer;
    d.bytesToClient += sign * k.bytesToClient;
    d.retransmits += sign * k.retransmits;
    d.connectLatencyUsSum += sign * k.connectLatencyUsSum;
    d.connectLatencyCount += sign * k.connectLatencyCount;
    if (k.open) d.open += sign;
    if (sign === 1) {
      if (k.srttUs !== null && (d.lastSeen === null || k.lastSeen >= d.lastSeen)) d.srttUs = k.srttUs;
      d.firstSeen = d.firstSeen === null ? k.firstSeen : Math.min(d.firstSeen, k.firstSeen);
      d.lastSeen = d.lastSeen === null ? k.lastSeen : Math.max(d.lastSeen, k.lastSeen);
    }
  }

  private processEndpoint(slot: EndSlot): Endpoint {
    const known = slot.pid !== 0;
    return {
      kind: 'process',
      key: processKey(slot.hostId, known ? slot.pid : 0, known ? slot.startTime : 0),
      hostId: slot.hostId,
      pid: known ? slot.pid : 0,
      startTime: known ? slot.startTime : 0,
      comm: known ? slot.comm : null,
      containerId: slot.containerId,
      containerRuntime: slot.containerRuntime,
      podUid: slot.podUid,
    };
  }

  /** The far end of a one-sided connection: a listener's process, an unattributed process of a monitored host, or an external endpoint. */
  private peerEndpoint(
    seenFrom: EndSlot,
    addr: string,
    port: number,
    facts: ResolutionFacts,
    isServer: boolean,
  ): Endpoint {
    const owner = this.ownerOf(addr, port, seenFrom, facts, isServer);
    if (!owner) return { kind: 'external', ip: addr };
    const l = isServer ? this.listenerFor(owner, addr, port, facts) : undefined;
    if (l && l.pid !== 0) {
      return {
        kind: 'process',
        key: processKey(owner.hostId, l.pid, l.startTime),
        hostId: owner.hostId,
        pid: l.pid,
        startTime: l.startTime,
        comm: l.comm,
        containerId: l.containerId,
        containerRuntime: l.containerRuntime,
        podUid: l.podUid,
      };
    }
    return {
      kind: 'process',
      key: processKey(owner.hostId, 0, 0),
      hostId: owner.hostId,
      pid: 0,
      startTime: 0,
      comm: null,
      containerId: null,
      containerRuntime: null,
      podUid: null,
    };
  }

  private levelNode(ep: Endpoint, level: EdgeLevel): { label: string; key: string } | undefined {
    if (ep.kind === 'external') return { label: 'ExternalEndpoint', key: ep.ip };
    switch (level) {
      case 'process':
        return { label: 'Process', key: ep.key };
      case 'container':
        return ep.containerId ? { label: 'Container', key: ep.containerId } : undefined;
      case 'pod':
        return ep.podUid ? { label: 'Pod', key: ep.podUid } : undefined;
      case 'host':
        return { label: 'Host', key: ep.hostId };
    }
  }

  private edges(client: Endpoint, server: Endpoint, port: number): EdgeRef[] {
    const out: EdgeRef[] = [];
    for (const level of LEVELS) {
      const from = this.levelNode(client, level);
      const to = this.levelNode(server, level);
      if (!from || !to) continue;
      out.push({
        level,
        fromLabel: from.label,
        fromKey: from.key,
        toLabel: to.label,
        toKey: to.key,
        port,
        protocol: 'tcp',
      });
    }
    return out;
  }
}

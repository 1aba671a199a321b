import { strict as assert } from 'node:assert';
import type { FlowRecord } from '../contract/flow-record';
import {
  ConnectionCorrelator,
  connectionKey,
  decodeContribution,
  decodeSlot,
  encodeContribution,
  encodeSlot,
  type ConnectionState,
  type ResolutionFacts,
} from '../ingest';

const hostA = 'a'.repeat(32);
const hostB = 'b'.repeat(32);

function flow(f: Partial<FlowRecord>): FlowRecord {
  return {
    hostId: hostA,
    runId: '00000000-0000-4000-8000-000000000001',
    seq: 1,
    cookie: 42,
    netns: 4026531840,
    role: 'client',
    state: 'open',
    family: 4,
    localAddr: '198.18.7.1',
    localPort: 40000,
    remoteAddr: '198.18.7.2',
    remotePort: 8080,
    pid: 100,
    processStartTime: 1_700_000_000_000,
    comm: 'client',
    cgroupId: 0,
    containerId: 'c'.repeat(64),
    containerRuntime: 'containerd',
    podUid: '00000000-0000-4000-8000-00000000000f',
    bytesSent: 10,
    bytesReceived: 2_000_000_000_123,
    retransmits: 1,
    srttUs: 250,
    connectLatencyUs: null,
    openedAt: 1_700_000_001_000,
    closedAt: null,
    observedAt: 1_700_000_002_000,
    preexisting: false,
    ...f,
  };
}

/** Facts of host B owning 198.18.7.2 with a listener on 8080. */
const facts: ResolutionFacts = {
  owners: new Map([['198.18.7.2', [{ hostId: hostB, netns: 1 }]]]),
  listeners: new Map([
    [
      `${hostB}/1/8080`,
      [
        {
          addr: '0.0.0.0',
          pid: 7,
          startTime: 5,
          comm: 'server',
          containerId: null,
          containerRuntime: null,
          podUid: null,
        },
      ],
    ],
  ]),
};

function stateOf(records: FlowRecord[]): ConnectionState {
  const c = new ConnectionCorrelator();
  const state: ConnectionState = { key: connectionKey(records[0]).key };
  for (const r of records) c.apply(state, connectionKey(r).side, r);
  return state;
}

/** The server end (host B, 198.18.7.2:8080) of the connection of `flow()`, seen alone. */
function serverEndOnly(): ConnectionState {
  return stateOf([
    flow({
      hostId: hostB,
      role: 'server',
      localAddr: '198.18.7.2',
      localPort: 8080,
      remoteAddr: '198.18.7.1',
      remotePort: 40000,
    }),
  ]);
}

describe('ingest: connection state', () => {
  it('when a state is stored and read back, then every slot and contribution field is the same', () => {
    const c = new ConnectionCorrelator();
    const state = stateOf([flow({}), flow({ seq: 2, cookie: 43, observedAt: 1_700_000_003_000 })]);
    const slot = state.a ?? state.b;
    assert.ok(slot);
    assert.deepEqual(decodeSlot(encodeSlot(slot)), slot);
    const foreignHost = { ...slot, hostId: hostB };
    assert.deepEqual(decodeSlot(encodeSlot(foreignHost)), foreignHost);
    const k = c.contribution(state, facts);
    assert.equal(k.edges.length, 2);
    assert.deepEqual(decodeContribution(encodeContribution(k)), k);
    assert.ok(encodeSlot(slot).length < JSON.stringify(slot).length * 0.7);
  });

  it('when a state was stored as keyed JSON objects by an earlier version, then it is still read', () => {
    const state = stateOf([flow({})]);
    const slot = (state.a ?? state.b)!;
    const k = new ConnectionCorrelator().contribution(state, facts);
    assert.deepEqual(decodeSlot(JSON.stringify(slot)), slot);
    assert.deepEqual(decodeContribution(JSON.stringify(k)), k);
  });

  it('when no end knows its role, then the listeners of both local and remote ports are read; when the client end is seen alone, then only its server port', () => {
    const c = new ConnectionCorrelator();
    const unknown = stateOf([flow({ role: 'unknown' })]);
    const keys = c.listenerKeys(unknown, facts.owners).map((k) => `${k.hostId}/${k.netns}/${k.port}`);
    assert.deepEqual(keys.sort(), [`${hostA}/4026531840/40000`, `${hostB}/1/8080`].sort());
    const read = new Set(keys);
    // Every listener the correlator consults was read (it throws otherwise).
    c.contribution(unknown, { ...facts, read });
    c.endpoints(unknown, { ...facts, read });

    const client = stateOf([flow({})]);
    const clientKeys = c.listenerKeys(client, facts.owners).map((k) => `${k.hostId}/${k.netns}/${k.port}`);
    assert.deepEqual(clientKeys, [`${hostB}/1/8080`]);
    const server = c.endpoints(client, { ...facts, read: new Set(clientKeys) })[1];
    assert.equal(server.kind === 'process' && server.comm, 'server');

    const serverOnly = serverEndOnly();
    assert.deepEqual(c.listenerKeys(serverOnly, facts.owners), []);
    assert.throws(() =>
      c.listenerFor({ hostId: hostB, netns: 1 }, '0.0.0.0', 8080, { ...facts, read: new Set() }),
    );
  });

  it('when the client address is owned by several namespaces and only the server end is seen, then no client-port listener is read and the client resolves to the same host first', () => {
    const c = new ConnectionCorrelator();
    // 198.18.7.1 (the client) is an address of two namespaces: host A's and one on host B.
    const shared: ResolutionFacts = {
      ...facts,
      owners: new Map([
        ...facts.owners,
        [
          '198.18.7.1',
          [
            { hostId: hostA, netns: 4026531840 },
            { hostId: hostB, netns: 9 },
          ],
        ],
      ]),
    };
    const serverOnly = serverEndOnly();
    // One key per connection (the client's ephemeral port) is what made a batch read thousands.
    assert.deepEqual(c.listenerKeys(serverOnly, shared.owners), []);
    const [client] = c.endpoints(serverOnly, { ...shared, read: new Set() });
    assert.equal(client.kind === 'process' && client.key, `${hostB}/0/0`);

    // Seen from the client, the server address's owners are still told apart by their listeners.
    const clientOnly = stateOf([flow({})]);
    const keys = c.listenerKeys(clientOnly, shared.owners).map((k) => `${k.hostId}/${k.netns}/${k.port}`);
    assert.deepEqual(keys, [`${hostB}/1/8080`]);
  });
});

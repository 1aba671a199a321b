// Realistic sample records for the contract tests and the bench (not a test file itself).
import type { FlowRecord } from '../contract/flow-record';
import type { ContractRecords, EdgeFiguresV1, RecordKind } from '../contract';
import { flowToAvro, machineIdToBytes, uuidToBytes } from '../contract';

export const HOST_ID = '4c4c4544004d3510804bb4c04f4a4d32';
export const RUN_ID = '0f8e7a52-3c1d-4e2b-9a6f-1b2c3d4e5f60';
export const CONTAINER_ID = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
export const POD_UID = '7b1e4c2a-5d3f-4a8b-9c0d-e1f2a3b4c5d6';

/** A long-lived IPv6 connection of a containerised process in a pod, with counters above 2^32. */
export function containerFlow(overrides: Partial<FlowRecord> = {}): FlowRecord {
  return {
    hostId: HOST_ID,
    runId: RUN_ID,
    seq: 184_467,
    cookie: 3_221_225_473,
    netns: 4_026_532_281,
    role: 'client',
    state: 'open',
    family: 6,
    localAddr: '2001:db8:85a3::8a2e:370:7334',
    localPort: 51_234,
    remoteAddr: 'fd00:10:96::a',
    remotePort: 443,
    pid: 48_213,
    processStartTime: 1_764_000_000_123,
    comm: 'envoy',
    cgroupId: 74_219,
    containerId: CONTAINER_ID,
    containerRuntime: 'containerd',
    podUid: POD_UID,
    bytesSent: 2 ** 40 + 12_345,
    bytesReceived: 2 ** 35 + 7,
    retransmits: 4_294_967_301,
    srttUs: 2_450,
    connectLatencyUs: 812,
    openedAt: 1_764_000_100_456,
    closedAt: null,
    observedAt: 1_764_003_700_789,
    preexisting: false,
    ...overrides,
  };
}

/** A connection that predates the collector, of a host process, on IPv4: many unknowns. */
export function hostFlow(overrides: Partial<FlowRecord> = {}): FlowRecord {
  return {
    hostId: HOST_ID,
    runId: RUN_ID,
    seq: 12,
    cookie: 8_193,
    netns: 4_026_531_840,
    role: 'unknown',
    state: 'closed',
    family: 4,
    localAddr: '198.18.0.1',
    localPort: 5432,
    remoteAddr: '198.18.0.2',
    remotePort: 40_112,
    pid: 0,
    processStartTime: 0,
    comm: '',
    cgroupId: 0,
    containerId: null,
    containerRuntime: null,
    podUid: null,
    bytesSent: 0,
    bytesReceived: 1_448,
    retransmits: 0,
    srttUs: 0,
    connectLatencyUs: null,
    openedAt: 1_764_000_000_000,
    closedAt: 1_764_000_000_950,
    observedAt: 1_764_000_001_000,
    preexisting: true,
    ...overrides,
  };
}

/** One realistic record of every kind, in the Avro shape. */
export function samples(): { [K in RecordKind]: ContractRecords[K] } {
  const hostId = machineIdToBytes(HOST_ID);
  const runId = uuidToBytes(RUN_ID);
  return {
    flow: flowToAvro(containerFlow()),
    process: {
      hostId,
      runId,
      seq: 184_468,
      pid: 48_213,
      startTime: 1_764_000_000_123,
      comm: 'envoy',
      exe: '/usr/local/bin/envoy',
      cmdline: ['/usr/local/bin/envoy', '-c', '/etc/envoy/envoy.yaml', '--log-level', 'info'],
      cmdlineTruncated: false,
      uid: 101,
      ppid: 48_200,
      cgroupId: 74_219,
      containerId: Buffer.from(CONTAINER_ID, 'hex'),
      containerRuntime: 'containerd',
      podUid: 'a3f9c2e81b7d4f6e9c0a1b2c3d4e5f60',
      exited: false,
      observedAt: 1_764_003_700_790,
    },
    listener: {
      hostId,
      runId,
      seq: 184_469,
      netns: 4_026_532_281,
      family: 'ipv6',
      address: Buffer.alloc(16),
      port: 8443,
      pid: 48_213,
      processStartTime: 1_764_000_000_123,
      state: 'listening',
      observedAt: 1_764_003_700_791,
    },
    host: {
      hostId,
      runId,
      seq: 1,
      hostname: 'node-17.example.internal',
      kernel: '6.18.0-1-amd64',
      collectorVersion: '0.1.0',
      namespaces: [
        {
          netns: 4_026_531_840,
          addresses: [
            { address: Buffer.from([198, 18, 0, 1]), prefixLength: 15, ifname: 'eth0' },
            {
              address: Buffer.from('20010db885a3000000008a2e03707334', 'hex'),
              prefixLength: 64,
              ifname: 'eth0',
            },
          ],
        },
        {
          netns: 4_026_532_281,
          addresses: [{ address: Buffer.from([10, 244, 3, 17]), prefixLength: 24, ifname: null }],
        },
      ],
      namespacesTruncated: false,
      observedAt: 1_764_000_000_500,
    },
    heartbeat: {
      hostId,
      runId,
      seq: 184_470,
      collectorVersion: '0.1.0',
      startedAt: 1_764_000_000_000,
      capabilities: [
        { name: 'tp_btf/sock_send_length', attached: true, error: null },
        { name: 'kprobe/tcp_sendmsg', attached: false, error: 'CONFIG_KPROBES is not set' },
      ],
      drops: { ringBufferFull: 3, mapFull: 0, kafkaBufferFull: 2 ** 33 },
      recordsPerSecond: 1234.5,
      flowsTracked: 5821,
      observedAt: 1_764_003_700_792,
    },
    pod: {
      cluster: 'prod-eu-1',
      runId,
      seq: 17,
      uid: uuidToBytes('7b1e4c2a-5d3f-4a8b-9c0d-e1f2a3b4c5d6'),
      namespace: 'shop',
      name: 'web-5d9f7c6b8-x2x7q',
      resourceVersion: '4812236',
      labels: { app: 'web', 'pod-template-hash': '5d9f7c6b8' },
      nodeName: 'node-17',
      hostNetwork: false,
      ips: [Buffer.from([10, 244, 3, 17]), Buffer.from('fd000010024400030000000000000011', 'hex')],
      phase: 'Running',
      owners: [
        { kind: 'ReplicaSet', name: 'web-5d9f7c6b8', uid: '0c0a8f3e-2b9d-4c3e-9a51-6f3f2d1e4b7a' },
        { kind: 'Deployment', name: 'web', uid: '5e0c7e1d-8f4b-4a2c-b3d6-1a2b3c4d5e6f' },
      ],
      createdAt: 1_764_000_000_000,
      startedAt: 1_764_000_000_900,
      deletionRequestedAt: null,
      deletedAt: null,
      observedAt: 1_764_000_001_000,
    },
    service: {
      cluster: 'prod-eu-1',
      runId,
      seq: 18,
      uid: uuidToBytes('2f6c1b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b'),
      namespace: 'shop',
      name: 'web',
      resourceVersion: '4812001',
      labels: { team: 'storefront' },
      type: 'ClusterIP',
      clusterIPs: [Buffer.from([10, 96, 12, 34])],
      headless: false,
      externalName: null,
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: '8080', nodePort: null }],
      selector: { app: 'web' },
      createdAt: 1_763_000_000_000,
      deletedAt: null,
      observedAt: 1_764_000_001_001,
    },
    endpointslice: {
      cluster: 'prod-eu-1',
      runId,
      seq: 19,
      uid: 'not-a-uuid-uid',
      namespace: 'shop',
      name: 'web-abcde',
      resourceVersion: '4812240',
      serviceName: 'web',
      addressType: 'IPv4',
      ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
      endpoints: [
        {
          addresses: ['10.244.3.17'],
          ready: true,
          serving: null,
          terminating: false,
          nodeName: 'node-17',
          targetKind: 'Pod',
          targetName: 'web-5d9f7c6b8-x2x7q',
          targetUid: '7b1e4c2a-5d3f-4a8b-9c0d-e1f2a3b4c5d6',
        },
      ],
      createdAt: 1_764_000_000_100,
      deletedAt: 1_764_000_009_000,
      observedAt: 1_764_000_009_000,
    },
    deadletter: {
      sourceTopic: 'nettopo.flows.v1',
      partition: 3,
      offset: 9_007_199_254_740_990, // the largest long avsc reads as a number without precision loss
      reason: 'unknown-schema',
      detail: 'message written with unknown schema "flow.v2"',
      key: Buffer.from(HOST_ID),
      value: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
      headers: [
        { key: 'nettopo-schema', value: Buffer.from('flow.v2') },
        { key: 'traceparent', value: null },
      ],
      failedAt: 1_764_003_700_800,
    },
    'topology-change': {
      changeId: 'nightly-pod-20261124T0000-3f9c2e81/2',
      reportId: 'nightly-pod-20261124T0000-3f9c2e81',
      schedule: 'nightly',
      kind: 'edge_changed',
      level: 'pod',
      entity: `pod|Pod|a3f9c2e8-1b7d-4f6e-9c0a-1b2c3d4e5f60|Pod|${POD_UID}|5432|tcp`,
      from: {
        label: 'Pod',
        key: 'a3f9c2e8-1b7d-4f6e-9c0a-1b2c3d4e5f60',
        name: 'shop/frontend-7d4b9',
        hostId: HOST_ID,
        namespace: 'shop',
        workload: 'shop/Deployment/frontend',
      },
      to: {
        label: 'Pod',
        key: POD_UID,
        name: 'payments/db-0',
        hostId: null,
        namespace: 'payments',
        workload: null,
      },
      port: 5432,
      before: figures(1_000),
      after: figures(10_000),
      metrics: [{ metric: 'trafficBytesPerMin', before: 1_000.5, after: 10_005 }],
      windowBefore: { from: 1_763_913_600_000, to: 1_764_000_000_000 },
      windowAfter: { from: 1_764_000_000_000, to: 1_764_086_400_000 },
      partial: false,
      createdAt: 1_764_086_400_123,
    },
  };
}

function figures(bytes: number): EdgeFiguresV1 {
  return {
    connections: 12,
    failedConnects: 0,
    bytesToServer: bytes,
    bytesToClient: 2 ** 40,
    retransmits: 1,
    connectLatencyUsSum: 4_800,
    connectLatencyCount: 12,
    open: 2,
  };
}

/** A deep copy with plain objects in place of avsc's record instances (Buffers kept), for deepEqual. */
export function plain<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => plain(v)) as T;
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) as T;
}

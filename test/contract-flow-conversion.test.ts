import { strict as assert } from 'node:assert';
import {
  Codec,
  InvalidRecordError,
  flowFromAvro,
  flowToAvro,
  ipFromBytes,
  ipToBytes,
  podUidFromAvro,
  podUidToAvro,
  containerIdFromAvro,
  containerIdToAvro,
} from '../contract';
import { CONTAINER_ID, containerFlow, hostFlow } from './contract-samples';

describe('contract flow conversion', () => {
  const codec = new Codec();
  const roundTrip = (r: ReturnType<typeof containerFlow>): ReturnType<typeof containerFlow> => {
    const { value, headers } = codec.encode('flow', flowToAvro(r));
    return flowFromAvro(codec.decode(value, headers, 'flow').record as never);
  };

  const cases = {
    'an IPv6 container flow with counters above 2^32': containerFlow(),
    'a preexisting IPv4 host flow with every unknown (pid 0, comm "", srtt 0, no container)': hostFlow(),
    'an IPv6 socket talking to an IPv4-mapped peer': containerFlow({
      remoteAddr: '198.18.0.9',
      localAddr: '198.18.0.1',
    }),
    'an IPv6 socket with a written-out IPv4-mapped address': containerFlow({
      remoteAddr: '::ffff:198.18.0.9',
    }),
    'a failed connect': containerFlow({
      state: 'failed',
      bytesSent: 0,
      bytesReceived: 0,
      connectLatencyUs: null,
      closedAt: 1_764_000_100_500,
    }),
    'counters at the largest safe value': containerFlow({
      bytesSent: 2 ** 53 - 2,
      cookie: 2 ** 53 - 2,
      seq: 2 ** 53 - 2,
    }),
    'a static pod (hash uid) and a non-hex container id': containerFlow({
      podUid: 'a3f9c2e81b7d4f6e9c0a1b2c3d4e5f60',
      containerId: 'my-lxc-box',
    }),
    'link-local and loopback addresses': containerFlow({ localAddr: 'fe80::1', remoteAddr: '::1' }),
  };
  for (const [what, record] of Object.entries(cases)) {
    it(`when ${what} goes through Avro and back, then the FlowRecord is unchanged`, () => {
      assert.deepEqual(roundTrip(record), record);
    });
  }

  it('when unknowns are converted, then they travel as null, not as zero', () => {
    const a = flowToAvro(hostFlow());
    assert.deepEqual(
      [a.pid, a.processStartTime, a.comm, a.cgroupId, a.srttUs, a.containerId, a.podUid],
      [null, null, null, null, null, null, null],
    );
  });

  it('when ids have their canonical form, then they travel as fixed bytes; other forms stay text', () => {
    const a = flowToAvro(containerFlow());
    assert.equal(a.hostId.length, 16);
    assert.equal(a.runId.length, 16);
    assert.ok(Buffer.isBuffer(a.containerId) && a.containerId.length === 32);
    assert.ok(Buffer.isBuffer(a.podUid) && a.podUid.length === 16);
    assert.equal(
      containerIdFromAvro(containerIdToAvro(CONTAINER_ID.toUpperCase())),
      CONTAINER_ID.toUpperCase(),
    );
    assert.equal(podUidToAvro('not-a-uuid'), 'not-a-uuid');
    assert.equal(podUidFromAvro(null), null);
  });

  it('when addresses are converted, then text becomes 4 or 16 bytes and comes back in canonical (RFC 5952) form', () => {
    const table: [string, string, number][] = [
      ['0.0.0.0', '0.0.0.0', 4],
      ['255.255.255.255', '255.255.255.255', 4],
      ['::', '::', 16],
      ['::1', '::1', 16],
      ['1::', '1::', 16],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1', 16],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 16],
      ['2001:0db8:0000:0001:0001:0001:0001:0001', '2001:db8:0:1:1:1:1:1', 16],
      ['64:ff9b::198.18.0.1', '64:ff9b::c612:1', 16],
      ['::ffff:10.0.0.1', '::ffff:10.0.0.1', 16],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8', 16],
      ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304', 16],
    ];
    for (const [text, canonical, len] of table) {
      const bytes = ipToBytes(text);
      assert.equal(bytes.length, len, text);
      assert.equal(ipFromBytes(bytes), canonical, text);
    }
  });

  it('when an address or id is not valid, then the conversion throws invalid-record', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.256',
      '01.2.3.4',
      '1::2::3',
      ':::',
      '12345::',
      'fe80::1%eth0',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '::1.2.3.4.5',
      'example.com',
      '1.2.3.4::',
    ]) {
      assert.throws(() => ipToBytes(bad), InvalidRecordError, bad);
    }
    assert.throws(() => ipFromBytes(Buffer.alloc(5)), InvalidRecordError);
    assert.throws(() => flowToAvro(containerFlow({ hostId: 'node-17' })), InvalidRecordError);
    assert.throws(() => flowToAvro(containerFlow({ runId: 'RUN' })), InvalidRecordError);
    assert.throws(() => flowToAvro(containerFlow({ family: 4 })), InvalidRecordError);
  });
});

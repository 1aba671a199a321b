import { strict as assert } from 'node:assert';
import { normalizePodUid, parseCgroupPath } from '../collector';

const ID = '3f1c9a7e5b2d4c6f8a0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4a';
const ID2 = 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1';
const UID = '8f2c1d3e-4b5a-46c7-9d8e-0f1a2b3c4d5e';
const UID_ = UID.replace(/-/g, '_');
const STATIC_UID = 'c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4';

describe('container attribution from cgroup paths', () => {
  describe('Kubernetes with the systemd cgroup driver', () => {
    it('when a containerd container runs in a besteffort pod, then id, runtime, pod uid with dashes and QoS are parsed', () => {
      const info = parseCgroupPath(
        `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      );
      assert.deepEqual(info, {
        containerId: ID,
        runtime: 'containerd',
        podUid: UID,
        qosClass: 'besteffort',
        unit: `cri-containerd-${ID}.scope`,
      });
    });

    it('when the pod is burstable and the runtime is CRI-O, then runtime is cri-o and QoS burstable', () => {
      const info = parseCgroupPath(
        `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${ID}.scope`,
      );
      assert.equal(info.containerId, ID);
      assert.equal(info.runtime, 'cri-o');
      assert.equal(info.podUid, UID);
      assert.equal(info.qosClass, 'burstable');
    });

    it('when the pod is guaranteed, then its slice sits directly in kubepods.slice and QoS is guaranteed', () => {
      const info = parseCgroupPath(`/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`);
      assert.equal(info.podUid, UID);
      assert.equal(info.qosClass, 'guaranteed');
      assert.equal(info.containerId, ID);
    });

    it('when the process is CRI-O conmon, then the pod is known but it is no container', () => {
      const info = parseCgroupPath(
        `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-conmon-${ID}.scope`,
      );
      assert.equal(info.containerId, null);
      assert.equal(info.runtime, 'cri-o');
      assert.equal(info.podUid, UID);
    });

    it('when cri-dockerd runs the pod, then runtime is docker', () => {
      const info = parseCgroupPath(
        `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/docker-${ID}.scope`,
      );
      assert.equal(info.runtime, 'docker');
      assert.equal(info.podUid, UID);
    });

    it('when the pod is static (32-hex uid), then the uid is kept as is', () => {
      const info = parseCgroupPath(
        `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${STATIC_UID}.slice/cri-containerd-${ID}.scope`,
      );
      assert.equal(info.podUid, STATIC_UID);
    });

    it('when kind nests kubelet in a docker container, then the innermost container and its pod win', () => {
      const info = parseCgroupPath(
        `/system.slice/docker-${ID2}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      );
      assert.equal(info.containerId, ID);
      assert.equal(info.runtime, 'containerd');
      assert.equal(info.podUid, UID);
      assert.equal(info.qosClass, 'besteffort');
    });

    it('when containerd runs as a service without delegation, then the colon form gives pod and container', () => {
      const info = parseCgroupPath(
        `/system.slice/containerd.service/kubepods-burstable-pod${UID_}.slice:cri-containerd:${ID}`,
      );
      assert.equal(info.containerId, ID);
      assert.equal(info.runtime, 'containerd');
      assert.equal(info.podUid, UID);
      assert.equal(info.qosClass, 'burstable');
    });

    it('when the path is a pod slice without container, then only pod and QoS are known', () => {
      const info = parseCgroupPath(
        `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice`,
      );
      assert.deepEqual(info, {
        containerId: null,
        runtime: null,
        podUid: UID,
        qosClass: 'besteffort',
        unit: null,
      });
    });
  });

  describe('Kubernetes with the cgroupfs driver', () => {
    it('when a container runs in a besteffort pod, then id, pod uid and QoS are parsed and the runtime is unknown', () => {
      const info = parseCgroupPath(`/kubepods/besteffort/pod${UID}/${ID}`);
      assert.deepEqual(info, {
        containerId: ID,
        runtime: null,
        podUid: UID,
        qosClass: 'besteffort',
        unit: null,
      });
    });

    it('when the pod is burstable, then QoS is burstable', () => {
      assert.equal(parseCgroupPath(`/kubepods/burstable/pod${UID}/${ID}`).qosClass, 'burstable');
    });

    it('when the pod is guaranteed, then it sits directly under kubepods', () => {
      const info = parseCgroupPath(`/kubepods/pod${UID}/${ID}`);
      assert.equal(info.qosClass, 'guaranteed');
      assert.equal(info.podUid, UID);
    });

    it('when CRI-O uses cgroupfs, then the crio- prefix gives the runtime', () => {
      const info = parseCgroupPath(`/kubepods/burstable/pod${UID}/crio-${ID}`);
      assert.equal(info.runtime, 'cri-o');
      assert.equal(info.containerId, ID);
      assert.equal(info.podUid, UID);
    });

    it('when a directory is named pod<uid> outside kubepods, then it is not taken for a pod', () => {
      assert.equal(parseCgroupPath(`/somewhere/pod${UID}/${ID}`).podUid, null);
    });
  });

  describe('Docker, Podman, containerd and systemd outside Kubernetes', () => {
    it('when Docker uses the systemd driver, then docker-<id>.scope gives a docker container', () => {
      const info = parseCgroupPath(`/system.slice/docker-${ID}.scope`);
      assert.deepEqual(info, {
        containerId: ID,
        runtime: 'docker',
        podUid: null,
        qosClass: null,
        unit: `docker-${ID}.scope`,
      });
    });

    it('when Docker uses cgroupfs, then /docker/<id> gives a docker container', () => {
      assert.deepEqual(parseCgroupPath(`/docker/${ID}`), {
        containerId: ID,
        runtime: 'docker',
        podUid: null,
        qosClass: null,
        unit: null,
      });
    });

    it('when Docker runs in Docker, then the inner container wins', () => {
      assert.equal(parseCgroupPath(`/docker/${ID2}/docker/${ID}`).containerId, ID);
    });

    it('when Podman runs rootless, then libpod-<id>.scope and its container child give a podman container', () => {
      const info = parseCgroupPath(
        `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope/container`,
      );
      assert.equal(info.containerId, ID);
      assert.equal(info.runtime, 'podman');
    });

    it('when Podman uses cgroupfs, then /libpod_parent/libpod-<id> gives a podman container', () => {
      assert.equal(parseCgroupPath(`/libpod_parent/libpod-${ID}`).runtime, 'podman');
    });

    it('when the process is Podman conmon, then it is no container', () => {
      const info = parseCgroupPath(`/machine.slice/libpod-conmon-${ID}.scope`);
      assert.equal(info.containerId, null);
      assert.equal(info.runtime, 'podman');
    });

    it('when nerdctl runs a container, then runtime is containerd', () => {
      assert.equal(parseCgroupPath(`/system.slice/nerdctl-${ID}.scope`).runtime, 'containerd');
    });

    it('when a process runs in a systemd service, then runtime is systemd with the unit name', () => {
      assert.deepEqual(parseCgroupPath('/system.slice/nginx.service'), {
        containerId: null,
        runtime: 'systemd',
        podUid: null,
        qosClass: null,
        unit: 'nginx.service',
      });
    });

    it('when a process runs in a login session or a user service, then the innermost unit is named', () => {
      assert.equal(parseCgroupPath('/user.slice/user-1000.slice/session-3.scope').unit, 'session-3.scope');
      assert.equal(
        parseCgroupPath('/user.slice/user-1000.slice/user@1000.service/app.slice/dbus.service').unit,
        'dbus.service',
      );
    });

    it('when the container runtime daemon itself runs, then it is a systemd service, not a container', () => {
      const info = parseCgroupPath('/system.slice/containerd.service');
      assert.equal(info.runtime, 'systemd');
      assert.equal(info.containerId, null);
    });

    it('when the path is the root or unrelated, then nothing is attributed', () => {
      for (const path of ['/', '', '/nettopo', '/process_api/c94ec53057b9559f377b0cced3cf7b9d']) {
        assert.deepEqual(parseCgroupPath(path), {
          containerId: null,
          runtime: null,
          podUid: null,
          qosClass: null,
          unit: null,
        });
      }
    });

    it('when an id is not 64 hex digits, then it is not taken for a container', () => {
      assert.equal(parseCgroupPath(`/docker/${ID.slice(1)}`).containerId, null);
      assert.equal(parseCgroupPath(`/system.slice/docker-${ID.toUpperCase()}.scope`).containerId, null);
    });
  });

  it('when a pod uid has underscores, then they become dashes; non-uids are refused', () => {
    assert.equal(normalizePodUid(UID_), UID);
    assert.equal(normalizePodUid(STATIC_UID), STATIC_UID);
    assert.equal(normalizePodUid('not-a-uid'), null);
  });
});

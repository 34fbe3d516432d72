"""End-to-end proof of issue 20 on an 8.0-like master (docs/testing-docker-
storage.md): the source master is a TCG guest with VG docker and its thin
pool on its own partition, docker (devicemapper, dm.thinpooldev) running
Fuel 8.0's containers from it, one writing into its own layer every 0.2 s.
The shipped script runs inside it under python2.7 and migrates it to this
host. The run pauses after the last step before the switch-over (services
stopped, the copy made) so the lab can take the source's state at the
stop; then it resumes, the copy boots, and the checks run inside it.
"""
import json
import sys

import pytest

from lab import hostlab, paths, virt

from . import dock_config as cfg
from . import dock_lab

pytestmark = [pytest.mark.slow, pytest.mark.kvm]


def _pause_step():
    """The last step before the switch-over, from the script's own table."""
    added = paths.source_paths(paths.MIGRATION)
    sys.path[:0] = added
    try:
        from master_migration import steptable
    finally:
        del sys.path[:len(added)]
    return steptable.STEP_IDS[steptable.STEP_IDS.index('switch_over') - 1]


def _sha256_on_host(path):
    return hostlab.run(['sha256sum', path], timeout=600)[1].split()[0]


@pytest.fixture(scope='module')
def carried(system_libvirt, zipapp, tmp_path_factory):
    """A finished migration of the 8.0-like master and the source's state
    at the stop; everything rfe-* removed afterwards."""
    work = tmp_path_factory.mktemp('rfe-docker')
    with dock_lab.running(work, zipapp, 'docker_8_0') as lab:
        hostlab.wait_for(lambda: len(lab.writer_lines() or []) >= 20, 120,
                         'the writer container to write')
        lab.before = lab.thin_sums()
        pause = _pause_step()
        lab.exit_first, lab.output_first = lab.migrate('--stop-after', pause)
        lab.at_stop = {}
        lab.paused = lab.exit_first == 3 and \
            'stopped after step %s as asked' % pause in lab.output_first
        if lab.paused:
            lab.at_stop = _state_at_stop(lab)
            lab.exit_code, lab.output = lab.migrate('--resume')
        else:
            lab.exit_code, lab.output = lab.exit_first, lab.output_first
        lab.final_state = lab.state()
        lab.times['downtime_s'] = _downtime(lab.final_state)
        yield lab


def _state_at_stop(lab):
    """The source with its services stopped and the copy made, before the
    switch-over: the docker PV's bytes (before anything activates the VG
    here again), then the pool's transaction id, each thin device's
    checksum and the writer's last line, read-only; the copy's disks as
    the virt node holds them."""
    state = {}
    _rc, out = lab.source('lvs --noheadings -o lv_active docker/docker-pool; '
                          'systemctl is-active docker.service', 60)
    state['source_pool_and_docker'] = out.split()
    was_active = out.split()[:1] == ['active']
    rc, out = lab.source('sha256sum /dev/vda%d' % cfg.DOCKER_PART, 600)
    state['pv_sha256'] = out.split()[0] if rc == 0 else None
    sums = lab.thin_sums(last=True)
    if sums['activated'] and not was_active:
        lab.source('vgchange -an docker', 60)
    state['thin'] = sums
    disks = lab.copy_disks()
    state['copy_disks'] = disks
    state['copy_disk_sha256'] = {d: _sha256_on_host(d) for d in disks[1:]}
    return state


def _downtime(state):
    if state.get('guest_answered') and state.get('downtime_started'):
        return round(state['guest_answered'] - state['downtime_started'], 1)
    return None


def test_migration_finishes(carried):
    """--stop-after ends with exit 3 (interrupted, state kept), --resume
    with 0; the script ran on the master's python2.7."""
    assert carried.paused, carried.failure_report()
    assert carried.exit_code == 0, carried.failure_report()
    assert '(Python 2.7.' in carried.output_first[:1000], carried.output_first[:1000]


def test_docker_pv_reaches_the_guest_block_for_block(carried):
    """At the stop: the guest's second disk is exactly the source's docker
    PV, byte for byte (so its LVM label, the pool's metadata and every thin
    device with it). The pass while stopped reads again only what lvm and
    the pool can read; that the rest is equal too holds because nothing in
    this lab writes to a free extent or an unmapped block between the
    passes, and it shows that the map was read right."""
    assert carried.paused, carried.failure_report()
    disks = carried.at_stop['copy_disks']
    assert len(disks) == 2, 'the guest has no disk for the docker PV: %s' % disks
    copied = carried.at_stop['copy_disk_sha256'][disks[1]]
    assert copied == carried.at_stop['pv_sha256']


def test_while_stopped_only_what_the_pool_maps_was_read_again(carried):
    """The pass while stopped read the pool's map (thin_dump of its
    metadata LV, lvm's segments) and hashed again only the chunks lvm and
    the pool can read, not the whole PV."""
    assert carried.exit_code == 0, carried.failure_report()
    final = carried.final_state.get('docker_final')
    assert final, carried.final_state
    every = cfg.DOCKER_PV_MIB // 4  # 4 MiB chunks
    assert 0 < final['read_chunks'] < every, final
    carried.times['stopped_pass_chunks'] = [final['read_chunks'], every]


def test_copy_has_vg_docker_and_its_pool(carried):
    assert carried.exit_code == 0, carried.failure_report()
    rc, out = carried.admin('vgs --noheadings -o vg_name; '
                            'lvs --noheadings -o lv_name,segtype docker', 60)
    assert rc == 0, out
    assert 'docker' in out.split(), out
    assert 'docker-pool thin-pool' in ' '.join(out.split()), out


def test_copy_pool_has_the_transaction_id_of_the_stop(carried):
    """Taken in the copy before anything creates a thin device there
    (starting existing containers does not change it)."""
    assert carried.exit_code == 0, carried.failure_report()
    copy = carried.thin_sums(on=carried.admin)
    assert copy['transaction_id'] == carried.at_stop['thin']['transaction_id'], (
        copy['pool'], carried.at_stop['thin']['pool'])
    carried.copy_sums = copy


def test_copy_thin_devices_equal_the_source_at_the_stop(carried):
    """Every thin device the copy has not opened (image layers, init
    layers, the base device, stopped containers) has the checksum it had
    on the source at the stop; the writer's device is checked by its data
    (test_writer_last_write_before_the_stop_is_in_the_copy)."""
    assert carried.exit_code == 0, carried.failure_report()
    source = carried.at_stop['thin']['devices']
    copy = carried.thin_sums(on=carried.admin)['devices']
    assert sorted(copy) == sorted(source)
    compared = [h for h in source if 'open' not in (source[h], copy[h])]
    assert len(compared) >= 3, (source, copy)
    differ = [h for h in compared if source[h] != copy[h]]
    assert not differ, differ
    carried.times['thin_devices_compared'] = len(compared)


def test_copy_pool_metadata_passes_thin_check(carried):
    """Docker stopped in the copy, VG deactivated, the pool's metadata LV
    activated alone (read-only component activation) and thin_check run on
    it; then the VG and docker again."""
    assert carried.exit_code == 0, carried.failure_report()
    units = ' '.join('docker-%s.service' % c for c in cfg.CONTAINERS)
    rc, out = carried.admin(
        'set -e; systemctl stop %s docker.service; vgchange -an docker; '
        'lvchange -ay -y docker/docker-pool_tmeta; '
        'thin_check /dev/mapper/docker-docker--pool_tmeta; echo THIN-CHECK-CLEAN; '
        'lvchange -an docker/docker-pool_tmeta; vgchange -ay docker; '
        'systemctl start docker.service %s' % (units, units), 300)
    assert 'THIN-CHECK-CLEAN' in out, out
    assert rc == 0, out
    hostlab.wait_for(lambda: carried.containers_running(on=carried.admin), 120,
                     'the containers after docker restarted')


def test_no_mounted_container_file_was_copied(carried):
    """The copy's own root file system, seen without the mounts on it:
    docker's mount points are empty folders, nothing of a container root
    (the writer's log, busybox) nor of an shm mount lies under /var."""
    assert carried.exit_code == 0, carried.failure_report()
    rc, out = carried.admin(
        'mkdir -p /run/rfe-rootview && mount --bind / /run/rfe-rootview && '
        'find /run/rfe-rootview/var/lib/docker/devicemapper/mnt -mindepth 2 '
        '| head -20; find /run/rfe-rootview/var/lib/docker/containers '
        '-path "*/mounts/shm/*" | head; umount /run/rfe-rootview', 120)
    assert rc == 0, out
    assert out.strip() == '', 'container files copied as files:\n' + out


def test_docker_runs_on_the_carried_pool(carried):
    assert carried.exit_code == 0, carried.failure_report()
    rc, out = carried.admin('docker info 2>/dev/null; cat /etc/sysconfig/docker-storage', 60)
    assert 'Pool Name: docker-docker--pool' in out, out
    assert 'dm.thinpooldev=%s' % cfg.POOL_DEVICE in out, out
    assert carried.containers_running(on=carried.admin), \
        carried.admin('docker ps -a; systemctl --failed', 60)[1]
    rc, out = carried.admin('docker run --rm --net=host %s cat /bin/busybox '
                            '| wc -c' % cfg.IMAGE, 300)
    assert rc == 0 and int(out.split()[-1]) > 100000, out


def test_writer_last_write_before_the_stop_is_in_the_copy(carried):
    """The writer's log in the copy holds every value up to its last one
    at the stop (read from the source's thin device, read-only), and goes
    on from there."""
    assert carried.exit_code == 0, carried.failure_report()
    last = int(carried.at_stop['thin']['last'])
    lines = carried.writer_lines(on=carried.admin)
    assert lines, 'no writer log in the copy'
    assert lines[:last] == list(range(1, last + 1)), lines[max(0, last - 5):last + 5]
    assert len(lines) > last, 'the writer did not go on in the copy'
    carried.times['writer_last_at_stop'] = last


def test_master_answers_on_the_admin_address(carried):
    assert carried.exit_code == 0, carried.failure_report()
    rc, out = hostlab.run(['curl', '-sf', '--max-time', '5', 'http://%s:%d/health' % (
        cfg.ADMIN['ipaddress'], cfg.API_PORT)], check=False)
    assert rc == 0, out
    assert json.loads(out)['migrated'] is True
    rc, out = carried.admin('findmnt -n -o SOURCE /; cat %s' % cfg.MIGRATED_MARKER, 30)
    assert rc == 0 and out.split()[0] == '/dev/vda1', out
    assert virt.state(cfg.COPY_GUEST) == 'running'

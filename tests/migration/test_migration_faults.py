"""Kill the run in every step and resume it; preflight refusals that
change nothing; the dry run; the zipapp on its own."""
import json
import os
import shutil
import signal
import subprocess

import pytest

import migration_lab as lab

pytestmark = [pytest.mark.kvm, pytest.mark.slow]
KILL_AT = ['define_guest', 'prepare_disk', 'warm_sync', 'checksum_pass',
           'post_migrate', 'stop_services', 'final_sync', 'refresh_fixes',
           'check_disk', 'switch_over']


def run_until_step_starts(proc, step):
    """Read the run's output until the step starts, then SIGKILL the whole
    process group (the script, its ssh and rsync children)."""
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if 'step %s: start' % step in line:
            lab.kill_group(proc)
            return seen
    proc.wait()
    raise AssertionError('run ended before step %s:\n%s' % (step,
                                                            ''.join(seen)))


@pytest.mark.parametrize('step', KILL_AT)
def test_kill_during_step_then_resume_finishes_with_nothing_lost(
        step, migrate, master, destination, tmp_path):
    name, disk_dir = destination['name'], destination['disk_dir']
    # A bandwidth limit makes the warm sync last long enough to be hit.
    extra = {'rsync_options': ['--bwlimit=30000']}
    with lab.StandIn(name, 8000):
        run_until_step_starts(migrate.start(extra), step)
        state = lab.state_of(master['work'])
        assert state['steps'][step]['status'] == 'running'
        again = migrate(extra)
        assert again.returncode == 3 and '--resume' in again.stderr
        resumed = migrate(extra, '--resume')
    assert resumed.returncode == 0, resumed.stderr
    assert 'resuming the run' in resumed.stderr
    lab.virsh('destroy', name)
    copy_records = lab.assert_exact_copy(master, disk_dir / (name + '.img'),
                                         tmp_path / 'mnt')
    lab.assert_records_complete(copy_records, master['root'] /
                                'var/lib/writer/records.log')


def no_change_anywhere(master, destination, before):
    assert lab.virsh('domstate', destination['name']).returncode != 0
    assert list(destination['disk_dir'].iterdir()) == []
    assert not (master['work'] / 'state.json').exists()
    assert lab.MASTER_IP + '/24' in lab.master_addresses()
    assert lab.writer_running(master)
    assert lab.manifest(master['root'], skip=['var/lib/writer']) == before


@pytest.fixture
def small_tmpfs(destination):
    path = destination['disk_dir'] / 'small'
    path.mkdir()
    lab.sh('mount', '-t', 'tmpfs', '-o', 'size=8m', 'rfm-small', path)
    yield path
    lab.sh('umount', path, check=False)
    path.rmdir()


@pytest.mark.parametrize('fault,expected', [
    ('bad destination', 'cannot reach it with ssh'),
    ('missing bridge', 'bridge rfm-nobridge does not exist'),
    ('unknown host key', 'ssh host key is not known'),
    ('too little space', 'not enough space in'),
])
def test_preflight_refuses_and_changes_nothing(fault, expected, migrate,
                                               master, destination,
                                               network_lab, request):
    before = lab.manifest(master['root'], skip=['var/lib/writer'])
    extra = {
        'bad destination': {'destination': '10.98.0.77'},
        'missing bridge': {'admin_bridge': 'rfm-nobridge'},
        'unknown host key': {'ssh_known_hosts':
                             str(network_lab.empty_known_hosts)},
    }.get(fault, {})
    if fault == 'too little space':
        extra = {'disk_dir': str(request.getfixturevalue('small_tmpfs'))}
    result = migrate(extra)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert 'nothing was changed' in result.stderr
    if fault == 'unknown host key':
        assert 'ssh-keyscan -p 2298 -H 10.98.0.1 >> ' in result.stderr
    if fault == 'too little space':
        shutil.rmtree(extra['disk_dir'], ignore_errors=True)
        return no_change_space(master, destination, before)
    no_change_anywhere(master, destination, before)


def no_change_space(master, destination, before):
    assert lab.virsh('domstate', destination['name']).returncode != 0
    assert not (master['work'] / 'state.json').exists()
    assert lab.writer_running(master)
    assert lab.manifest(master['root'], skip=['var/lib/writer']) == before


def test_dry_run_prints_plan_with_sizes_and_changes_nothing(
        migrate, master, destination):
    before = lab.manifest(master['root'], skip=['var/lib/writer'])
    result = migrate({}, '--dry-run')
    assert result.returncode == 0, result.stderr
    assert 'files, 7' in result.stdout  # ~74 MiB of data, counted by rsync
    assert 'expected downtime: about' in result.stdout
    assert 'NIC eth0 %s -> bridge %s' % (lab.ADMIN_MAC, lab.ADMIN_BR) in \
        result.stdout
    # each step's commands, as a shell would read them
    xml = destination['disk_dir'] / (destination['name'] + '.xml')
    assert 'virt$ virsh -c qemu:///system define %s\n' % xml in result.stdout
    assert '$ ip addr add %s/24 dev' % lab.INTERIM_IP in result.stdout
    rsync = [line for line in result.stdout.splitlines()
             if line.strip().startswith('$ rsync ')]
    # warm, checksum; final by the listings' delta and the checksums,
    # both started ahead; the delta's when not; full final; 2 checks
    assert len(rsync) == 8, result.stdout
    assert '%s/ ' % master['root'] in rsync[0]
    no_change_anywhere(master, destination, before)


def test_script_from_the_rpm_runs_alone_under_python_2_7(
        rpm_script, migrate, master, destination, tmp_path, master_path):
    """The file the RPM installs, copied alone into an empty folder, on a
    PATH whose only Python is 2.7 (a stock Fuel master): --help and a dry
    run."""
    alone = tmp_path / 'alone'
    alone.mkdir()
    shutil.copy(str(rpm_script), str(alone / 'rf-migrate-master'))
    helped = subprocess.run([str(alone / 'rf-migrate-master'), '--help'],
                            cwd=alone, capture_output=True, text=True,
                            env=dict(os.environ, PATH=master_path))
    assert helped.returncode == 0 and '--dry-run' in helped.stdout
    cfg = migrate.config()
    dry = subprocess.run(['ip', 'netns', 'exec', lab.NETNS, 'env',
                          'PATH=' + master_path,
                          str(alone / 'rf-migrate-master'), '--config',
                          str(cfg), '--dry-run'], cwd=alone,
                         capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0, dry.stderr
    assert 'expected downtime' in dry.stdout
    assert '(Python 2.7.' in dry.stderr, dry.stderr[:400]
    assert sorted(p.name for p in alone.iterdir()) == ['rf-migrate-master']


def test_stop_after_post_migrate_leaves_copy_mounted_then_resume(
        migrate, master, destination, tmp_path):
    name, disk_dir = destination['name'], destination['disk_dir']
    stopped = migrate({}, '--stop-after', 'post_migrate')
    assert stopped.returncode == 3, stopped.stderr
    assert 'stopped after step post_migrate' in stopped.stderr
    mnt = disk_dir / (name + '.mnt')
    assert (mnt / 'etc/rf-migrated-master').exists()  # still mounted there
    assert lab.MASTER_IP + '/24' in lab.master_addresses()
    with lab.StandIn(name, 8000):
        resumed = migrate({}, '--resume')
    assert resumed.returncode == 0, resumed.stderr
    assert lab.mounts_under(disk_dir) == []


def test_kill_then_rollback_restores_master_and_cleans_destination(
        migrate, master, destination):
    extra = {'remove_disk': True}
    run_until_step_starts(migrate.start(extra), 'final_sync')
    assert not lab.writer_running(master)  # killed with the services stopped
    result = migrate(extra, '--rollback')
    assert result.returncode == 0, result.stderr
    assert lab.writer_running(master)
    assert lab.MASTER_IP + '/24' in lab.master_addresses()
    assert lab.virsh('domstate', destination['name']).returncode != 0
    assert list(destination['disk_dir'].iterdir()) == []
    assert lab.mounts_under(destination['disk_dir']) == []
    fresh = migrate(extra, '--dry-run')
    assert fresh.returncode == 0, fresh.stderr  # a new run may start


class TwoMastersWatch(lab.Watcher):
    """Issue 9 point 1: flags any moment at which the old master holds the
    admin address while the guest (same address, same MAC) runs."""

    def __init__(self, name):
        self.name, self.both = name, []
        super().__init__()

    def _watch(self):
        while not self.stop_flag.is_set():
            held = lab.MASTER_IP + '/' in lab.ns(
                'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0',
                check=False).stdout
            running = lab.virsh('domstate', self.name).stdout.strip()
            if held and running == 'running':
                self.both.append(running)
            import time
            time.sleep(0.2)


# Issue 9 point 1: ssh to the virt node is cut at each point of the
# hand-over and of its rollback (the run pauses there: RFM_TEST_PAUSE).
SSH_CUT_AT = {
    # point: (the old master holds the admin address after the failed run,
    #         the guest is left defined)
    'switch-start': (True, False),        # before the address moves
    'address-moved': (False, True),       # before virsh start
    'guest-started': (False, True),       # during the wait
    'rollback-destroyed': (False, True),  # between destroy and autostart off
}


def run_with_ssh_cut_at(migrate, network_lab, point, monkeypatch):
    """Run (no stand-in: the guest never answers), stop sshd of the virt
    node while the run is paused at point, let it go on; the output."""
    monkeypatch.setenv('RFM_TEST_PAUSE', point)
    proc = migrate.start({'boot_timeout': 8})
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if 'paused at %s' % point in line:
                network_lab.stop()
                network_lab.proc = None
                os.killpg(proc.pid, signal.SIGCONT)
        proc.wait()
    finally:
        lab.kill_group(proc)  # nothing left paused if the test failed
        if network_lab.proc is None:
            network_lab.start()
        monkeypatch.delenv('RFM_TEST_PAUSE')
    output = ''.join(seen)
    assert 'paused at %s' % point in output, output
    assert proc.returncode == 1, output
    return output


@pytest.mark.parametrize('point', sorted(SSH_CUT_AT))
def test_ssh_lost_at_each_point_of_the_switch_over_never_gives_two_masters(
        point, migrate, master, destination, network_lab, monkeypatch):
    """The rollback cannot confirm the guest is off: the old master keeps
    the interim address and says how to finish; --rollback with ssh back
    finishes. The admin address never has two holders."""
    name = destination['name']
    master_keeps, defined = SSH_CUT_AT[point]
    with TwoMastersWatch(name) as watch:
        output = run_with_ssh_cut_at(migrate, network_lab, point,
                                     monkeypatch)
        assert 'rollback incomplete' in output
        assert lab.state_of(master['work'])['status'] == \
            'rollback-incomplete'
        held = lab.master_addresses()
        assert (lab.MASTER_IP + '/24' in held) == master_keeps, held
        if not master_keeps:
            assert lab.INTERIM_IP + '/24' in held
            assert 'virsh -c qemu:///system destroy %s' % name in output
            assert 'rf-migrate-master --rollback' in output
        finished = migrate(None, '--rollback')
        assert finished.returncode == 0, finished.stderr
    assert watch.both == [], 'admin address held by the master and guest'
    assert lab.MASTER_IP + '/24' in lab.master_addresses()
    assert lab.master_mac() == lab.ADMIN_MAC
    assert lab.writer_running(master)
    if defined:
        assert lab.virsh('domstate', name).stdout.strip() == 'shut off'
        assert 'disable' in lab.virsh('dominfo', name).stdout.split(
            'Autostart:')[1].split('\n')[0]
    else:
        assert lab.virsh('domstate', name).returncode != 0


# ---- issue 9 point 4: the virt node's disk fills up during the run ------

@pytest.fixture
def small_disk_dir(destination, tmp_path):
    """The disk folder on an 800 MiB ext4 loop filesystem of its own: room
    for a 600 MiB image at preflight, and a disk a test can fill."""
    backing = tmp_path / 'virt-node-disk.img'
    mnt = destination['disk_dir'] / 'small-fs'
    mnt.mkdir()
    lab.sh('truncate', '-s', '800M', backing)
    lab.sh('mkfs.ext4', '-q', '-m', '0', backing)
    lab.sh('mount', '-o', 'loop', backing, mnt)
    yield mnt
    for inner in sorted(lab.mounts_under(str(mnt) + '/'), reverse=True):
        lab.sh('umount', '-l', inner, check=False)
    for image in mnt.glob('*.img'):
        for dev in lab.loops_of(image):
            lab.sh('losetup', '-d', dev, check=False)
    lab.sh('umount', mnt, check=False)


def fill_up(folder):
    """Another user of the virt node's disk takes all its free space."""
    st = os.statvfs(str(folder))
    lab.sh('fallocate', '-l', str(st.f_bavail * st.f_frsize - (8 << 20)),
           folder / 'filler')
    lab.sh('dd', 'if=/dev/zero', 'of=%s' % (folder / 'filler-rest'), 'bs=4k',
           check=False)
    lab.sh('sync', '-f', folder, check=False)


def test_disk_full_on_the_virt_node_rolls_back_with_a_clear_message(
        migrate, master, destination, small_disk_dir):
    """Preflight finds room for the whole image; the disk then fills up
    while the warm sync runs. The copy's writes are lost in the loop
    device's page cache: check_disk's flush sees it, the run rolls back
    before the switch-over. Before: it switched over to the broken copy."""
    name = destination['name']
    extra = {'disk_dir': str(small_disk_dir), 'disk_size': '600M',
             'remove_disk': True}
    with lab.StandIn(name, 8000), lab.AddressWatch() as watch:
        proc = migrate.start(extra)
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if 'step warm_sync: start' in line:
                fill_up(small_disk_dir)
        proc.wait()
    output = ''.join(seen)
    assert proc.returncode == 1, output
    assert 'is not whole: a write to the image was lost' in output, output
    assert 'Is %s full there?' % small_disk_dir in output
    # syncfs reports the writeback error the loop device met
    assert 'No space left on device' in output or \
        'Input/output error' in output
    assert 'rolled back: the old master serves again' in output
    assert not watch.seen_released, 'switched over to a broken copy'
    assert lab.writer_running(master)
    assert lab.MASTER_IP + '/24' in lab.master_addresses()
    assert lab.virsh('domstate', name).returncode != 0
    assert not (small_disk_dir / (name + '.img')).exists()
    assert lab.mounts_under(str(small_disk_dir) + '/') == []
    archived = list(master['work'].glob('state.json.rolled-back.*'))
    saved = json.loads(archived[0].read_text())
    assert saved['steps']['check_disk']['status'] == 'failed'
    assert 'a write to the image was lost' in saved['error']['message']


# ---- issue 9 point 5: no child outlives its step ------------------------

def rsync_processes(*paths):
    """Processes whose command line names rsync and one of paths."""
    found = []
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                argv = handle.read().decode('utf-8', 'replace').split('\0')
        except OSError:
            continue
        if any(a.endswith('rsync') for a in argv[:2]) and any(
                str(p) in a for p in paths for a in argv):
            found.append((pid, argv))
    return found


def test_a_sync_timeout_leaves_no_rsync_and_rolls_back(
        migrate, master, destination):
    """sync_timeout 10 s against a warm sync slowed to 300 KB/s: the run
    kills rsync's process group (rsync and its ssh; the server side ends
    with the connection) and rolls back."""
    result = migrate({'sync_timeout': 10, 'rsync_options': ['--bwlimit=300'],
                      'remove_disk': True})
    assert result.returncode == 1, result.stderr
    assert 'step warm_sync failed' in result.stderr
    assert 'timed out' in result.stderr
    assert 'rolled back: the old master serves again' in result.stderr
    assert rsync_processes(master['root'], destination['disk_dir']) == []
    assert lab.mounts_under(destination['disk_dir']) == []
    assert list(destination['disk_dir'].iterdir()) == []
    assert lab.writer_running(master)

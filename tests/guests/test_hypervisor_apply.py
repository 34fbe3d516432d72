"""apply/observe against libvirt's test:///default driver (no daemon):
define, start, idempotence, drift, undeclared guests and failure paths.
Disk images are real qemu-img files in tmp_path."""
import hashlib
import json
import os
import stat
import subprocess
import xml.etree.ElementTree as ET

import libvirt
import pytest

from guestlib import astute_doc, our_test_domains
from virt_guests import cli, hypervisor, reconcile, render, spec
from virt_guests import plan as P


@pytest.fixture
def conn():
    connection = hypervisor.connect('test:///default')
    yield connection
    for domain in our_test_domains(connection):
        if domain.isActive():
            domain.destroy()
        domain.undefine()
    connection.close()


def desired(tmp_path, guests, **settings):
    values = {'guest_disk_dir': str(tmp_path / 'disks')}
    values.update(settings)
    doc = astute_doc(guests, settings=values, bridges=('rfg-adm', 'rfg-pub'))
    return reconcile.Desired(spec.build_spec(doc))


def run_once(conn, want, parallel=4):
    actions = want.plan(hypervisor.observe(conn, want.disk_paths()))
    results = hypervisor.apply(conn, actions, want.by_name, parallel)
    return actions, results


def replan(conn, want):
    return want.plan(hypervisor.observe(conn, want.disk_paths()))


def image_size(path):
    out = subprocess.check_output(['qemu-img', 'info', '--output=json', str(path)])
    return json.loads(out.decode())['virtual-size']


def two_guests():
    return [{'id': 9001, 'cpu': 1, 'mem_mib': 256, 'vda_size': '16M'},
            {'id': 9002, 'cpu': 2, 'mem': 1, 'vda_size': '32M'}]


def test_apply_defines_starts_and_autostarts_and_then_nothing_is_left(conn, tmp_path):
    want = desired(tmp_path, two_guests())
    actions, results = run_once(conn, want)
    assert [r.ok for r in results] == [True, True]
    assert P.changes(replan(conn, want)) == []
    for name, vcpu, mem_kib, size in (('9001_vm', 1, 256 * 1024, 16 << 20),
                                      ('9002_vm', 2, 1024 * 1024, 32 << 20)):
        domain = conn.lookupByName(name)
        assert domain.isActive() and domain.autostart()
        facts = render.parse_domain(domain.XMLDesc(0))
        assert (facts.vcpu, facts.memory_kib) == (vcpu, mem_kib)
        assert image_size(tmp_path / 'disks' / (name + '.img')) == size


def test_second_run_is_a_no_op(conn, tmp_path):
    want = desired(tmp_path, two_guests())
    run_once(conn, want)
    xml_before = [conn.lookupByName(n).XMLDesc(0) for n in ('9001_vm', '9002_vm')]
    actions, results = run_once(conn, want)
    assert [(a.kind, a.name) for a in actions] == [('no-op', '9001_vm'), ('no-op', '9002_vm')]
    assert results == []
    assert [conn.lookupByName(n).XMLDesc(0) for n in ('9001_vm', '9002_vm')] == xml_before


def test_a_stopped_guest_is_started_and_lost_autostart_set_again(conn, tmp_path):
    want = desired(tmp_path, two_guests() + [{'id': 9003, 'mem_mib': 128, 'vda_size': '1M'}])
    run_once(conn, want)
    conn.lookupByName('9001_vm').destroy()
    conn.lookupByName('9003_vm').setAutostart(0)
    actions, results = run_once(conn, want)
    assert [(a.kind, a.name) for a in P.changes(actions)] == [
        ('start', '9001_vm'), ('autostart', '9003_vm')]
    assert [r.ok for r in results] == [True, True]
    assert P.changes(replan(conn, want)) == []


class Counted(object):
    """A libvirt object whose method calls are counted in calls (name ->
    count); the domains a counted connection lists are counted too."""

    def __init__(self, target, calls, prefix=''):
        self.target, self.calls, self.prefix = target, calls, prefix

    def __getattr__(self, name):
        method = getattr(self.target, name)

        def counted(*args):
            key = self.prefix + name
            self.calls[key] = self.calls.get(key, 0) + 1
            found = method(*args)
            if name == 'listAllDomains':
                return [Counted(domain, self.calls, 'domain.') for domain in found]
            return found
        return counted


def test_a_no_op_lists_the_domains_twice_and_reads_each_xml_once(conn, tmp_path):
    """State and autostart come from the listings, not from calls per
    domain: one XMLDesc per domain is the only round trip for each."""
    want = desired(tmp_path, two_guests() + [{'id': 9003, 'mem_mib': 128, 'vda_size': '1M'}])
    run_once(conn, want)
    conn.lookupByName('9001_vm').destroy()
    conn.lookupByName('9003_vm').setAutostart(0)
    calls = {}
    observed = hypervisor.observe(Counted(conn, calls), want.disk_paths())
    listed = len(conn.listAllDomains(0))  # ours and the driver's own 'test'
    local = ('domain.name', 'domain.ID')  # answered from the listing itself
    assert dict((k, n) for k, n in calls.items() if k not in local) == {
        'listAllDomains': 2, 'domain.XMLDesc': listed}
    assert [(n, s.active, s.autostart) for n, s in sorted(observed.domains.items())
            if n.endswith('_vm')] == [
        ('9001_vm', False, True), ('9002_vm', True, True), ('9003_vm', True, False)]


def test_changed_entry_is_reported_as_drift_and_not_redefined(conn, tmp_path):
    run_once(conn, desired(tmp_path, two_guests()))
    bigger = two_guests()
    bigger[0]['mem_mib'] = 512
    actions, results = run_once(conn, desired(tmp_path, bigger))
    drift = [a for a in actions if a.kind == 'report-drift']
    assert [(a.name, a.reason) for a in drift] == [
        ('9001_vm', 'kept as defined; vms_conf differs: memory 0.25 GiB -> 0.5 GiB')]
    assert results == []
    facts = render.parse_domain(conn.lookupByName('9001_vm').XMLDesc(0))
    assert facts.memory_kib == 256 * 1024


def test_macs_and_uuid_survive_undefine_and_rerun(conn, tmp_path):
    want = desired(tmp_path, two_guests())
    run_once(conn, want)
    before = conn.lookupByName('9001_vm')
    macs, uid = render.parse_domain(before.XMLDesc(0)).nics, before.UUIDString()
    before.destroy()
    before.undefine()
    actions, results = run_once(conn, want)
    assert [(a.kind, a.name) for a in P.changes(actions)] == [
        ('define', '9001_vm'), ('start', '9001_vm'), ('autostart', '9001_vm')]
    after = conn.lookupByName('9001_vm')
    assert render.parse_domain(after.XMLDesc(0)).nics == macs
    assert after.UUIDString() == uid


def test_existing_image_is_never_overwritten(conn, tmp_path):
    want = desired(tmp_path, two_guests()[:1])
    path = tmp_path / 'disks' / '9001_vm.img'
    path.parent.mkdir()
    subprocess.check_call(['qemu-img', 'create', '-q', '-f', 'qcow2', str(path), '16M'])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    actions, results = run_once(conn, want)
    assert 'create-disk' not in [a.kind for a in actions] and results[0].ok
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    with pytest.raises(OSError):
        hypervisor.create_disk(str(path), 'qcow2', 1 << 20)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_failed_define_leaves_nothing_and_the_next_run_retries(conn, tmp_path):
    """A foreign domain holding the UUID that guest 9002 needs makes its
    define fail: 9002's new image is removed again, 9001 is created."""
    want = desired(tmp_path, two_guests())
    clash = ET.fromstring(want.by_name['9002_vm'][1])
    clash.find('name').text = 'rfg-uuid-clash'
    clash.remove(clash.find('metadata'))
    foreign = conn.defineXML(ET.tostring(clash, encoding='unicode'))
    try:
        actions, results = run_once(conn, want)
        by_name = dict((r.name, r) for r in results)
        assert by_name['9001_vm'].ok and not by_name['9002_vm'].ok
        assert by_name['9002_vm'].undone == ['removed %s' % (tmp_path / 'disks' / '9002_vm.img')]
        assert not (tmp_path / 'disks' / '9002_vm.img').exists()
        assert '9002_vm' not in conn.listDefinedDomains()
        assert [(a.kind, a.name) for a in P.changes(replan(conn, want))] == [
            ('create-disk', '9002_vm'), ('define', '9002_vm'), ('start', '9002_vm'),
            ('autostart', '9002_vm')]
    finally:
        foreign.undefine()
    run_once(conn, want)
    assert conn.lookupByName('9002_vm').isActive()


def test_failed_start_undefines_what_this_run_defined(conn, tmp_path):
    """The test driver refuses to start a domain that is running already;
    a guest whose start fails is undefined again and its image removed."""
    want = desired(tmp_path, two_guests()[:1])
    actions = [P.Action('create-disk', '9001_vm', 'test'), P.Action('define', '9001_vm', 'test'),
               P.Action('start', '9001_vm', 'test'), P.Action('start', '9001_vm', 'again')]
    (result,) = hypervisor.apply(conn, actions, want.by_name, 1)
    assert not result.ok and 'already running' in result.error
    assert result.undone == ['undefined the domain',
                             'removed %s' % (tmp_path / 'disks' / '9001_vm.img')]
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByName('9001_vm')


def test_undeclared_guest_is_reported_then_removed_on_request_keeping_its_disk(conn, tmp_path):
    run_once(conn, desired(tmp_path, two_guests()))
    fewer = desired(tmp_path, two_guests()[:1])
    actions, results = run_once(conn, fewer)
    assert [(a.kind, a.name) for a in actions] == [('no-op', '9001_vm'),
                                                   ('report-undeclared', '9002_vm')]
    assert conn.lookupByName('9002_vm').isActive()
    removing = desired(tmp_path, two_guests()[:1], remove_undeclared_guests=True)
    actions, results = run_once(conn, removing)
    assert [(r.name, r.ok, r.done) for r in results] == [('9002_vm', True, ['remove-undeclared'])]
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByName('9002_vm')
    assert (tmp_path / 'disks' / '9002_vm.img').exists()


def test_domains_not_made_by_the_plugin_are_left_alone(conn, tmp_path):
    names_before = sorted(d.name() for d in conn.listAllDomains(0))
    want = desired(tmp_path, two_guests(), remove_undeclared_guests=True)
    actions, _ = run_once(conn, want)
    assert set(a.name for a in actions) == {'9001_vm', '9002_vm'}
    assert set(names_before) <= set(d.name() for d in conn.listAllDomains(0))


def test_many_guests_in_parallel(conn, tmp_path):
    guests = [{'id': 9010 + i, 'cpu': 1, 'mem_mib': 128, 'vda_size': '1M'} for i in range(8)]
    want = desired(tmp_path, guests)
    actions, results = run_once(conn, want, parallel=4)
    assert len(results) == 8 and all(r.ok for r in results)
    assert P.changes(replan(conn, want)) == []


class StepOrder(object):
    """A connection whose domains record (step, domain name) of the starts
    and autostarts that succeeded, in order."""

    STEPS = {'create': 'start', 'createWithFlags': 'start', 'setAutostart': 'autostart'}

    def __init__(self, target, seen):
        self.target, self.seen = target, seen

    def __getattr__(self, name):
        method = getattr(self.target, name)
        if name in ('defineXML', 'lookupByName'):
            return lambda *args: StepOrder(method(*args), self.seen)
        if name not in self.STEPS:
            return method

        def recorded(*args):
            found = method(*args)
            self.seen.append((self.STEPS[name], self.target.name()))
            return found
        return recorded


def test_every_new_guest_starts_before_any_is_autostarted(conn, tmp_path):
    """Autostart (which resumes a guest started paused) waits until all
    guests of the run have started, even one guest at a time."""
    guests = [{'id': 9020 + i, 'cpu': 1, 'mem_mib': 128, 'vda_size': '1M'} for i in range(3)]
    want = desired(tmp_path, guests)
    actions = want.plan(hypervisor.observe(conn, want.disk_paths()))
    seen = []
    results = hypervisor.apply(StepOrder(conn, seen), actions, want.by_name, 1)
    assert all(r.ok for r in results)
    assert [step for step, _ in seen] == ['start'] * 3 + ['autostart'] * 3
    assert P.changes(replan(conn, want)) == []


def test_status_lists_state_macs_disks_and_admin_mac(conn, tmp_path):
    want = desired(tmp_path, two_guests())
    run_once(conn, want)
    conn.lookupByName('9002_vm').destroy()
    rows = hypervisor.status(conn, '97', ['9001_vm', '9002_vm', '9003_vm'])
    assert [(r['name'], r['state']) for r in rows] == [
        ('9001_vm', 'running'), ('9002_vm', 'shut off'), ('9003_vm', 'not defined')]
    first = rows[0]
    assert first['admin_mac'] == render.guest_mac('97', 9001, 0)
    assert [n['bridge'] for n in first['nics']] == ['rfg-adm', 'rfg-pub']
    assert first['disks'][0]['virtual_bytes'] == 16 << 20 and first['autostart'] is True


def test_disks_created_at_once_share_a_new_directory(tmp_path):
    """Parallel guests make the disk directory together; none may fail."""
    import concurrent.futures
    import threading
    for attempt in range(5):
        directory = tmp_path / ('dir%d' % attempt) / 'disks'
        start = threading.Barrier(8)

        def create(index):
            start.wait()
            hypervisor.create_disk(str(directory / ('%d.img' % index)), 'qcow2', 1 << 20)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(create, range(8)))
        assert sorted(p.name for p in directory.iterdir()) == ['%d.img' % i for i in range(8)]


class BrokenConn(object):
    """A connection whose libvirtd died: every call raises libvirtError."""

    def listAllDomains(self, flags):
        raise libvirt.libvirtError('End of file while reading data: Input/output error')


def test_a_libvirt_error_while_observing_is_a_hypervisor_error():
    with pytest.raises(hypervisor.HypervisorError) as caught:
        hypervisor.observe(BrokenConn(), [])
    assert str(caught.value).startswith('libvirt: listing the domains failed: ')
    with pytest.raises(hypervisor.HypervisorError):
        hypervisor.status(BrokenConn(), '97', [])


def test_libvirt_lost_after_apply_is_exit_4_not_a_traceback(conn, tmp_path, monkeypatch):
    want = desired(tmp_path, two_guests())
    args = cli.parse_args(['apply', '--connect', 'test:///default', '--log-file', ''])
    cli.setup_logging('', False)
    actions = want.plan(hypervisor.observe(conn, want.disk_paths()))

    def lost(*_):
        raise hypervisor.HypervisorError('libvirt: listing the domains failed: EOF')
    monkeypatch.setattr(hypervisor, 'observe', lost)
    connection = reconcile.Connection(hypervisor, conn)
    assert cli.finish_apply(args, connection, want, actions) == cli.LIBVIRT_LOST


@pytest.mark.parametrize('disk_format', ['qcow2', 'raw'])
def test_a_new_disk_is_private_whatever_the_umask(tmp_path, disk_format):
    """Guest disks hold the guest's secrets: 0600, not 0644 under umask 022."""
    path = tmp_path / 'disks' / '9001_vm.img'
    old = os.umask(0o022)
    try:
        hypervisor.create_disk(str(path), disk_format, 1 << 20)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_apply_tightens_an_earlier_world_readable_disk_and_says_so(tmp_path):
    """A disk an older release made 0644 is made 0600; other files stay."""
    want = desired(tmp_path, two_guests()[:1])
    disks = tmp_path / 'disks'
    disks.mkdir()
    ours, other = disks / '9001_vm.img', disks / 'operator-notes.img'
    subprocess.check_call(['qemu-img', 'create', '-q', '-f', 'qcow2', str(ours), '16M'])
    other.write_text(u'kept as it is')
    for path in (ours, other):
        path.chmod(0o644)
    tightened = hypervisor.tighten_disks(want.disk_paths())
    assert stat.S_IMODE(ours.stat().st_mode) == 0o600
    assert stat.S_IMODE(other.stat().st_mode) == 0o644
    assert tightened == ['%s was mode 0644: now 0600 (guest disks are private)' % ours]
    assert hypervisor.tighten_disks(want.disk_paths()) == []

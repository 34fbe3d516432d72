"""Retiring real KVM guests on qemu:///system with the task command as
Astute runs it: a guest whose disk was written (an MBR and a few MiB) is
kept by apply and by a retire without the right confirmation, retired with
it (disk kept byte for byte), and comes back the same after its entry
returns; a never-provisioned guest is still removed by apply.

Run under `flock /tmp/rf-kvm-tests.lock`: other real-KVM runs on this
libvirtd remove every test domain 9001-9099. Guest ids here: 9060-9079."""
import hashlib
import os

import libvirt
import pytest

from guestlib import astute_doc, run_cmd, task_env, write_astute, TEST_NODE_UID
from lab import interpreters
from virt_guests import hypervisor, render

pytestmark = [pytest.mark.kvm, pytest.mark.slow]
BRIDGE = 'rfg-ret-adm'
MIB = 1024 * 1024
WRITTEN = {'id': 9060, 'cpu': 1, 'mem_mib': 256, 'vda_size': '16M'}
EMPTY = {'id': 9061, 'cpu': 1, 'mem_mib': 256, 'vda_size': '16M'}


class Node(object):
    """One virt node: its astute.yaml, plugin directory, disks and log."""

    def __init__(self, tmp_path, plugin_dir, disk_dir, uri):
        self.astute, self.log = tmp_path / 'astute.yaml', tmp_path / 'virt-guests.log'
        self.plugin_dir, self.disk_dir = plugin_dir, disk_dir
        self.conn = libvirt.open(uri)
        # As on a stock Fuel 8.0/9.0 node: Python 2.7 is the only Python.
        self.path = interpreters.stock_fuel_path(tmp_path / 'node-bin')

    def write(self, guests, **settings):
        # hypervisor-default: qemu cannot start host-model guests everywhere
        # (AMD EPYC under kvm_pvm: 'failed to set MSR 0x10a').
        values = {'guest_disk_dir': str(self.disk_dir), 'guest_disk_cache': 'unsafe',
                  'guest_disk_format': 'raw', 'guest_cpu_model': 'hypervisor-default'}
        values.update(settings)
        write_astute(self.astute, astute_doc(guests, settings=values, bridges=(BRIDGE,)))

    def run(self, args):
        return run_cmd('sh virt-guests ' + args, self.plugin_dir,
                       task_env(self.astute, self.log, self.path), timeout=300)

    def defined(self, name):
        return name in [d.name() for d in self.conn.listAllDomains(0)]

    def domain(self, name):
        return self.conn.lookupByName(name)

    def image(self, name):
        return str(self.disk_dir / (name + '.img'))

    def sha256(self, name):
        digest = hashlib.sha256()
        with open(self.image(name), 'rb') as stream:
            for block in iter(lambda: stream.read(MIB), b''):
                digest.update(block)
        return digest.hexdigest()


@pytest.fixture
def node(kvm_uri, tmp_path, plugin_dir, disk_dir, make_bridge):
    make_bridge(BRIDGE)
    yield Node(tmp_path, plugin_dir, disk_dir, kvm_uri)


def provision(node, name):
    """What an installer leaves: an MBR signature and a few MiB of data,
    written to the raw image while the guest is shut off."""
    node.domain(name).destroy()
    with open(node.image(name), 'r+b') as disk:
        disk.seek(510)
        disk.write(b'\x55\xaa')
        disk.seek(2 * MIB)
        disk.write(b'\x5a' * (3 * MIB))
    node.domain(name).create()


def up(node, guests, **settings):
    node.write(guests, **settings)
    result = node.run('apply')
    assert result.returncode == 0, result.stdout
    return result


def test_disk_measurement_of_real_images(tmp_path):
    """qemu-img map and the first sectors: raw and qcow2, empty and written."""
    raw, qcow2 = str(tmp_path / 'r.img'), str(tmp_path / 'q.img')
    hypervisor.create_disk(raw, 'raw', 16 * MIB)
    hypervisor.create_disk(qcow2, 'qcow2', 16 * MIB)
    for path, fmt in ((raw, 'raw'), (qcow2, 'qcow2')):
        empty = hypervisor.measure(path, fmt)
        assert empty.error is None and empty.partition_table is None
        assert empty.data_bytes < MIB
    with open(raw, 'r+b') as disk:
        disk.seek(512)
        disk.write(b'EFI PART')
    assert hypervisor.measure(raw, 'raw').partition_table == 'GPT'
    hypervisor.commands.check(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0x55 510 1',
                               '-c', 'write -P 0xaa 511 1', '-c', 'write 2M 3M', qcow2])
    written = hypervisor.measure(qcow2, 'qcow2')
    assert (written.partition_table, written.error) == ('MBR', None)
    assert written.data_bytes >= 3 * MIB
    assert hypervisor.measure(str(tmp_path / 'none.img'), 'raw').error == \
        'no image file at %s' % (tmp_path / 'none.img')


def test_a_provisioned_guest_is_kept_then_retired_then_comes_back_the_same(node):
    name = '9060_vm'
    up(node, [WRITTEN])
    provision(node, name)
    uuid = node.domain(name).UUIDString()
    admin_mac = render.parse_domain(node.domain(name).XMLDesc(0)).nics[0].mac
    assert admin_mac == render.guest_mac(TEST_NODE_UID, 9060, 0)

    # (a) apply with removal on keeps it, and says why and how to retire it
    result = up(node, [], remove_undeclared_guests=True)
    assert 'keep-provisioned' in result.stdout and name in result.stdout
    assert 'a partition table (MBR), 3 MiB written' in result.stdout
    assert 'sh virt-guests retire 9060_vm --confirm 9060_vm' in result.stdout
    assert node.domain(name).isActive() and node.domain(name).autostart()
    plan = node.run('plan')
    assert plan.returncode == 0 and 'keep-provisioned' in plan.stdout, plan.stdout

    # ... and so does retire without the confirmation or with a wrong one
    for args, says in (
            ('retire 9060_vm', 'retiring 9060_vm needs --confirm 9060_vm'),
            ('retire 9060_vm --confirm 9061_vm', "--confirm '9061_vm' does not repeat"),
            ('retire 9060 --confirm 9060', "'9060' is not a guest name"),
            ('retire 9069_vm --confirm 9069_vm', 'there is no guest 9069_vm')):
        result = node.run(args)
        assert result.returncode == 2, (args, result.stdout)
        assert says in result.stdout, result.stdout
        assert 'refused, nothing was changed' in result.stdout
        assert '(guests of this node that can be retired: 9060_vm)' in result.stdout \
            or 'needs --confirm' in says
        assert node.domain(name).isActive() and node.domain(name).UUIDString() == uuid

    dry = node.run('retire 9060_vm --confirm 9060_vm --dry-run')
    assert dry.returncode == 0, dry.stdout
    assert 'dry run, nothing is changed' in dry.stdout
    assert 'keep-disk' in dry.stdout and node.image(name) in dry.stdout
    assert node.domain(name).isActive()

    # (b) confirmed: stopped and undefined, the disk kept byte for byte
    before = node.sha256(name)
    result = node.run('retire 9060_vm --confirm 9060_vm')
    assert result.returncode == 0, result.stdout
    for kind in ('stop', 'undefine', 'keep-disk'):
        assert kind in result.stdout
    assert 'to undo: put {"id": 9060} back into vms_conf' in result.stdout
    assert not node.defined(name)
    assert node.sha256(name) == before
    inode = os.stat(node.image(name)).st_ino

    # (c) the entry comes back: same guest, same disk, untouched
    node.write([WRITTEN], remove_undeclared_guests=True)
    plan = node.run('plan')
    assert 'reuses the existing image %s as it is' % node.image(name) in plan.stdout
    assert 'create-disk' not in plan.stdout
    assert node.sha256(name) == before
    result = node.run('apply')
    assert result.returncode == 0, result.stdout
    domain = node.domain(name)
    facts = render.parse_domain(domain.XMLDesc(0))
    assert domain.isActive() and domain.autostart() and domain.UUIDString() == uuid
    assert facts.nics[0].mac == admin_mac
    assert [d.path for d in facts.disks] == [node.image(name)]
    assert os.stat(node.image(name)).st_ino == inode
    assert hypervisor.measure(node.image(name), 'raw').partition_table == 'MBR'


def test_a_guest_still_in_vms_conf_is_not_retired(node):
    up(node, [WRITTEN])
    result = node.run('retire 9060_vm --confirm 9060_vm')
    assert result.returncode == 2
    assert ('9060_vm is still in vms_conf: remove it from vms_conf first, or the next '
            'deploy defines it again') in result.stdout
    assert node.domain('9060_vm').isActive()


def test_a_never_provisioned_guest_is_removed_by_apply_keeping_its_disk(node):
    up(node, [WRITTEN, EMPTY])
    provision(node, '9060_vm')
    result = up(node, [], remove_undeclared_guests=True)
    assert 'remove-undeclared' in result.stdout and 'never provisioned' in result.stdout
    assert not node.defined('9061_vm') and os.path.exists(node.image('9061_vm'))
    assert node.domain('9060_vm').isActive()


def test_no_vms_conf_with_removal_on_is_refused_and_nothing_removed(node):
    up(node, [EMPTY])
    node.write(None, remove_undeclared_guests=True)
    result = node.run('apply')
    assert result.returncode == 2
    assert 'vms_conf: got nothing (null)' in result.stdout
    assert 'explicit empty list `vms_conf: []`' in result.stdout
    assert node.domain('9061_vm').isActive()


def test_a_never_provisioned_guest_can_be_retired_with_its_disk(node):
    up(node, [EMPTY])
    node.write([])
    result = node.run('retire 9061_vm --confirm 9061_vm --remove-disk')
    assert result.returncode == 0, result.stdout
    assert 'remove-disk' in result.stdout and 'never provisioned' in result.stdout
    assert not node.defined('9061_vm') and not os.path.exists(node.image('9061_vm'))

"""Real KVM guests on qemu:///system, created by the plugin's tasks run the
way Astute runs them: each task of deployment_tasks.yaml (puppet apply of its
manifest) in a copy of
deployment_scripts, with astute.yaml in place (RF_ASTUTE_YAML), on a PATH
whose only Python is python2.7 (stock Fuel 8.0/9.0 node) or python3."""
import json
import os
import pwd
import stat
import subprocess

import libvirt
import pytest

from guestlib import (astute_doc, plugin_tasks, run_cmd, run_task, task_env, write_astute,
                      TEST_NODE_UID)
from lab import kvm
from virt_guests import render

pytestmark = [pytest.mark.kvm, pytest.mark.slow]


class Node(object):
    """One virt node: its astute.yaml, its plugin directory, its log."""

    def __init__(self, tmp_path, plugin_dir, disk_dir, uri, path):
        self.astute = tmp_path / 'astute.yaml'
        self.log = tmp_path / 'virt-guests.log'
        self.plugin_dir, self.disk_dir, self.path = plugin_dir, disk_dir, path
        self.uri, self.conn = uri, libvirt.open(uri)

    def write(self, guests, bridges=('rfg-adm', 'rfg-pub'), **settings):
        values = {'guest_disk_dir': str(self.disk_dir), 'guest_disk_cache': 'unsafe',
                  'guest_cpu_model': kvm.guest_cpu_model(self.uri)}
        values.update(settings)
        write_astute(self.astute, astute_doc(guests, settings=values, bridges=bridges))

    def run(self, cmd, timeout=600):
        return run_cmd(cmd, self.plugin_dir, task_env(self.astute, self.log, self.path),
                       timeout)

    def run_tasks(self):
        outputs = []
        for task in plugin_tasks():
            result = run_task(task, self.plugin_dir,
                              task_env(self.astute, self.log, self.path))
            assert result.returncode == 0, (task['id'], result.stdout)
            outputs.append(result.stdout)
        return outputs

    def domain(self, name):
        return self.conn.lookupByName(name)

    def defined(self, name):
        return name in [d.name() for d in self.conn.listAllDomains(0)]

    def assert_private_and_qemus(self, name):
        """0600, and (dynamic_ownership) handed to qemu's user while it runs."""
        image = os.stat(str(self.disk_dir / (name + '.img')))
        assert stat.S_IMODE(image.st_mode) == 0o600
        assert pwd.getpwuid(image.st_uid).pw_name == 'libvirt-qemu'

    def image_info(self, name):
        out = subprocess.check_output(['qemu-img', 'info', '-U', '--output=json',
                                       str(self.disk_dir / (name + '.img'))])
        return json.loads(out.decode())


@pytest.fixture
def node(kvm_uri, tmp_path, plugin_dir, disk_dir, make_bridge, node_path):
    make_bridge('rfg-adm')
    make_bridge('rfg-pub')
    yield Node(tmp_path, plugin_dir, disk_dir, kvm_uri, node_path)


SMALL = [{'id': 9001, 'cpu': 1, 'mem_mib': 256, 'vda_size': '16M'},
         {'id': 9002, 'cpu': 1, 'mem_mib': 256, 'vda_size': '32M'}]


def test_tasks_spawn_two_running_guests_and_a_rerun_changes_nothing(node):
    node.write(SMALL)
    node.run_tasks()
    for guest, size in ((9001, 16 << 20), (9002, 32 << 20)):
        name = '%d_vm' % guest
        domain = node.domain(name)
        assert domain.isActive() and domain.autostart()
        assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING  # not left paused
        facts = render.parse_domain(domain.XMLDesc(0))
        assert facts.nics == (
            render.Nic(render.guest_mac(TEST_NODE_UID, guest, 0), 'rfg-adm'),
            render.Nic(render.guest_mac(TEST_NODE_UID, guest, 1), 'rfg-pub'))
        assert facts.memory_kib == 256 * 1024 and facts.vcpu == 1
        info = node.image_info(name)
        assert (info['format'], info['virtual-size']) == ('qcow2', size)
        node.assert_private_and_qemus(name)
    ids = [node.domain(n).ID() for n in ('9001_vm', '9002_vm')]
    again = node.run('sh virt-guests apply')
    assert again.returncode == 0, again.stdout
    assert ('nothing to do: 2 guest(s) already defined, running, autostart on; '
            'no change made') in again.stdout
    assert [node.domain(n).ID() for n in ('9001_vm', '9002_vm')] == ids


def test_macs_and_uuid_are_unchanged_after_undefine_and_rerun(node):
    node.write(SMALL)
    assert node.run('sh virt-guests apply').returncode == 0
    domain = node.domain('9001_vm')
    macs, uuid = render.parse_domain(domain.XMLDesc(0)).nics, domain.UUIDString()
    image = os.stat(str(node.disk_dir / '9001_vm.img'))
    domain.destroy()
    domain.undefine()
    result = node.run('sh virt-guests apply')
    assert result.returncode == 0, result.stdout
    assert 'verified: a new plan has no changes left' in result.stdout
    again = node.domain('9001_vm')
    assert render.parse_domain(again.XMLDesc(0)).nics == macs
    assert again.UUIDString() == uuid and again.isActive() and again.autostart()
    assert os.stat(str(node.disk_dir / '9001_vm.img')).st_ino == image.st_ino


def test_status_shows_state_macs_disks_and_the_admin_mac(node):
    node.write(SMALL)
    assert node.run('sh virt-guests apply').returncode == 0
    # The log goes to stderr with --json; keep it out of the JSON.
    result = node.run('sh virt-guests status --json 2>status.log')
    log = (node.plugin_dir / 'status.log').read_text()
    assert result.returncode == 0, result.stdout + log
    rows = json.loads(result.stdout)
    assert [(r['name'], r['state'], r['autostart']) for r in rows] == [
        ('9001_vm', 'running', True), ('9002_vm', 'running', True)]
    assert rows[0]['admin_mac'] == render.guest_mac(TEST_NODE_UID, 9001, 0)
    assert rows[1]['disks'][0]['virtual_bytes'] == 32 << 20
    text = node.run('sh virt-guests status').stdout
    assert 'admin-mac=%s' % rows[0]['admin_mac'] in text


def test_a_guest_a_stopped_run_left_paused_is_resumed_and_autostarted(node):
    """apply starts new guests paused and resumes them before it turns
    autostart on; a run stopped in between leaves a paused guest with
    autostart off, which the next run must not take as done."""
    node.write(SMALL[:1])
    assert node.run('sh virt-guests apply').returncode == 0
    domain = node.domain('9001_vm')
    domain.setAutostart(0)
    domain.suspend()
    result = node.run('sh virt-guests apply')
    assert result.returncode == 0, result.stdout
    assert 'autostart          9001_vm' in result.stdout
    assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING and domain.autostart()


def test_a_guest_that_cannot_start_leaves_nothing_and_is_retried(node):
    """qemu cannot allocate 3000 GiB: that guest is undefined again and its
    new image removed; the other guest of the run is up."""
    guests = [{'id': 9003, 'cpu': 1, 'mem': 3000, 'vda_size': '16M'},
              {'id': 9004, 'cpu': 1, 'mem_mib': 256, 'vda_size': '16M'}]
    node.write(guests, allow_mem_overcommit=True)
    result = node.run('sh virt-guests apply')
    assert result.returncode == 1
    assert 'guest 9003_vm failed' in result.stdout and 'the next run retries it' in result.stdout
    assert not node.defined('9003_vm')
    assert not (node.disk_dir / '9003_vm.img').exists()
    assert node.domain('9004_vm').isActive()
    guests[0] = {'id': 9003, 'cpu': 1, 'mem_mib': 256, 'vda_size': '16M'}
    node.write(guests)
    result = node.run('sh virt-guests apply')
    assert result.returncode == 0, result.stdout
    assert node.domain('9003_vm').isActive()


def test_a_bogus_emulator_in_an_override_template_leaves_nothing(node, tmp_path):
    template = (node.plugin_dir / 'templates' / 'guest-domain.xml').read_text()
    override = tmp_path / 'broken-template.xml'
    override.write_text(template.replace(
        '<devices>', '<devices>\n    <emulator>/usr/bin/rfg-no-such-qemu</emulator>'))
    node.write(SMALL[:1], guest_domain_template=str(override))
    result = node.run('sh virt-guests apply')
    assert result.returncode == 1
    assert 'rfg-no-such-qemu' in result.stdout
    assert not node.defined('9001_vm')
    assert not (node.disk_dir / '9001_vm.img').exists()


def test_a_missing_bridge_is_refused_before_anything_is_created(node):
    node.write(SMALL, bridges=('rfg-adm', 'rfg-gone'))
    result = node.run('sh virt-guests apply')
    assert result.returncode == 3
    assert 'bridge rfg-gone is missing on this node' in result.stdout
    assert not node.defined('9001_vm') and not node.defined('9002_vm')
    assert not node.disk_dir.exists()


def test_a_changed_entry_is_reported_and_the_running_guest_kept(node):
    node.write(SMALL)
    assert node.run('sh virt-guests apply').returncode == 0
    domain_id = node.domain('9001_vm').ID()
    bigger = [dict(SMALL[0], mem_mib=512, cpu=2), SMALL[1]]
    node.write(bigger)
    result = node.run('sh virt-guests apply')
    assert result.returncode == 0, result.stdout
    assert 'kept as defined; vms_conf differs: vcpu 1 -> 2' in result.stdout
    assert 'memory 0.25 GiB -> 0.5 GiB' in result.stdout
    facts = render.parse_domain(node.domain('9001_vm').XMLDesc(0))
    assert (facts.vcpu, facts.memory_kib) == (1, 256 * 1024)
    assert node.domain('9001_vm').ID() == domain_id

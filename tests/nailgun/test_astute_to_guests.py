"""From nailgun to running guests: the astute.yaml that the real nailgun
serializes for a virt node becomes the node's astute.yaml, and the plugin's
tasks of the recorded deployment message run as Astute would run them
(their type, manifest, cwd and timeout), in the message's order, from the
plugin folder that `fuel plugins --install` laid out. The guests then run
on real KVM with the MACs and bridges asked.

The core tasks before ours (hiera, globals, netconfig ...) are fuel-library's
and need an Ubuntu node: here the lab makes the bridges netconfig would."""
import shutil
import sys
import uuid

import libvirt
import pytest
import yaml

from lab_env import OURS, ids, node_tasks
from nailgun_lab import REPO

sys.path.insert(0, str(REPO / 'tests' / 'guests'))
from guestlib import ip, remove_test_domains, run_task, task_env  # noqa: E402
from lab import kvm  # noqa: E402
from virt_guests import render  # noqa: E402

pytestmark = [pytest.mark.kvm, pytest.mark.slow]
BRIDGES = ('rfg-ng-adm', 'rfg-ng-pub')
GUESTS = [{'id': 9061, 'cpu': 1, 'mem': 1, 'vda_size': '1G'},
          {'id': 9062, 'cpu': 1, 'mem': 1, 'vda_size': '1G'}]


@pytest.fixture
def bridges():
    for name in BRIDGES:
        ip('link', 'del', name, check=False)
        ip('link', 'add', name, 'type', 'bridge')
        ip('link', 'set', name, 'up')
    yield BRIDGES
    for name in BRIDGES:
        ip('link', 'del', name, check=False)


@pytest.fixture
def guests_uri(system_libvirt):
    remove_test_domains(system_libvirt)
    disk_dir = '/var/lib/libvirt/images/rfg-ng-{0}'.format(uuid.uuid4().hex[:8])
    yield system_libvirt, disk_dir
    remove_test_domains(system_libvirt)
    shutil.rmtree(disk_dir, ignore_errors=True)


def deployed_virt_node(env, disk_dir, cpu_model):
    env.set_plugin(enabled=True, guest_bridges=','.join(BRIDGES),
                   guest_disk_dir=disk_dir, guest_disk_cache='unsafe',
                   guest_cpu_model=cpu_model, host_reserved_mem_gib='1')
    node = env.add_node(['rf-virt'])
    env.set_vms_conf(node, GUESTS)
    env.provisioned(node)
    message = env.deploy(node)
    tasks = node_tasks(message, node)
    if message['method'] == 'granular_deploy':
        [tasks] = tasks
    return node, [t for t in tasks if t['id'] in OURS]


def test_nailguns_astute_yaml_and_message_make_the_guests(
        nailgun, env, bridges, guests_uri, tmp_path):
    uri, disk_dir = guests_uri
    node, tasks = deployed_virt_node(env, disk_dir, kvm.guest_cpu_model(uri))
    assert ids(tasks) == list(OURS)
    astute = tmp_path / 'astute.yaml'
    # The rf-virt role's astute.yaml (8.0 makes one per role).
    docs = [d for d in env.astute_yaml(node) if d.get('role', 'rf-virt') == 'rf-virt']
    astute.write_text(yaml.safe_dump(docs[0]))
    plugin_dir = nailgun.plugins / 'reduced-footprint-1.0' / 'deployment_scripts'
    env_vars = task_env(astute, tmp_path / 'virt-guests.log')
    for task in tasks:
        assert task['parameters']['cwd'] == '/etc/fuel/plugins/reduced-footprint-1.0/'
        result = run_task(task, plugin_dir, env_vars)
        assert result.returncode == 0, (task['id'], result.stdout[-4000:])
    conn = libvirt.open(uri)
    try:
        for guest in GUESTS:
            domain = conn.lookupByName('{0}_vm'.format(guest['id']))
            assert domain.isActive() and domain.autostart()
            xml = domain.XMLDesc(0)
            for index, bridge in enumerate(BRIDGES):
                mac = render.guest_mac(str(node), guest['id'], index)
                assert mac in xml and "bridge='{0}'".format(bridge) in xml, xml
            assert domain.info()[1] == 1024 * 1024        # KiB: mem 1 GiB
    finally:
        conn.close()

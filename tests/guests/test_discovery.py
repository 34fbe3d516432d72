"""Discovery proof: guests spawned by the tasks PXE-boot on the admin
network. A network namespace plays the Fuel master (10.97.0.2) with dnsmasq
serving DHCP and TFTP on the admin bridge rfg-adm only; each guest's admin
MAC must show up in its DHCP log, as it would for Fuel's discovery.

On this kind of machine iPXE stalls at "starting execution" under its KVM
(a sandboxed /dev/kvm without kvm_intel), while SeaBIOS and the guests run.
So the guests of this proof run under TCG (domain type 'qemu'), through the
operator's template override that the plugin supports: same XML, same
MACs, same NICs and boot order as the KVM guests of test_kvm.py."""
import pathlib
import re
import time

import pytest

from guestlib import TEST_NODE_UID, astute_doc, plugin_tasks, run_task, task_env, write_astute
from lab import pxe
from virt_guests import render

pytestmark = [pytest.mark.kvm, pytest.mark.slow]
NETNS, NS_IF, BR_IF = 'rfg-master', 'rfg-mst0', 'rfg-mst1'
MASTER_IP = '10.97.0.2'


@pytest.fixture
def fuel_master(tmp_path, make_bridge):
    """dnsmasq in its own netns, wired to rfg-adm by a veth pair."""
    make_bridge('rfg-adm')
    with pxe.master(tmp_path, 'rfg-adm', NETNS, (BR_IF, NS_IF), MASTER_IP,
                    '10.97.0.100,10.97.0.199') as (log, leases):
        yield pathlib.Path(log), pathlib.Path(leases)


def wait_for(predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(1)
    return predicate()


def text_of(path):
    return path.read_text().lower() if path.exists() else ''


def test_each_guest_asks_the_admin_network_for_dhcp(kvm_uri, fuel_master, tmp_path,
                                                    plugin_dir, disk_dir):
    log, leases = fuel_master
    guests = [{'id': 9011, 'cpu': 1, 'mem_mib': 256, 'vda_size': '16M'},
              {'id': 9012, 'cpu': 1, 'mem_mib': 256, 'vda_size': '16M'}]
    template = (plugin_dir / 'templates' / 'guest-domain.xml').read_text()
    override = tmp_path / 'tcg-template.xml'
    override.write_text(template.replace("<domain type='kvm'>", "<domain type='qemu'>"))
    astute = write_astute(tmp_path / 'astute.yaml', astute_doc(
        guests, settings={'guest_disk_dir': str(disk_dir), 'guest_cpu_model': 'hypervisor-default',
                          'guest_domain_template': str(override)}, bridges=('rfg-adm',)))
    env = task_env(astute, tmp_path / 'virt-guests.log')
    for task in plugin_tasks():
        result = run_task(task, plugin_dir, env)
        assert result.returncode == 0, (task['id'], result.stdout)
    macs = [render.guest_mac(TEST_NODE_UID, g['id'], 0) for g in guests]
    discovered = wait_for(lambda: all(
        re.search(r'dhcpdiscover\(%s\) %s' % (NS_IF, mac), text_of(log)) for mac in macs), 180)
    assert discovered, 'no DHCPDISCOVER from %s in:\n%s' % (macs, text_of(log)[-3000:])
    # The offer carries the boot file of the master's TFTP server; the
    # guests' iPXE takes the lease and asks TFTP for it.
    assert wait_for(lambda: all(mac in text_of(leases) for mac in macs), 120), text_of(log)[-3000:]
    assert wait_for(lambda: 'pxelinux.0' in text_of(log) and 'tftp' in text_of(log), 60)

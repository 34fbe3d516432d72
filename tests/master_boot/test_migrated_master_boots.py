"""Proof on a real OS image: a Debian root playing the Fuel master is
migrated by the single-file rf-migrate-master (run in the master's network
namespace, real ssh to this host, real libvirtd) into a guest that boots
from its own disk and serves the master's data at the master's address.

Checked the way an operator would, from another host on the admin network
(netns rfb-op): ssh with the master's own host key, the API, the records.
"""
import json
import time

import pytest

from lab import hostlab, virt

from . import boot_lab
from . import guest
from . import master_config as cfg

pytestmark = [pytest.mark.slow, pytest.mark.kvm]


@pytest.fixture(scope='module')
def migrated(system_libvirt, zipapp, tmp_path_factory):
    """A finished migration; everything rfb-* removed afterwards."""
    with boot_lab.running(tmp_path_factory.mktemp('rfb-boot'), zipapp, 'migration') as bl:
        bl.exit_code, bl.output = bl.migrate()
        yield bl


def test_migration_finishes_and_says_done(migrated):
    assert migrated.exit_code == 0, migrated.failure_report()
    marker = json.loads(migrated.done_marker().read_text())
    assert marker, 'empty done marker on the destination'
    assert (migrated.migration_work / 'done').exists(), \
        'no done marker on the old master'


def test_copy_boots_from_its_own_disk(migrated):
    assert migrated.exit_code == 0, migrated.failure_report()
    _rc, xml = virt.virsh('dumpxml', '--inactive', boot_lab.GUEST_NAME)
    assert '<kernel>' not in xml, 'guest boots a kernel from outside its disk'
    assert guest.boot_order_first_is_disk(boot_lab.GUEST_NAME), xml
    assert virt.disk_paths(boot_lab.GUEST_NAME) == [str(migrated.disk_path())]
    _rc, info = virt.virsh('dominfo', boot_lab.GUEST_NAME)
    assert 'Autostart:      enable' in info, info
    rc, out = migrated.operator.ssh(
        'hostname; findmnt -n -o SOURCE /; test -e %s && echo marked'
        % cfg.MIGRATED_MARKER)
    assert rc == 0, out + migrated.failure_report()
    assert out.split() == [cfg.HOSTNAME, '/dev/vda1', 'marked'], out


def test_copy_boot_config_names_its_own_disk(migrated):
    """What the post-migrate step changed: the kernel's root and fstab name
    the guest's file system, no longer the old machine's disk."""
    assert migrated.exit_code == 0, migrated.failure_report()
    rc, out = migrated.operator.ssh(
        'findmnt -n -o UUID /; cat /proc/cmdline; cat /etc/fstab')
    assert rc == 0, out
    uuid, cmdline, fstab = out.split('\n', 2)
    assert 'root=UUID=%s' % uuid in cmdline.split(), cmdline
    active = [line.split() for line in fstab.splitlines()
              if line.strip() and not line.lstrip().startswith('#')]
    assert ['UUID=%s' % uuid, '/'] in [fields[:2] for fields in active], fstab
    assert not any('UUID=' + cfg.PHYSICAL_ROOT_UUID in fields
                   for fields in active), fstab


def test_copy_made_bootable_before_the_stop(migrated):
    """GRUB and the initramfs ran while the master served; with no boot
    file changed after that, the stopped phase does not run them again."""
    assert migrated.exit_code == 0, migrated.failure_report()
    out = migrated.output
    assert out.index('boot loader installed') < out.index('downtime starts')
    assert out.count('boot loader installed') == 1, out[-4000:]
    assert 'kept from the warm phase' in out, out[-4000:]


def test_copy_serves_every_record_at_the_admin_address(migrated):
    assert migrated.exit_code == 0, migrated.failure_report()
    written = migrated.ledger()
    served = migrated.operator.api('/records')
    assert served is not None, 'no API at the admin address'
    missing = sorted(set(written) - set(served))
    assert not missing, '%d records lost, e.g. %s' % (len(missing), missing[:5])
    assert served == written
    assert migrated.operator.api('/health')['migrated'] is True


def test_old_master_left_the_admin_network(migrated):
    assert migrated.exit_code == 0, migrated.failure_report()
    addresses = hostlab.netns_addresses(boot_lab.MASTER_NS)
    assert cfg.ADMIN['ipaddress'] not in addresses, addresses
    assert addresses == [boot_lab.INTERIM_ADDRESS], addresses
    _rc, link = hostlab.nsrun(boot_lab.MASTER_NS, ['ip', '-j', 'link', 'show',
                                                   cfg.ADMIN['interface']])
    assert json.loads(link)[0]['address'] != cfg.ADMIN['mac'], \
        'old master still uses the admin MAC the guest now has'
    _rc, events = hostlab.run(['cat', str(migrated.state / 'events')])
    assert events.split()[-2] == 'stopped', events


def test_second_boot_comes_up_the_same(migrated):
    assert migrated.exit_code == 0, migrated.failure_report()
    _rc, first_boot = migrated.operator.ssh('cat /proc/sys/kernel/random/boot_id')
    virt.virsh('destroy', boot_lab.GUEST_NAME)
    hostlab.wait_for(lambda: migrated.operator.api('/health') is None, 30,
                     'the destroyed guest to stop answering')
    virt.virsh('start', boot_lab.GUEST_NAME)
    started = time.monotonic()
    try:
        migrated.operator.wait_answering(600, 'the guest after its second boot')
    except AssertionError:
        pytest.fail('second boot did not answer' + migrated.failure_report())
    migrated.times['second_boot_to_answering_s'] = time.monotonic() - started
    _rc, second_boot = migrated.operator.ssh('cat /proc/sys/kernel/random/boot_id')
    assert second_boot.strip() and second_boot != first_boot
    assert migrated.operator.api('/records') == migrated.ledger()

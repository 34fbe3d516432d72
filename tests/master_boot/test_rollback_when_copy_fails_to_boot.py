"""Rollback proof on the real OS image: the copy is made unbootable after
the post-migrate step (a boot entry pointing at a kernel that is not
there), the switch-over starts it, it never answers, and the old master
takes its address back and serves again with nothing lost.

The break goes in at a step boundary the script offers to operators
(--stop-after post_migrate, edit the mounted copy, --resume): no test hook
in the product.
"""
import json
import re
import time

import pytest

from lab import hostlab, virt

from . import boot_lab
from . import master_config as cfg

pytestmark = [pytest.mark.slow, pytest.mark.kvm]

# Long enough for GRUB to show its error on the serial console, far below a
# good boot's time on no hardware at all.
BOOT_TIMEOUT_S = 120
MISSING_KERNEL = '/boot/vmlinuz-removed-by-test'


def break_boot_entries(grub_cfg):
    """Point every kernel line of the copy's grub.cfg at a missing file."""
    text = grub_cfg.read_text()
    broken, count = re.subn(r'(\n\s*linux\s+)/boot/vmlinuz-\S+',
                            r'\g<1>' + MISSING_KERNEL, text)
    assert count > 0, 'no kernel line in %s:\n%s' % (grub_cfg, text[-2000:])
    grub_cfg.write_text(broken)
    return count


def _measure_outage(bl, resumed):
    """How long the operator had no master: services stopped until the old
    master answered again (for the closing figures; nothing asserted)."""
    try:
        hostlab.wait_for(lambda: bl.operator.api('/health') is not None, 60,
                         'the old master after the rollback')
    except AssertionError:
        return
    now = time.time()
    events = (bl.state / 'events').read_text().split()
    stopped = [float(t) for what, t in zip(events[::2], events[1::2])
               if what == 'stopped']
    bl.times['resume_to_old_master_back_s'] = now - resumed
    if stopped:
        bl.times['outage_stop_to_old_master_back_s'] = now - stopped[-1]


@pytest.fixture(scope='module')
def rolled_back(system_libvirt, zipapp, tmp_path_factory):
    with boot_lab.running(tmp_path_factory.mktemp('rfb-rollback'), zipapp, 'rollback') as bl:
        bl.stop_code, _out = bl.migrate('--stop-after', 'post_migrate',
                                        boot_timeout=BOOT_TIMEOUT_S)
        assert bl.stop_code == 3, bl.failure_report()
        bl.written_before = bl.ledger()
        bl.broken_entries = break_boot_entries(
            bl.copy_mount() / 'boot/grub/grub.cfg')
        resumed = time.time()
        bl.exit_code, bl.output = bl.migrate('--resume',
                                             boot_timeout=BOOT_TIMEOUT_S)
        _measure_outage(bl, resumed)
        yield bl


def test_run_reports_rollback(rolled_back):
    assert rolled_back.exit_code == 1, rolled_back.failure_report()
    assert not rolled_back.done_marker().exists()
    assert not (rolled_back.migration_work / 'done').exists()


def test_guest_really_failed_to_boot_its_broken_entry(rolled_back):
    # The serial console shows why: GRUB could not load the kernel.
    hostlab.wait_for(lambda: MISSING_KERNEL in rolled_back.serial.tail(20000), 5,
                     'GRUB error on the serial console')
    assert virt.state(boot_lab.GUEST_NAME) == 'shut off'
    _rc, info = virt.virsh('dominfo', boot_lab.GUEST_NAME)
    assert 'Autostart:      disable' in info, info


def test_old_master_takes_its_address_back(rolled_back):
    assert rolled_back.exit_code == 1, rolled_back.failure_report()
    addresses = hostlab.netns_addresses(boot_lab.MASTER_NS)
    assert addresses == [cfg.ADMIN['ipaddress']], addresses
    _rc, link = hostlab.nsrun(boot_lab.MASTER_NS, ['ip', '-j', 'link', 'show',
                                                   cfg.ADMIN['interface']])
    assert json.loads(link)[0]['address'] == cfg.ADMIN['mac']


def test_old_master_serves_again_with_nothing_lost(rolled_back):
    assert rolled_back.exit_code == 1, rolled_back.failure_report()
    health = rolled_back.operator.api('/health')
    assert health is not None, 'old master does not answer after rollback'
    assert health['migrated'] is False, 'the copy answered, not the old master'
    # Its writer runs again: new records on top of all the old ones.
    before = len(rolled_back.ledger())
    hostlab.wait_for(lambda: len(rolled_back.ledger()) > before, 30,
                     'the restarted writer to add a record')
    written = rolled_back.ledger()  # read first: all of it is served
    served = rolled_back.operator.api('/records')
    for name, text in rolled_back.written_before.items():
        assert served.get(name) == text, 'record %s lost or changed' % name
    assert all(served.get(name) == text for name, text in written.items())

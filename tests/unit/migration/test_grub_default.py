"""A CentOS 7 master (Fuel 8.0 and 9.0) boots its kernel with the root LV
named for dracut: rd.lvm.lv=os/root. The copy's root is a plain partition,
and dracut waits for each named LV until it gives up into its emergency
shell, so the copy's /etc/default/grub must not name them any more."""
from __future__ import absolute_import, division, print_function

import os

from master_migration import fixes, postmigrate
from recorder import Recorder
from test_migration_dryrun import dry_ctx

CENTOS = '''GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR="$(sed 's, release .*$,,g' /etc/system-release)"
GRUB_DEFAULT=saved
GRUB_CMDLINE_LINUX="console=ttyS0,9600 console=tty0 rd.lvm.lv=os/root \
rd.lvm.lv=os/swap resume=/dev/mapper/os-swap biosdevname=0 crashkernel=none"
GRUB_DISABLE_RECOVERY="true"
'''


def test_the_old_disks_lvm_leaves_the_kernel_arguments():
    text = fixes.rewrite_default_grub(CENTOS)
    lines = text.splitlines()
    assert 'GRUB_CMDLINE_LINUX="console=ttyS0,9600 console=tty0 ' \
           'biosdevname=0 crashkernel=none"' in lines
    assert not [line for line in lines if 'rd.lvm' in line and
                not line.startswith('#')]
    assert lines[1] == CENTOS.splitlines()[1]  # the rest kept as it was


def test_resume_names_the_new_swap_partition_when_there_is_one():
    text = fixes.rewrite_default_grub(CENTOS, swap_uuid='5a-1')
    assert 'crashkernel=none resume=UUID=5a-1"' in text


def test_a_file_without_the_old_disk_is_left_as_it_is():
    debian = 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n'
    assert fixes.rewrite_default_grub(debian) is debian
    shell = 'GRUB_CMDLINE_LINUX="$EXTRA rd.lvm.lv=os/root"\n'
    assert fixes.rewrite_default_grub(shell) is shell  # not ours to parse


def test_the_copy_gets_the_fixed_file_and_the_original_beside_it(tmp_path):
    ctx = dry_ctx(tmp_path, Recorder())
    folder = os.path.join(ctx.params.source_root, 'etc', 'default')
    assert postmigrate.grub_default_files(ctx) == {}  # a master without one
    os.makedirs(folder)
    with open(os.path.join(folder, 'grub'), 'w') as handle:
        handle.write(CENTOS)
    files = postmigrate.grub_default_files(ctx)
    assert files['etc/default/grub.rf-premigrate'] == CENTOS
    assert [line for line in files['etc/default/grub'].splitlines()
            if 'rd.lvm' in line and not line.startswith('#')] == []
    assert 'etc/default/grub' in fixes.CHEAP_FIXED  # kept by the sync

"""Step 6: make the copy boot as a guest. Writes only into the copy on the
destination; originals come from the source tree, so a second run after a
kill gives the same result."""
from __future__ import absolute_import, division, print_function

import os
import time

from master_migration import fixes, remote_sh, template
from master_migration import __version__
from master_migration.steps import ensure_mounted


def read_source(ctx, relpath):
    path = os.path.join(ctx.params.source_root, relpath)
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return None


def in_copy(ctx, relpath):
    return os.path.join(ctx.facts['mount_point'], relpath)


def post_migrate(ctx):
    dev = ensure_mounted(ctx)
    ctx.remote.run(['mkdir', '-p', in_copy(ctx, 'etc/udev/rules.d')])
    fix_fstab(ctx)
    ctx.remote.run(['ln', '-sfn', '../proc/self/mounts',
                    in_copy(ctx, 'etc/mtab')])
    ctx.remote.write_file(
        in_copy(ctx, 'etc/udev/rules.d/70-rf-migrated-net.rules'),
        fixes.udev_net_rules(template.guest_nics(ctx.params, ctx.facts)))
    write_marker(ctx)
    if ctx.params.boot_loader == 'auto':
        out = ctx.remote.sh(remote_sh.BOOT_LOADER, [
            ctx.facts['mount_point'], dev, ctx.facts['root_uuid']],
            timeout=1800).stdout
        ctx.log.info('%s', out.strip().splitlines()[-1] if out.strip()
                     else 'boot loader installed')
    else:
        ctx.log.info('boot loader left as it is (--boot-loader none)')
    ctx.log.info('copy fixed for the guest: fstab by UUID, mtab, NIC names '
                 'by MAC, marker /%s', 'etc/rf-migrated-master')


def fix_fstab(ctx):
    original = read_source(ctx, 'etc/fstab') or ''
    ctx.remote.write_file(in_copy(ctx, 'etc/fstab.rf-premigrate'), original)
    ctx.remote.write_file(in_copy(ctx, 'etc/fstab'), fixes.rewrite_fstab(
        original, ctx.facts['root_uuid'], ctx.facts.get('swap_uuid')))


def write_marker(ctx):
    p = ctx.params
    date = time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())
    ctx.remote.write_file(in_copy(ctx, 'etc/rf-migrated-master'),
                          fixes.marker_text({
                              'tool': 'rf-migrate-master %s' % __version__,
                              'source_address': p.admin_address,
                              'source_mac': p.admin_mac,
                              'destination': p.destination,
                              'guest': p.name, 'date': date}))
    ctx.remote.write_file(in_copy(ctx, 'etc/motd'), fixes.motd_text(
        read_source(ctx, 'etc/motd'), p.name, p.destination, date))

"""Make the copy boot as a guest: once during the warm phase, refreshed
after the final sync. Writes only into the copy on the destination;
originals come from the source tree, so a second run after a kill gives the
same result. With the lines --dry-run prints for each."""
from __future__ import absolute_import, division, print_function

import io
import os
import tarfile
import time

from rf_common.text import to_bytes, to_native

from master_migration import fixes, remote_sh, template
from master_migration import __version__
from master_migration.copydisk import ensure_mounted, lines_mounted
from master_migration.dryrun import LOOP


def read_source(ctx, relpath):
    path = os.path.join(ctx.params.source_root, relpath)
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return None


def post_migrate(ctx):
    """During the warm phase: the copy made bootable as it is now."""
    dev = ensure_mounted(ctx)
    cheap_fixes(ctx)
    boot_loader(ctx, dev)


def refresh_fixes(ctx):
    """After the final sync: the cheap fixes again; the boot loader again
    only when the final sync touched what it depends on."""
    dev = ensure_mounted(ctx)
    cheap_fixes(ctx)
    state, grub = ctx.state, read_source(ctx, 'etc/default/grub')
    touched = state.final_boot_inputs
    fstab_changed = (ctx.params.boot_loader == 'auto' and (
        read_source(ctx, 'etc/fstab') != state.boot_loader_fstab or
        state.is_set('boot_loader_grub') and grub != state.boot_loader_grub))
    if touched or fstab_changed:
        ctx.log.info('boot files changed since the warm phase (%s): boot '
                     'loader again', ', '.join(touched[:5]) or 'etc/fstab')
        boot_loader(ctx, dev)
    else:
        ctx.log.info('boot loader, initramfs and GRUB config kept from the '
                     'warm phase (the final sync touched none of their '
                     'inputs)')


def note_fixed(ctx, paths):
    ctx.state.fixed_paths = sorted(set(ctx.state.fixed_paths + list(paths)))


def cheap_fixes(ctx):
    """fstab by UUID, mtab, NIC names by MAC, marker and motd: one tar
    stream into the copy (one ssh round trip, inside the downtime)."""
    note_fixed(ctx, fixes.CHEAP_FIXED)
    ctx.remote.run(untar_argv(ctx), input_bytes=tar_bytes(cheap_fix_files(
        ctx)))
    ctx.log.info('copy fixed for the guest: fstab by UUID, mtab, NIC names '
                 'by MAC, marker /%s', 'etc/rf-migrated-master')


def untar_argv(ctx):
    return ['tar', '-x', '-C', ctx.facts.mount_point, '-f', '-']


def cheap_fix_files(ctx):
    """relative path -> text, or -> ('link', target)."""
    p = ctx.params
    original = read_source(ctx, 'etc/fstab') or ''
    date = time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())
    files = grub_default_files(ctx)
    files.update({
        'etc/fstab.rf-premigrate': original,
        'etc/fstab': fixes.rewrite_fstab(original, ctx.facts.root_uuid,
                                         ctx.facts.swap_uuid),
        'etc/mtab': ('link', '../proc/self/mounts'),
        'etc/udev/rules.d/70-rf-migrated-net.rules': fixes.udev_net_rules(
            template.guest_nics(p, ctx.facts)),
        'etc/rf-migrated-master': fixes.marker_text({
            'tool': 'rf-migrate-master %s' % __version__,
            'source_address': p.admin_address, 'source_mac': p.admin_mac,
            'destination': p.destination, 'guest': p.name, 'date': date}),
        'etc/motd': fixes.motd_text(read_source(ctx, 'etc/motd'), p.name,
                                    p.destination, date)})
    return files


def grub_default_files(ctx):
    """/etc/default/grub without the old disk's LVM arguments, where the
    master has one (and the original beside it)."""
    original = read_source(ctx, 'etc/default/grub')
    if original is None:
        return {}
    return {'etc/default/grub.rf-premigrate': original,
            'etc/default/grub': fixes.rewrite_default_grub(
                original, ctx.facts.swap_uuid)}


def tar_bytes(files):
    """A tar archive of root-owned 0644 files and symlinks."""
    out = io.BytesIO()
    archive = tarfile.open(fileobj=out, mode='w')
    for name in sorted(files):
        info = tarfile.TarInfo(to_native(name))
        info.mtime, info.mode, info.uid, info.gid = time.time(), 0o644, 0, 0
        if isinstance(files[name], tuple):
            info.type, info.linkname = tarfile.SYMTYPE, files[name][1]
            archive.addfile(info)
        else:
            data = to_bytes(files[name])
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    archive.close()
    return out.getvalue()


def boot_loader(ctx, dev):
    if ctx.params.boot_loader != 'auto':
        ctx.log.info('boot loader left as it is (--boot-loader none)')
        return
    fstab = read_source(ctx, 'etc/fstab')
    out = ctx.remote.sh(*boot_loader_script(ctx, dev), timeout=1800).stdout
    lines = out.strip().splitlines()
    note_fixed(ctx, [line[len('wrote '):] for line in lines
                     if line.startswith('wrote ')])
    ctx.state.boot_loader_fstab = fstab
    ctx.state.boot_loader_grub = read_source(ctx, 'etc/default/grub')
    ctx.log.info('%s', lines[-1] if lines else 'boot loader installed')


def boot_loader_script(ctx, dev):
    return remote_sh.BOOT_LOADER, [ctx.facts.mount_point, dev,
                                   ctx.facts.root_uuid]


def lines_post_migrate(ctx, out):
    lines_mounted(ctx, out)
    lines_fixes(ctx, out)


def lines_refresh_fixes(ctx, out):
    lines_mounted(ctx, out)
    out.note('decided at run time: the boot loader runs again only if the '
             'final sync touched its inputs or etc/fstab changed')
    lines_fixes(ctx, out)


def lines_fixes(ctx, out):
    out.there(untar_argv(ctx), 'a tar of %s' % ', '.join(sorted(
        fixes.CHEAP_FIXED)))
    if ctx.params.boot_loader == 'auto':
        out.script(*boot_loader_script(ctx, LOOP))

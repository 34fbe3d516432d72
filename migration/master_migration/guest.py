"""The guest and its disk on the virt node: defined from the template (not
started), the raw image made, partitioned, formatted and mounted, and
before the switch-over flushed and checked; each with its undo and the
lines --dry-run prints for it. Safe to run again after a kill."""
from __future__ import absolute_import, division, print_function

from master_migration import fixes, remote_sh, template
from master_migration.commands import CommandError, write_file_argv
from master_migration.context import StepFailed
from master_migration.dryrun import LOOP
from master_migration.copydisk import (attach, ensure_mounted,
                                       lines_attach, lines_mounted, mount,
                                       release, release_disk)
from master_migration.units import human_bytes
from master_migration.virsh import guest_is_ours, guest_state


def define_guest(ctx):
    if guest_is_ours(ctx):
        ctx.log.info('guest %s already defined', ctx.params.name)
        return
    if ctx.facts.replace_existing and guest_state(ctx) in (
            'shut off', 'crashed'):
        ctx.log.info('replacing the stopped guest %s (--replace)',
                     ctx.params.name)
        ctx.virsh('undefine', ctx.params.name)
    xml = template.render_domain(ctx.params, ctx.facts)
    ctx.remote.write_file(ctx.facts.xml_path, xml)
    ctx.virsh('define', ctx.facts.xml_path)
    ctx.log.info('guest %s defined (not started, no autostart yet) from %s',
                 ctx.params.name, ctx.facts.xml_path)


def lines_define_guest(ctx, out):
    p, f = ctx.params, ctx.facts
    out.virsh('domuuid', p.name)
    out.note('decided at run time: if it prints %s the guest is defined '
             'already and the step ends here' % f.domain_uuid)
    if f.replace_existing:
        out.virsh('domstate', p.name)
        out.note('decided at run time: if "shut off" or "crashed" '
                 '(--replace):')
        out.virsh('undefine', p.name)
    out.there(write_file_argv(f.xml_path),
              'the domain XML (template.render_domain)')
    out.virsh('define', f.xml_path)


def undo_define(ctx):
    if guest_is_ours(ctx):
        if guest_state(ctx) not in ('shut off', None):
            ctx.virsh('destroy', ctx.params.name, ok_codes=None)
        ctx.virsh('undefine', ctx.params.name)
        ctx.log.info('rollback: guest %s undefined', ctx.params.name)
    ctx.remote.run(['rm', '-f', ctx.facts.xml_path])


def prepare_disk(ctx):
    release_disk(ctx)  # a run killed here before leaves it half made: start over
    ctx.state.image_created = True
    ctx.remote.sh(*create_image(ctx))
    dev = attach(ctx)
    ctx.remote.sh(*mkfs(ctx, dev), timeout=1800)
    ctx.remote.sh(*mount(ctx, dev))
    f = ctx.facts
    ctx.log.info('disk %s: msdos label, p1 ext4 %s UUID %s%s, mounted at %s',
                 ctx.image, fixes.ROOT_LABEL, f.root_uuid,
                 ', p2 swap' if f.swap_uuid else '', f.mount_point)
    ctx.log.info('disk %s: a sparse raw file of %s; preflight found room '
                 'for all of it, not reserved: check_disk catches a write '
                 'lost if the folder fills meanwhile', ctx.image,
                 human_bytes(ctx.params.disk_size))


def create_image(ctx):
    layout = ctx.facts.layout
    return remote_sh.CREATE_IMAGE, [
        ctx.image, ctx.params.disk_size, '%dMiB' % layout['root_end_mib']
        if layout['swap_mib'] else '100%', layout['swap_mib']]


def mkfs(ctx, dev):
    f = ctx.facts
    return remote_sh.MKFS, [dev, f.root_uuid, f.swap_uuid or ''] + list(
        f.mkfs_options)


def lines_prepare_disk(ctx, out):
    out.script(*release(ctx))
    out.script(*create_image(ctx))
    lines_attach(ctx, out)
    out.script(*mkfs(ctx, LOOP))
    out.script(*mount(ctx, LOOP))


def undo_disk(ctx):
    release_disk(ctx)
    if ctx.params.remove_disk and ctx.state.image_created:
        ctx.remote.run(['rm', '-f', ctx.image])
        ctx.log.info('rollback: disk image %s removed (--remove-disk)',
                     ctx.image)
    elif ctx.state.image_created:
        ctx.log.info('rollback: disk image %s kept; remove it with: rm %s '
                     '(on %s)', ctx.image, ctx.image, ctx.params.destination)


def check_disk(ctx):
    """Every write reached the image (flushed, no write error) and the
    copy's filesystem checks clean unmounted, before the switch-over."""
    dev = ensure_mounted(ctx)
    try:
        ctx.remote.sh(*flush(ctx, dev), timeout=1800)
    except CommandError as exc:
        raise StepFailed(disk_fault(ctx, 'a write to the image was lost',
                                    exc))
    release_disk(ctx)
    dev = attach(ctx)
    try:
        ctx.remote.sh(remote_sh.FSCK, [dev + 'p1'], timeout=3600)
    except CommandError as exc:
        raise StepFailed(disk_fault(ctx, 'e2fsck -n found errors in the '
                                    'copy', exc))
    finally:
        release_disk(ctx)
    ctx.log.info('disk %s: flushed with no write error, unmounted, e2fsck '
                 '-n found it clean', ctx.image)


def flush(ctx, dev):
    return remote_sh.FLUSH, [ctx.facts.mount_point, dev + 'p1']


def lines_check_disk(ctx, out):
    lines_mounted(ctx, out)
    out.script(*flush(ctx, LOOP))
    out.script(*release(ctx))
    lines_attach(ctx, out)
    out.script(remote_sh.FSCK, [LOOP + 'p1'])
    out.script(*release(ctx))


def disk_fault(ctx, what, exc):
    p = ctx.params
    tail = (exc.stderr.strip().splitlines() or [exc.describe()])[-3:]
    return ('the copy on %s is not whole: %s (%s). Is %s full there? Free '
            'space (the image needs up to %s) and run again' % (
                p.destination, what, ' / '.join(tail), p.disk_dir,
                human_bytes(p.disk_size)))

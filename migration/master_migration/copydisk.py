"""The copy's disk image on the virt node as the steps use it: attached to
a loop device, its root mounted, released. Each remote script's words are
built once, for the run and for --dry-run (dryrun.LOOP for the device)."""
from __future__ import absolute_import, division, print_function

from master_migration import remote_sh
from master_migration.dryrun import LOOP


def attach(ctx):
    dev = ctx.remote.sh(remote_sh.ATTACH, [ctx.image]).stdout.strip()
    ctx.facts.loop_device = dev
    return dev


def ensure_mounted(ctx):
    dev = attach(ctx)
    ctx.remote.sh(*mount(ctx, dev))
    return dev


def release_disk(ctx):
    """Unmount the copy and free its loop device (nothing attached: no-op)."""
    ctx.remote.sh(*release(ctx))


def mount(ctx, dev):
    return remote_sh.MOUNT, [dev, ctx.facts.mount_point]


def release(ctx):
    return remote_sh.RELEASE_DISK, [ctx.image, ctx.facts.mount_point]


def lines_attach(ctx, out):
    out.script(remote_sh.ATTACH, [ctx.image])
    out.note('decided at run time: the loop device it prints, %s below'
             % LOOP)


def lines_mounted(ctx, out):
    lines_attach(ctx, out)
    out.script(*mount(ctx, LOOP))

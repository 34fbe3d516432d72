"""The docker PV's steps (Fuel 8.0): its image made with the disk, copied
while the master serves, the changed chunks sent while it is stopped with
docker and the volume group down. Nothing here writes to the master's PV:
it is read only, and the rollback activates the volume group again. With
the lines --dry-run prints for each."""
from __future__ import absolute_import, division, print_function

import os
import time

from rf_common.text import to_text

from master_migration import blockcopy, dockerpool, thinmap
from master_migration.commands import CommandError
from master_migration.context import StepFailed
from master_migration.dryrun import named_script, shared
from master_migration.units import human_bytes, human_seconds

SENT_FILE = 'docker-pv.sha1.json'
# The PV must be a block device; the unit tests give a regular file.
REQUIRE_BLOCK = True

# $1 image  $2 size in bytes: a sparse raw file, 0600, made anew.
CREATE_PV_IMAGE = named_script('dockersteps.CREATE_PV_IMAGE', r'''set -eu
umask 077
qemu-img create -q -f raw "$1" "$2"
chmod 0600 "$1"
''')


def carried(ctx, out=None):
    """The docker VG when it is carried; else None (and the dry run's note
    why, given `out`)."""
    docker = ctx.facts.docker_vg
    if docker.get('action') == 'carry':
        return docker
    if out is not None:
        out.note('nothing: %s' % (dockerpool.plan_line(docker) or
                                  'no docker volume group'))
    return None


def sent_path(ctx):
    return os.path.join(ctx.params.work_dir, SENT_FILE)


def copier(ctx, docker):
    return blockcopy.Copier(ctx.remote, docker['pv'], ctx.facts.docker_image,
                            docker['pv_bytes'], require_block=REQUIRE_BLOCK)


def create_image(ctx):
    """With the disk (prepare_disk): a new image holds zeros, so what this
    run sent before is forgotten."""
    docker = carried(ctx)
    if not docker:
        return
    blockcopy.forget_sent(sent_path(ctx))
    ctx.remote.sh(*pv_image(ctx, docker))
    ctx.log.info('disk %s: a sparse raw file of %s for VG %s (the guest\'s '
                 '%s)', ctx.facts.docker_image,
                 human_bytes(docker['pv_bytes']), docker['vg'],
                 dockerpool.GUEST_DEVICE)


def remove_image(ctx):
    if carried(ctx) and ctx.params.remove_disk:
        ctx.remote.run(['rm', '-f', ctx.facts.docker_image])
        ctx.log.info('rollback: disk image %s removed (--remove-disk)',
                     ctx.facts.docker_image)


def warm_blocks(ctx):
    """Every chunk that is not already there, while the master serves;
    then every chunk there compared with what was sent."""
    docker = carried(ctx)
    if not docker:
        ctx.log.info('docker VG: nothing to copy block for block (%s)',
                     (ctx.facts.docker_vg.get('action') or 'none'))
        return
    size = docker['pv_bytes']
    known = blockcopy.load_sent(sent_path(ctx), size) or \
        blockcopy.blank_hashes(size)
    copy = copier(ctx, docker)
    count = blockcopy.chunk_count(size)
    chunks, sent, seconds = send(ctx, copy, range(count), known)
    blockcopy.save_sent(sent_path(ctx), size, known)
    ctx.log.info('docker PV %s: %d of %d chunks (%s) sent while serving in '
                 '%s', docker['pv'], chunks, count, human_bytes(sent),
                 human_seconds(seconds))
    verify(ctx, copy, known, None)


def send(ctx, copy, indices, known):
    try:
        return copy.send(indices, known, ctx.params.sync_timeout)
    except (CommandError, IOError, OSError) as exc:
        raise StepFailed('docker PV: copying %s to %s on %s failed: %s. Is '
                         '%s full there? Free space and run again (--resume)'
                         % (copy.device, copy.image, ctx.params.destination,
                            describe(exc), ctx.params.disk_dir))


def verify(ctx, copy, known, indices):
    """The chunks there (all, or `indices`) hash as sent; a differing one
    is sent again once."""
    started = time.time()
    try:
        bad = copy.mismatches(known, indices, ctx.params.sync_timeout)
        if bad:
            ctx.log.warning('docker PV: %d chunk(s) differ on the virt node '
                            '(%s...): sending them again', len(bad),
                            ', '.join(str(i) for i in bad[:5]))
            for index in bad:
                known[index] = None
            send(ctx, copy, bad, known)
            bad = copy.mismatches(known, bad, ctx.params.sync_timeout)
    except (CommandError, ValueError) as exc:
        raise StepFailed('docker PV: cannot verify %s on %s: %s' % (
            copy.image, ctx.params.destination, describe(exc)))
    if bad:
        raise StepFailed('docker PV: chunk(s) %s of %s still differ on %s '
                         'after sending them again: its disk loses '
                         'writes?' % (', '.join(str(i) for i in bad[:10]),
                                      copy.image, ctx.params.destination))
    ctx.log.info('docker PV: %s chunks verified on the virt node in %s',
                 'all' if indices is None else str(len(indices)),
                 human_seconds(time.time() - started))


def final_blocks(ctx):
    """Services and docker are stopped: the pool's transaction id noted,
    the volume group deactivated (nothing can write to the PV, its
    metadata is on disk), then only the chunks that changed are sent."""
    docker = carried(ctx)
    if not docker:
        return
    started = time.time()
    note_transaction(ctx, docker)
    try:
        ctx.state.docker_vg_deactivated = True
        ctx.commands.run(vgchange_argv('-an', docker['vg']), timeout=300)
    except CommandError as exc:
        raise StepFailed('docker VG %s cannot be deactivated while stopped '
                         '(%s): something still uses the pool; see '
                         '`dmsetup info -c` and `docker ps`, stop it, then '
                         '--resume' % (docker['vg'], describe(exc)))
    size = docker['pv_bytes']
    known = blockcopy.load_sent(sent_path(ctx), size)
    if known is None:
        raise StepFailed('docker PV: the record of the warm copy (%s) is '
                         'gone; run --rollback, then migrate again' %
                         sent_path(ctx))
    copy = copier(ctx, docker)
    indices = readable_chunks(ctx, docker, copy)
    now = hash_here(ctx, copy, indices)
    read_s = time.time() - started
    todo = blockcopy.changed(known, now)
    chunks, sent, send_s = send(ctx, copy, todo, known)
    blockcopy.save_sent(sent_path(ctx), size, known)
    verify(ctx, copy, known, todo)
    ctx.state.docker_final = {
        'changed_chunks': chunks, 'read_chunks': len(indices),
        'sent_bytes': sent, 'read_seconds': round(read_s, 3),
        'send_seconds': round(send_s, 3),
        'seconds': round(time.time() - started, 3)}
    ctx.log.info('docker PV while stopped: deactivated, %d of %d chunks read '
                 'again in %s, %d changed since the warm copy (%s) sent in '
                 '%s, verified; %s in all', len(indices), len(now),
                 human_seconds(read_s), chunks, human_bytes(sent),
                 human_seconds(send_s), human_seconds(time.time() - started))


def readable_chunks(ctx, docker, copy):
    """The chunks anyone can still read (thinmap): lvm's areas, the other
    LVs, the pool's metadata and its mapped blocks. If the pool's map
    cannot be read, every chunk."""
    every = list(range(blockcopy.chunk_count(docker['pv_bytes'])))
    if not docker.get('pool'):
        return every
    try:
        pe_start, extent, pe_count, segments = thinmap.layout(
            ctx.commands, docker['vg'], docker['pv'])
        reader = copy.reader()
        try:
            block, mapped = thinmap.mapped_blocks(
                ctx.commands, reader.at, segments, pe_start, extent,
                docker['pool'], ctx.params.work_dir)
        finally:
            reader.close()
        return thinmap.chunks_of(thinmap.readable_ranges(
            docker['pv_bytes'], pe_start, extent, pe_count, segments,
            docker['pool'], block, mapped), docker['pv_bytes'])
    except (thinmap.MapUnknown, CommandError, SyntaxError, ValueError,
            TypeError, IOError, OSError) as exc:
        ctx.log.warning('docker pool %s/%s: its map of used blocks cannot '
                        'be read (%s): the whole PV is read again',
                        docker['vg'], docker['pool'], describe(exc))
        return every


def hash_here(ctx, copy, indices):
    try:
        return copy.hash_here(indices)
    except (IOError, OSError) as exc:
        raise StepFailed('docker PV: cannot read %s: %s' % (copy.device,
                                                            describe(exc)))


def note_transaction(ctx, docker):
    """The pool's transaction id before the stop (dmsetup status), kept in
    the state: the copy's pool must report the same."""
    if ctx.state.docker_transaction_id is not None or \
            not docker.get('pool'):
        return
    result = ctx.commands.run(pool_status_argv(docker), ok_codes=None)
    tid = dockerpool.transaction_id(result.stdout)
    if tid is not None:
        ctx.state.docker_transaction_id = tid
        ctx.log.info('docker pool %s/%s: transaction id %d at the stop',
                     docker['vg'], docker['pool'], tid)


def undo_final(ctx):
    """The volume group active again, before the services start."""
    if not ctx.state.docker_vg_deactivated:
        return []
    vg = ctx.facts.docker_vg['vg']
    try:
        ctx.commands.run(vgchange_argv('-ay', vg), timeout=300)
    except CommandError as exc:
        ctx.log.error('rollback: %s', to_text(exc))
        return ['activate VG %s (vgchange -ay %s)' % (vg, vg)]
    ctx.state.docker_vg_deactivated = False
    ctx.log.info('rollback: VG %s active again', vg)
    return []


def describe(exc):
    return exc.describe() if isinstance(exc, CommandError) else to_text(exc)


def pool_status_argv(docker):
    return ['dmsetup', 'status', '--', dockerpool.dm_name(docker['vg'],
                                                          docker['pool'])]


def vgchange_argv(switch, vg):
    return ['vgchange', switch, '--', vg]


def pv_image(ctx, docker):
    return CREATE_PV_IMAGE, [ctx.facts.docker_image, docker['pv_bytes']]


def lines_create_image(ctx, out):
    docker = carried(ctx)
    if docker:
        out.script(*pv_image(ctx, docker))


def lines_docker_warm(ctx, out):
    docker = carried(ctx, out)
    if not docker:
        return
    out.note('%s read here in chunks of %d MiB (sha1 each); those not '
             'already on the virt node (as the record %s says) sent in one '
             'stream, then every chunk there hashed and compared' % (
                 docker['pv'], blockcopy.CHUNK >> 20, sent_path(ctx)))
    lines_writer(ctx, out, docker, 'frames: offset, length, bytes', '"all"')


def lines_writer(ctx, out, docker, frames, indices):
    """The virt node's writer, as Copier runs it: frames in, then hashes."""
    image = ctx.facts.docker_image
    out.there(blockcopy.writer_argv('write', image), frames)
    out.there(blockcopy.writer_argv('hash', image, blockcopy.CHUNK,
                                    docker['pv_bytes']), indices)


def lines_docker_final(ctx, out):
    docker = carried(ctx, out)
    if not docker:
        return
    ctx = shared(ctx)
    if docker.get('pool'):
        out.here(pool_status_argv(docker))
    out.here(vgchange_argv('-an', docker['vg']))
    if docker.get('pool'):
        out.note('the pool\'s layout and map of used blocks (its metadata LV '
                 'read from the PV into %s):' % thinmap.metadata_copy(
                     ctx.params.work_dir))
        for argv in thinmap.layout_argvs(docker['vg'], docker['pv']) + [
                thinmap.thin_dump_argv(ctx.params.work_dir)]:
            out.here(argv)
    out.note('of %s, the chunks anyone can read (lvm\'s areas, the LVs, the '
             'pool\'s metadata and mapped blocks; all if the map cannot be '
             'read) read and hashed here again; only those whose hash '
             'changed since the warm copy sent, then those hashed there' %
             docker['pv'])
    lines_writer(ctx, out, docker, 'frames of the changed chunks',
                 'their indices')
    out.note('rollback: vgchange -ay -- %s, before the services start'
             % docker['vg'])

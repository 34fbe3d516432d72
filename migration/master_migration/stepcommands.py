"""What each step would run, for --dry-run: computed from the parameters
and the facts preflight found, nothing run. The argv come from the same
builders the steps use (Remote, rsyncing, remote_sh); where a step decides
at run time, the check and each branch are printed."""
from __future__ import absolute_import, division, print_function

import copy
import os

from rf_common.text import to_text

from master_migration import blockcopy, dockerpool, dockersteps, fixes
from master_migration import manifest, postmigrate, remote_sh, rsyncing
from master_migration import thinmap
from master_migration.commands import shell_words, write_file_argv
from master_migration.context import URI, copy_excludes
from master_migration.steps import (CHECKSUM_ROUNDS, ITEMIZE, fixed_excludes,
                                    listed_verify_argv)

SCRIPT_NAMES = dict((v, 'remote_sh.' + k) for k, v in vars(remote_sh).items()
                    if k.isupper() and isinstance(v, str))
SCRIPT_NAMES[manifest.RUN_WALKER] = 'manifest.RUN_WALKER'
SCRIPT_NAMES[dockersteps.CREATE_PV_IMAGE] = 'dockersteps.CREATE_PV_IMAGE'
SCRIPT_NAMES[blockcopy.RUN_PYTHON] = 'blockcopy.RUN_PYTHON'
SCRIPT_NAMES[blockcopy.WRITER] = 'blockcopy.WRITER'
SCRIPT_NAMES[manifest.RUN_GIVEN_WALKER] = 'manifest.RUN_GIVEN_WALKER'
SCRIPT_NAMES[to_text(manifest.walker_source())] = 'manifest_walk.py'
LOOP = '/dev/loopN'  # the loop device ATTACH prints at run time
CONTROL = '/tmp/rfm-ssh-XXXXXX/c'  # the shared ssh's socket, made at run time
WALKER = 'manifest_walk.py'


def named_scripts(line):
    """A printed command with each script given inline (sh -c) named."""
    for text, name in SCRIPT_NAMES.items():
        line = line.replace(shell_words([text]), '"$%s"' % name)
    return line


class CommandLines(object):
    """The lines of one step: `$ argv` here, `virt$ argv` on the virt
    node (over the ssh that header() prints), `(...)` a note."""

    def __init__(self, services_plan=None):
        self.services_plan, self.lines = services_plan, []

    def here(self, argv, stdin=None):
        self.lines.append('$ ' + shell_words(argv) + (
            '  < ' + stdin if stdin else ''))

    def there(self, argv, stdin=None):
        self.lines.append('virt$ ' + named_scripts(shell_words(argv)) + (
            '  < ' + stdin if stdin else ''))

    def script(self, script, args):
        self.there(['sh', '-s', '--'] + [str(a) for a in args],
                   SCRIPT_NAMES[script])

    def virsh(self, *args):
        self.there(['virsh', '-c', URI] + list(args))

    def note(self, text):
        self.lines.append('(%s)' % text)


def header(ctx):
    return ('"virt$" runs on the virt node: %s \'env LC_ALL=C LANG=C ...\'; '
            '"$" runs here' % shell_words(ctx.remote.ssh_options() + [
                ctx.remote.host, '--']))


def step_lines(ctx, step, services_plan=None):
    out = CommandLines(services_plan)
    step.commands(ctx, out)
    return out.lines


def preflight(ctx, out):
    out.note('checks only, nothing changed: this dry run has just run them')


def define_guest(ctx, out):
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


def prepare_disk(ctx, out):
    p, f = ctx.params, ctx.facts
    layout = f.layout
    out.script(remote_sh.RELEASE_DISK, [f.image, f.mount_point])
    out.script(remote_sh.CREATE_IMAGE, [
        f.image, p.disk_size, '%dMiB' % layout['root_end_mib']
        if layout['swap_mib'] else '100%', layout['swap_mib']])
    attach(ctx, out)
    out.script(remote_sh.MKFS, [LOOP, f.root_uuid, f.swap_uuid or ''] +
               list(f.mkfs_options))
    out.script(remote_sh.MOUNT, [LOOP, f.mount_point])
    docker = f.docker_vg
    if docker.get('action') == 'carry':
        out.script(dockersteps.CREATE_PV_IMAGE, [f.docker_image,
                                                 docker['pv_bytes']])


def attach(ctx, out):
    out.script(remote_sh.ATTACH, [ctx.facts.image])
    out.note('decided at run time: the loop device it prints, %s below'
             % LOOP)


def mounted(ctx, out):
    attach(ctx, out)
    out.script(remote_sh.MOUNT, [LOOP, ctx.facts.mount_point])


def sync_line(ctx, out, patterns, extra=(), names_file=None):
    head = (ctx.params.source_root, patterns, ctx.remote.rsync_shell(),
            ctx.remote.rsync_target(ctx.facts.mount_point))
    tail = (list(ctx.params.rsync_options) + list(extra),
            ctx.facts.rsync_progress)
    out.here(rsyncing.listed_sync_argv(*(head + (names_file,) + tail))
             if names_file else rsyncing.sync_argv(*(head + tail)))


def shared(ctx):
    """ctx as the steps after stop_services see it: their ssh goes
    through the shared connection."""
    ctx = copy.copy(ctx)
    ctx.remote = copy.copy(ctx.remote)
    ctx.remote.control = CONTROL
    return ctx


def final_patterns(ctx):
    return copy_excludes(ctx.params, ctx.facts) + fixed_excludes(
        ctx.params.source_root, postmigrate.CHEAP_FIXED)


def listings(ctx):
    return ctx.params.verify == 'checksum' and manifest.usable(
        final_patterns(ctx))


def list_copy(ctx, out, mode, words=None):
    out.there(manifest.remote_argv(ctx.facts.mount_point, mode, (
        final_patterns(ctx) if words is None else words)), WALKER)


def warm_sync(ctx, out):
    mounted(ctx, out)
    sync_line(ctx, out, copy_excludes(ctx.params, ctx.facts))


def checksum_pass(ctx, out):
    if ctx.params.verify != 'checksum':
        out.note('nothing: --verify none')
        return
    mounted(ctx, out)
    sync_line(ctx, out, copy_excludes(ctx.params, ctx.facts), ['--checksum'] + ITEMIZE)
    out.note('decided at run time: while a round sends files, at most %d '
             'rounds in all, the same with these added:' % CHECKSUM_ROUNDS)
    out.lines.append('  --from0 --files-from=%s' % os.path.join(
        ctx.params.work_dir, 'checksum-round.list'))


def cheap_fixes_and_boot_loader(ctx, out):
    f = ctx.facts
    out.there(['tar', '-x', '-C', f.mount_point, '-f', '-'], 'a tar of %s'
              % ', '.join(sorted(postmigrate.CHEAP_FIXED)))
    if ctx.params.boot_loader == 'auto':
        out.script(remote_sh.BOOT_LOADER, [f.mount_point, LOOP, f.root_uuid])


def post_migrate(ctx, out):
    mounted(ctx, out)
    cheap_fixes_and_boot_loader(ctx, out)


def stop_services(ctx, out):
    remote = copy.copy(ctx.remote)
    remote.control = None
    out.here(remote.ssh_options() + [
        '-o', 'ControlPath=' + CONTROL, '-o', 'ControlMaster=yes',
        '-o', 'ControlPersist=600', remote.host, 'true'])
    if listings(ctx):
        out.note('the copy listed, for the final sync, beside the source '
                 '(here; both kept in memory)')
        list_copy(shared(ctx), out, 'lines')
    if out.services_plan is None:
        out.note('decided at run time: the %s services running then'
                 % ctx.facts.services_kind)
        return
    out.note('decided at run time: those of these still running then')
    for argv in out.services_plan[0]:
        out.here(argv)


def final_sync(ctx, out):
    ctx, p = shared(ctx), ctx.params
    mounted(ctx, out)
    out.note('the excludes also hold what the boot loader wrote, known at '
             'run time')
    if listings(ctx):
        final_delta(ctx, out)
    sync_line(ctx, out, final_patterns(ctx), ITEMIZE)
    if p.verify == 'checksum':
        final_verify(ctx, out)
    out.note('when the run ends, the shared connection closes:')
    out.here(ctx.remote.ssh_options() + ['-O', 'exit', ctx.remote.host])


def final_delta(ctx, out):
    p = ctx.params
    out.note('with the listing of the copy made before the stop, started '
             'first, each reading its names on stdin once they are known '
             '(so their ssh and start overlap the listing of the source): '
             'rsync of the names that differ, the copy\'s walker of the '
             'names the delta touched, the checksums of the files sent:')
    sync_line(ctx, out, final_patterns(ctx), ITEMIZE, '-')
    out.there(manifest.stdin_names_argv(ctx.facts.mount_point),
              'the names the delta touched')
    out.here(listed_verify_argv(ctx),
             'the names sent since the checksum pass')
    out.note('the source listed here (only what changed since its listing '
             'before the stop read again); the copy too if the listing '
             'made before the stop is gone:')
    list_copy(ctx, out, 'lines')
    out.note('decided at run time: the names only on the copy deleted, '
             'then rsync given only the names that differ (the one started '
             'above, else this one)')
    for command in (['rm', '-f'], ['rmdir']):
        out.there(['sh', '-c', remote_sh.REMOVE_NAMES, 'sh',
                   ctx.facts.mount_point] + command, 'the names to delete')
    sync_line(ctx, out, final_patterns(ctx), ITEMIZE,
              os.path.join(p.work_dir, 'final-delta.list'))
    out.note('if the listing cannot be made, or that sync fails or does '
             'not verify, the full final sync:')


def final_verify(ctx, out):
    p = ctx.params
    target = ctx.remote.rsync_target(ctx.facts.mount_point)
    if listings(ctx):
        out.note('after the listed changes: the entries the delta touched '
                 'listed again, here and on the copy (by the walker '
                 'started above, else by this one), unless one is '
                 'hard-linked:')
        out.there(manifest.stdin_names_argv(ctx.facts.mount_point),
                  'the names the delta touched')
        out.note('else both sides listed at once (the copy by digest; its '
                 'lines only if the digests differ), beside the checksums:')
        list_copy(ctx, out, 'digest')
        list_copy(ctx, out, 'lines')
    out.note('rsync\'s quick check where the copy cannot be listed:')
    out.here(rsyncing.verify_argv(p.source_root, final_patterns(ctx),
                                  ctx.remote.rsync_shell(), target,
                                  checksum=False))
    out.here(listed_verify_argv(ctx),
             'the names sent since the checksum pass (known at run time)')


def docker_carried(ctx, out):
    docker = ctx.facts.docker_vg
    if docker.get('action') == 'carry':
        return docker
    out.note('nothing: %s' % (dockerpool.plan_line(docker) or
                              'no docker volume group'))
    return None


def docker_warm(ctx, out):
    docker = docker_carried(ctx, out)
    if not docker:
        return
    size, image = docker['pv_bytes'], ctx.facts.docker_image
    out.note('%s read here in chunks of %d MiB (sha1 each); those not '
             'already on the virt node (as the record %s says) sent in one '
             'stream, then every chunk there hashed and compared' % (
                 docker['pv'], blockcopy.CHUNK >> 20,
                 dockersteps.sent_path(ctx)))
    out.there(blockcopy.writer_argv('write', image),
              'frames: offset, length, bytes')
    out.there(blockcopy.writer_argv('hash', image, blockcopy.CHUNK, size),
              '"all"')


def docker_final(ctx, out):
    docker = docker_carried(ctx, out)
    if not docker:
        return
    ctx = shared(ctx)
    size, image = docker['pv_bytes'], ctx.facts.docker_image
    if docker.get('pool'):
        out.here(['dmsetup', 'status', '--',
                  dockerpool.dm_name(docker['vg'], docker['pool'])])
    out.here(['vgchange', '-an', '--', docker['vg']])
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
    out.there(blockcopy.writer_argv('write', image),
              'frames of the changed chunks')
    out.there(blockcopy.writer_argv('hash', image, blockcopy.CHUNK, size),
              'their indices')
    out.note('rollback: vgchange -ay -- %s, before the services start'
             % docker['vg'])


def refresh_fixes(ctx, out):
    mounted(ctx, out)
    out.note('decided at run time: the boot loader runs again only if the '
             'final sync touched its inputs or etc/fstab changed')
    cheap_fixes_and_boot_loader(ctx, out)


def check_disk(ctx, out):
    f = ctx.facts
    mounted(ctx, out)
    out.script(remote_sh.FLUSH, [f.mount_point, LOOP + 'p1'])
    out.script(remote_sh.RELEASE_DISK, [f.image, f.mount_point])
    attach(ctx, out)
    out.script(remote_sh.FSCK, [LOOP + 'p1'])
    out.script(remote_sh.RELEASE_DISK, [f.image, f.mount_point])


def switch_over(ctx, out):
    p, f = ctx.params, ctx.facts
    iface, interim_mac = p.admin_interface, fixes.interim_mac(p.admin_mac)
    out.script(remote_sh.RELEASE_DISK, [f.image, f.mount_point])
    out.here(['ip', '-4', 'route', 'show', 'dev', iface])
    drop = '%s/%d' % (p.admin_address, p.admin_prefix)
    keep = '%s/%d' % (p.interim_address, p.admin_prefix)
    out.here(['ip', '-o', '-4', 'addr', 'show', 'dev', iface])
    out.note('decided at run time: each change below only where it is not '
             'made yet')
    out.here(['ip', 'addr', 'del', drop, 'dev', iface])
    out.here(['ip', '-o', 'link', 'show', 'dev', iface])
    for words in (['down'], ['address', interim_mac], ['up']):
        out.here(['ip', 'link', 'set', 'dev', iface] + words)
    out.here(['ip', '-o', '-4', 'addr', 'show', 'dev', iface])
    out.here(['ip', 'addr', 'add', keep, 'dev', iface])
    out.note('then each route saved above: ip route replace ... dev %s'
             % iface)
    out.virsh('autostart', p.name)
    out.virsh('domstate', p.name)
    out.note('decided at run time: unless it is running already:')
    out.virsh('start', p.name)
    out.note('then up to %d s until %s answers on ssh (22) and port %d; no '
             'answer: rollback' % (p.boot_timeout, p.admin_address,
                                   p.api_port))
    out.there(write_file_argv(f.done_marker), 'the done marker (JSON)')

"""The steps as data (STEPS: each row names its run, undo and dry-run
lines in its subject's module), and the plan a dry run prints."""
from __future__ import absolute_import, division, print_function

import collections

from master_migration import dockerpool, dockersteps, dryrun, filesync
from master_migration import finalsync, guest, postmigrate, preflight
from master_migration import services, switchover, template
from master_migration.commands import shell_words
from master_migration.units import human_bytes, human_seconds

# id, what it does, ids it needs, timeout (from params), run, undo,
# done_check (None: re-run it; every step is safe to run again), what the
# undo does (for the log), and whether a rollback after the switch-over
# keeps what the step made (the stopped guest and its disk, for inspection);
# commands: the lines --dry-run prints for what the step would run.
# The runner runs the rows forward and rolls back through their undo in
# reverse order.
Step = collections.namedtuple('Step', 'id title needs timeout run undo '
                                      'done_check undo_title kept_after_switch '
                                      'commands')
Step.__new__.__defaults__ = (None, False, None)


def in_turn(*parts):
    """One step's run, undo or dry-run lines made of two subjects' parts,
    called in order; what the parts return (an undo's failures) joined."""
    return lambda *args: sum((part(*args) or [] for part in parts), [])


STEPS = [
    Step('preflight', 'check ssh, libvirt, bridges, space, memory, name, '
         'lock; change nothing', (), lambda p: 1800, preflight.run, None,
         None, commands=preflight.lines),
    Step('define_guest', 'define the guest from the XML template (old MACs, '
         'disk first, VNC on 127.0.0.1), not started', ('preflight',),
         lambda p: 300, guest.define_guest, guest.undo_define,
         guest.guest_is_ours, 'undefine the guest', True,
         commands=guest.lines_define_guest),
    Step('prepare_disk', 'raw image, msdos partitions, ext4 on the virt '
         'node (loop device), mounted', ('define_guest',), lambda p: 1800,
         in_turn(guest.prepare_disk, dockersteps.create_image),
         in_turn(guest.undo_disk, dockersteps.remove_image), None,
         'release the disk', True,
         commands=in_turn(guest.lines_prepare_disk,
                          dockersteps.lines_create_image)),
    Step('warm_sync', 'rsync everything while the master serves',
         ('prepare_disk',), lambda p: p.sync_timeout + 60, filesync.warm_sync,
         None, None, commands=filesync.lines_warm_sync),
    Step('checksum_pass', 'compare every byte of the warm copy (rsync '
         '--checksum), send what differs again until quiet',
         ('warm_sync',), lambda p: 4 * p.sync_timeout + 60,
         filesync.checksum_pass, None, None,
         commands=filesync.lines_checksum_pass),
    Step('docker_warm', 'Fuel 8.0: the docker PV block for block into its '
         'image while the master serves, then verified there by hashes',
         ('checksum_pass',), lambda p: 2 * p.sync_timeout + 60,
         dockersteps.warm_blocks, None, None,
         commands=dockersteps.lines_docker_warm),
    Step('post_migrate', 'make the copy boot while the master serves: '
         'fstab, mtab, NIC names, marker, GRUB + initramfs',
         ('docker_warm',), lambda p: 3600, postmigrate.post_migrate, None,
         None, commands=postmigrate.lines_post_migrate),
    Step('stop_services', 'open one ssh connection and list the copy and '
         'the source, then stop the master services in order (downtime '
         'starts)',
         ('post_migrate',), lambda p: 1800,
         in_turn(finalsync.list_before_stop, services.stop_services),
         services.undo_services, None, 'restart services',
         commands=in_turn(finalsync.lines_before_stop,
                          services.lines_stop_services)),
    Step('final_sync', 'list the source, delete and rsync only what '
         'differs from the copy (keeping the fixes), then verify: the '
         'source listed, of the copy what the sync touched, checksums of '
         'what was sent', ('stop_services',),
         lambda p: 2 * p.sync_timeout + 60, finalsync.final_sync, None, None,
         commands=finalsync.lines_final_sync),
    Step('docker_final', 'Fuel 8.0: the docker VG deactivated, the PV read '
         'again, only its changed chunks sent and verified',
         ('final_sync',), lambda p: 2 * p.sync_timeout + 60,
         dockersteps.final_blocks, dockersteps.undo_final, None,
         'activate the docker volume group again',
         commands=dockersteps.lines_docker_final),
    Step('refresh_fixes', 'cheap fixes again from the source; GRUB and '
         'initramfs again only if the final sync touched their inputs',
         ('docker_final',), lambda p: 3600, postmigrate.refresh_fixes, None,
         None, commands=postmigrate.lines_refresh_fixes),
    Step('check_disk', 'flush the copy, fail on a lost write, unmount, '
         'e2fsck -n', ('refresh_fixes',), lambda p: 5400, guest.check_disk,
         None, None, commands=guest.lines_check_disk),
    Step('switch_over', 'hand over the admin address, start the guest, wait '
         'for ssh and the API, done markers', ('check_disk',),
         lambda p: p.boot_timeout + 600, switchover.switch_over,
         switchover.undo_switch, None, 'give the admin address back',
         commands=switchover.lines_switch_over),
]
STEP_IDS = [s.id for s in STEPS]

# Rough figures for the estimate printed before anything was measured.
# GRUB and initramfs run again only when the final sync touched /boot
POST_MIGRATE_S = {'auto': 10, 'none': 5}
FSCK_BYTES_PER_S = 500 * 1000 * 1000
# The docker PV read and hashed again while stopped (two threads).
PV_HASH_BYTES_PER_S = 400 * 1000 * 1000
BOOT_S = 90


def expected_downtime(params, facts):
    parts = [('stop services', 15),
             ('final sync (file list scan as measured)',
              facts.scan_seconds * 1.5 + 5)]
    if params.verify == 'checksum':
        parts.append(('verification (quick check)',
                      facts.scan_seconds + 2))
    docker = facts.docker_vg
    if docker.get('action') == 'carry':
        parts.append(('docker PV read again, changed chunks sent',
                      5 + docker['pv_bytes'] / float(PV_HASH_BYTES_PER_S)))
    parts.append(('fixes refreshed', POST_MIGRATE_S[params.boot_loader]))
    parts.append(('flush and e2fsck -n of the copy',
                  10 + facts.data_bytes / float(FSCK_BYTES_PER_S)))
    parts.append(('guest boot until ssh and API answer', BOOT_S))
    return parts


def format_plan(params, facts, services_plan=None, commands=None):
    """commands: from step_commands(), printed under each step."""
    p, f = params, facts
    lines = ['rf-migrate-master plan (dry run: nothing was changed)',
             '  source: %s on this master, admin %s/%d on %s (MAC %s)' % (
                 p.source_root, p.admin_address, p.admin_prefix,
                 p.admin_interface, p.admin_mac),
             '  data: %d files, %s (file list scan took %.1f s)' % (
                 f.data_files, human_bytes(f.data_bytes),
                 f.scan_seconds),
             '  destination: %s@%s:%d, guest %s: %d vCPU, %d MiB' % (
                 p.ssh_user, p.destination, p.ssh_port, p.name, p.vcpus,
                 p.memory_mib)]
    layout = f.layout
    lines.append('  disk: %s raw %s, p1 ext4 fuel-root %d MiB%s' % (
        f.image, human_bytes(p.disk_size),
        layout.get('root_end_mib', 0) - 1,
        ', p2 swap %d MiB' % layout['swap_mib'] if layout.get('swap_mib')
        else ''))
    docker_line = dockerpool.plan_line(f.docker_vg)
    if docker_line:
        lines.append('  ' + docker_line)
    if f.foreign_mounts:
        lines.append('  not copied as files (mounted, not the master\'s own '
                     'filesystems): %s' % ', '.join(
                         m[:-2] for m in f.foreign_mounts))
    for nic in template.guest_nics(p, f):
        lines.append('  NIC %s %s -> bridge %s' % (nic['interface'],
                                                   nic['mac'], nic['bridge']))
    lines.append('  after the switch-over the old master uses %s' %
                 p.interim_address)
    if services_plan is not None:
        lines.append('  services (%s), stop order: %s' % (
            f.services_kind, '; '.join(' '.join(a) for a in
                                       services_plan[0]) or 'none'))
    lines += steps_section(p, commands)
    parts = expected_downtime(p, f)
    lines.append('  expected downtime: about %s (%s); rollback after %d s '
                 'without an answer' % (
                     human_seconds(sum(s for _, s in parts)),
                     ', '.join('%s ~%s' % (n, human_seconds(s))
                               for n, s in parts), p.boot_timeout))
    if not p.poweroff:
        lines.append('  the old master stays on (--no-poweroff)')
    return '\n'.join(lines)


def step_commands(ctx, services_plan=None):
    """(header, {step id: lines}): what each step would run."""
    return dryrun.header(ctx), dict(
        (s.id, dryrun.step_lines(ctx, s, services_plan)) for s in STEPS)


def steps_section(params, commands=None):
    header, by_step = commands or (None, {})
    lines = ['  steps%s:' % (' and their commands; ' + header if header
                             else '')]
    for number, step in enumerate(STEPS, 1):
        lines.append('    %d. %-14s %s' % (number, step.id, step.title))
        lines += ['         ' + line for line in by_step.get(step.id, [])]
    if header and params.poweroff:
        lines.append('    at the end, the old master powers off: %s' % '; '.join(
            shell_words(argv) for argv in params.poweroff_command))
    return lines

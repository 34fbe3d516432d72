"""preflight: check everything, change nothing. Every problem is collected
with what to do about it; facts found here feed the later steps."""
from __future__ import absolute_import, division, print_function

import glob
import os
import re
import shutil
import socket
import tempfile
import time
import uuid

from rf_common.text import to_text

from master_migration import (blockcopy, dockerpool, fixes, netcfg, remote_sh,
                              rsyncing, services)
from master_migration.commands import CommandError
from master_migration.context import copy_excludes, destination_paths
from master_migration.units import human_bytes
from master_migration.virsh import GuestUnknown, guest_state

MIGRATED_MARKER = 'etc/rf-migrated-master'


class PreflightError(Exception):
    def __init__(self, problems):
        Exception.__init__(self, '\n'.join(problems))
        self.problems = problems


class AlreadyMigrated(Exception):
    pass


def run(ctx):
    problems = []
    ctx.facts.update(**destination_paths(ctx.params))
    check_source(ctx, problems)
    check_local_network(ctx, problems)
    check_services(ctx, problems)
    check_docker_storage(ctx, problems)
    if resolve_destination(ctx, problems) and check_ssh(ctx, problems):
        check_libvirt(ctx, problems)
        check_destination(ctx, problems)
    problems.extend(dockerpool.note_foreign_mounts(ctx.facts,
                                                   ctx.params.source_root))
    scan_data(ctx, problems)
    check_space(ctx, problems)
    if problems:
        raise PreflightError(problems)
    for name in ('root_uuid', 'domain_uuid') + (
            ('swap_uuid',) if ctx.params.swap_size else ()):
        if not ctx.facts.is_set(name):
            setattr(ctx.facts, name, str(uuid.uuid4()))


def lines(ctx, out):
    out.note('checks only, nothing changed: this dry run has just run them')


def check_source(ctx, problems):
    root = ctx.params.source_root
    if not os.path.isdir(root):
        problems.append('source_root: %s is not a folder' % root)
        return
    marker = os.path.join(root, MIGRATED_MARKER)
    if os.path.exists(marker):
        raise AlreadyMigrated('this master is already a migrated copy (%s '
                              'exists): nothing to do' % marker)
    if ctx.params.boot_loader == 'auto':
        missing = missing_boot_parts(root)
        if missing:
            problems.append(
                'boot_loader auto: the copy of %s would not boot: it lacks '
                '%s. Install them on the master (kernel, grub-pc / '
                'grub2-pc), or use --boot-loader none if the guest boots '
                'another way' % (root, ', '.join(missing)))


def missing_boot_parts(root):
    def exists(*paths):
        return any(glob.glob(os.path.join(root, p)) for p in paths)
    missing = []
    if not exists('boot/vmlinuz-*'):
        missing.append('a kernel /boot/vmlinuz-*')
    if not exists('usr/sbin/grub-install', 'usr/sbin/grub2-install',
                  'sbin/grub-install', 'sbin/grub2-install'):
        missing.append('grub-install or grub2-install')
    if not exists('usr/lib/grub/i386-pc/boot.img'):
        missing.append('GRUB BIOS modules /usr/lib/grub/i386-pc')
    return missing


def check_local_network(ctx, problems):
    p = ctx.params
    try:
        held = netcfg.addresses(ctx.commands, p.admin_interface)
        live_mac = netcfg.mac(ctx.commands, p.admin_interface)
    except CommandError as exc:
        problems.append('admin_interface: %s: not usable on this master: %s'
                        % (p.admin_interface, exc.stderr.strip()))
        return
    if '%s/%d' % (p.admin_address, p.admin_prefix) not in held:
        problems.append('admin_address: %s/%d is not on %s (it holds %s); '
                        'check astute.yaml or --admin-address' % (
                            p.admin_address, p.admin_prefix,
                            p.admin_interface, ', '.join(held) or 'nothing'))
    if live_mac != p.admin_mac:
        problems.append('admin_mac: %s (astute.yaml/option) but %s has %s; '
                        'give --admin-mac with the MAC nailgun knows' % (
                            p.admin_mac, p.admin_interface, live_mac))
    if '%s/%d' % (p.interim_address, p.admin_prefix) in held:
        problems.append('interim_address: %s is already on %s'
                        % (p.interim_address, p.admin_interface))
    ctx.facts.admin_live_mac = live_mac
    ctx.facts.nics = resolve_nics(ctx, problems)


def resolve_nics(ctx, problems):
    nics = []
    for nic in ctx.params.nics:
        mac = nic['mac']
        if not mac:
            try:
                mac = netcfg.mac(ctx.commands, nic['interface'])
            except CommandError as exc:
                problems.append('nics: %s: no such interface on this master '
                                '(%s); give its mac in the config' % (
                                    nic['interface'], exc.stderr.strip()))
                continue
        nics.append(dict(nic, mac=mac))
    return nics


def check_services(ctx, problems):
    try:
        ctx.facts.services_kind = services.resolve_kind(ctx.params,
                                                        ctx.commands)
    except services.ServiceError as exc:
        problems.append(to_text(exc))


def check_docker_storage(ctx, problems):
    """Fuel 8.0's thin pool: found, and decided (docker_vg)."""
    found = dockerpool.probe(ctx.commands, ctx.params.source_root)
    docker, found_problems = dockerpool.decide(ctx.params.docker_vg, found)
    problems.extend(found_problems)
    if docker['action'] == 'carry':
        problem = dockerpool.check_device(docker['pv'])
        if problem:
            problems.append('docker_vg: the PV of VG %s cannot be read '
                            'block for block: %s; run as root on the master '
                            'itself' % (docker['vg'], problem))
    ctx.facts.docker_vg = docker


def check_destination_python(ctx, problems):
    """The block copy's other side runs the virt node's python."""
    result = ctx.remote.run(blockcopy.writer_argv('version'), ok_codes=None)
    if not result.stdout.startswith('python '):
        problems.append('docker_vg: the virt node %s has no python (python3,'
                        ' python2 or python) for the block copy of the '
                        'docker PV; install one there' % ctx.params.destination)


def resolve_destination(ctx, problems):
    """Once, here: later steps use the address kept in the facts."""
    p = ctx.params
    try:
        infos = socket.getaddrinfo(p.destination, p.ssh_port, socket.AF_INET,
                                   socket.SOCK_STREAM)
    except (socket.gaierror, socket.error, UnicodeError) as exc:
        problems.append('destination %s: does not resolve to an IPv4 address '
                        '(%s); give its address or fix the name' % (
                            p.destination, to_text(exc)))
        return False
    address = infos[0][4][0]
    ctx.facts.destination_address = address
    ctx.remote.host, ctx.remote.alias = address, p.destination
    if address != p.destination:
        ctx.log.info('destination %s is %s (kept for the whole run; host key '
                     'checked for %s)', p.destination, address, p.destination)
    return True


def check_ssh(ctx, problems):
    try:
        ctx.remote.run(['true'], timeout=40)
    except CommandError as exc:
        problems.append(describe_ssh_failure(ctx.params, exc))
        return False
    return True


def describe_ssh_failure(p, exc):
    err = exc.stderr
    kh = p.ssh_known_hosts or '~/.ssh/known_hosts'
    host = p.destination if p.ssh_port == 22 else '[%s]:%d' % (
        p.destination, p.ssh_port)
    if 'IDENTIFICATION HAS CHANGED' in err:
        return ('destination %s: its ssh host key CHANGED since it was '
                'recorded in %s. Find out why before going on; if the virt '
                'node was reinstalled: ssh-keygen -R "%s" -f %s' % (
                    p.destination, kh, host, kh))
    if 'Host key verification failed' in err or 'host key is known' in err:
        return ('destination %s: its ssh host key is not known here (nothing '
                'is trusted silently). Compare the fingerprint of '
                '`ssh-keyscan -p %d %s | ssh-keygen -lf -` with '
                '`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` run on '
                'the virt node, then accept it: ssh-keyscan -p %d -H %s >> %s'
                % (p.destination, p.ssh_port, p.destination, p.ssh_port,
                   p.destination, kh))
    if 'Permission denied' in err:
        return ('destination %s: ssh refused the key of %s@this master: add '
                'its public key to %s\'s authorized_keys on the virt node'
                % (p.destination, p.ssh_user, p.ssh_user))
    return ('destination %s: cannot reach it with ssh on port %d: %s. Check '
            'the name or address, the network and sshd there' % (
                p.destination, p.ssh_port, err.strip() or exc.note))


def check_libvirt(ctx, problems):
    p = ctx.params
    try:
        stats = ctx.virsh('nodememstats', timeout=120).stdout
    except CommandError as exc:
        problems.append('destination %s: libvirt does not answer (virsh -c '
                        'qemu:///system): %s; start libvirtd there' % (
                            p.destination, exc.stderr.strip()))
        return
    free_kib = sum(int(v) for k, v in re.findall(
        r'^\s*(free|buffers|cached)\s*:\s*(\d+)', stats, re.M))
    if free_kib < p.memory_mib * 1024:
        problems.append('memory: the guest needs %d MiB but %s has %d MiB '
                        'free; use --memory or free memory there' % (
                            p.memory_mib, p.destination, free_kib // 1024))
    caps = ctx.virsh('domcapabilities', '--virttype', p.virt_type,
                     ok_codes=None, timeout=120)
    if caps.returncode != 0:
        problems.append('virt_type: %s guests cannot run on %s (%s); use '
                        '--virt-type qemu where there is no hardware '
                        'virtualization' % (p.virt_type, p.destination,
                                            caps.stderr.strip()))
    check_guest_name(ctx, problems)


def check_guest_name(ctx, problems):
    p = ctx.params
    try:
        state = guest_state(ctx)
    except GuestUnknown as exc:
        problems.append('name: %s' % exc)
        return
    if state is None:
        return
    if not p.replace:
        problems.append('name: a guest %s already exists on %s (%s); pick '
                        'another --name, or --replace it if it is not needed'
                        % (p.name, p.destination, state))
    elif state not in ('shut off', 'crashed'):
        problems.append('name: guest %s on %s is %s; --replace only replaces '
                        'a stopped guest: stop it first' % (
                            p.name, p.destination, state))
    else:
        ctx.facts.replace_existing = True


def check_destination(ctx, problems):
    p, f = ctx.params, ctx.facts
    bridges = [p.admin_bridge] + [n['bridge'] for n in p.nics]
    out = ctx.remote.sh(remote_sh.BRIDGES, bridges, timeout=60).stdout
    for bridge in re.findall(r'^missing-bridge (\S+)', out, re.M):
        problems.append('bridge %s does not exist on %s; create it or fix '
                        'admin_bridge / nics' % (bridge, p.destination))
    out = ctx.remote.sh(remote_sh.PROBE, [p.disk_dir], timeout=60).stdout
    tools = re.findall(r'^missing-tool (\S+)', out, re.M)
    if tools:
        problems.append('destination %s lacks %s; install them there' % (
            p.destination, ', '.join(tools)))
    if re.search(r'^missing-dir ', out, re.M):
        problems.append('disk_dir: %s does not exist on %s; create it (mkdir '
                        '-p %s) or give --disk-dir' % (
                            p.disk_dir, p.destination, p.disk_dir))
    df = re.search(r'^df \S+\s+\d+\s+\d+\s+(\d+)', out, re.M)
    f.dest_free_bytes = int(df.group(1)) * 1024 if df else None
    version = re.search(r'^mke2fs-version (.*)$', out, re.M)
    f.mkfs_options = fixes.ext4_feature_options(
        version.group(1) if version else '')
    check_leftovers(ctx, problems)
    if ctx.facts.docker_vg.get('action') == 'carry':
        check_destination_python(ctx, problems)


def check_leftovers(ctx, problems):
    f = ctx.facts
    ours = [f.image, f.xml_path, f.mount_point]
    if f.docker_vg.get('action') == 'carry':
        ours.append(f.docker_image)  # qemu-img create would overwrite it
    out = ctx.remote.sh(remote_sh.EXISTING, ours).stdout
    for path in re.findall(r'^exists (.*)$', out, re.M):
        if not ctx.params.replace:
            problems.append('%s already exists on %s (an earlier run?); '
                            'remove it or use --replace' % (
                                path, ctx.params.destination))
    if ctx.params.replace:
        check_image_claims(ctx, problems)


def check_image_claims(ctx, problems):
    """--replace never overwrites a finished migration's image or a disk
    another domain uses."""
    p, f = ctx.params, ctx.facts
    out = ctx.remote.sh(remote_sh.IMAGE_CLAIMS, [
        f.image, f.done_marker, p.name], timeout=120).stdout
    for marker in re.findall(r'^done-marker (.*)$', out, re.M):
        problems.append('replace: %s on %s carries %s: it is the disk of a '
                        'finished migration; --replace refuses it: pick '
                        'another --name or --disk-dir' % (
                            f.image, p.destination, marker))
    for dom in re.findall(r'^used-by (.*)$', out, re.M):
        problems.append('replace: %s on %s is a disk of the domain %s; '
                        '--replace refuses it: pick another --name or '
                        '--disk-dir' % (f.image, p.destination, dom))


def scan_data(ctx, problems):
    empty = tempfile.mkdtemp(prefix='rfm-scan-')
    started = time.time()
    try:
        out = ctx.commands.run(rsyncing.size_scan_argv(
            ctx.params.source_root, copy_excludes(ctx.params, ctx.facts),
            os.path.join(empty, 'x')), timeout=3600,
            ok_codes=(0, rsyncing.VANISHED)).stdout
    except CommandError as exc:
        problems.append('source_root: cannot list %s: %s' % (
            ctx.params.source_root, to_text(exc)))
        return
    finally:
        shutil.rmtree(empty, ignore_errors=True)
    version = ctx.commands.run(['rsync', '--version'], ok_codes=None).stdout
    ctx.facts.rsync_progress = rsyncing.progress_option(version)
    stats = rsyncing.parse_stats(out)
    ctx.facts.data_bytes = stats.get('total_bytes', 0)
    ctx.facts.data_files = stats.get('files', 0)
    ctx.facts.scan_seconds = time.time() - started


def check_space(ctx, problems):
    p, f = ctx.params, ctx.facts
    if not f.is_set('data_bytes'):
        return
    layout = fixes.disk_layout(p.disk_size, p.swap_size)
    f.layout = layout
    need = fixes.bytes_needed_in_root(f.data_bytes)
    if layout['root_bytes'] < need:
        problems.append('disk_size: %s leaves %s for / but the data (%s) '
                        'needs about %s; use a bigger --disk-size' % (
                            human_bytes(p.disk_size),
                            human_bytes(layout['root_bytes']),
                            human_bytes(f.data_bytes), human_bytes(need)))
    # The raw image is sparse but grows up to disk_size as rsync rewrites
    # files: free space must cover the whole image, not just the data.
    free = f.dest_free_bytes
    docker_bytes = f.docker_vg.get('pv_bytes', 0) if \
        f.docker_vg.get('action') == 'carry' else 0
    want = p.disk_size + docker_bytes + p.space_margin
    if free is not None and free < want:
        problems.append('not enough space in %s on %s: %s free, need %s '
                        '(the whole image %s, as it fills up to its size '
                        'when files are rewritten, %s+ margin %s); free space '
                        'there, use --disk-dir elsewhere or a smaller '
                        '--disk-size' % (
                            p.disk_dir, p.destination, human_bytes(free),
                            human_bytes(want), human_bytes(p.disk_size),
                            '+ the docker PV %s ' % human_bytes(docker_bytes)
                            if docker_bytes else '',
                            human_bytes(p.space_margin)))

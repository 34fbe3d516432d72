"""switch_over: the old master hands its admin address to the guest, the guest
starts, and the run waits until it answers. Undo gives everything back.
With the lines --dry-run prints for it."""
from __future__ import absolute_import, division, print_function

import json
import os
import socket
import time

from rf_common.text import to_text

from master_migration import fixes, netcfg
from master_migration.commands import CommandError, write_file_argv
from master_migration.context import URI, RollbackIncomplete, StepFailed
from master_migration.copydisk import release, release_disk
from master_migration.virsh import GuestUnknown, guest_autostart, guest_state

# How long the switch-over rides out ssh failures to the virt node.
SSH_GRACE = 60


class GuestTimeout(StepFailed):
    pass


def switch_over(ctx):
    p, f = ctx.params, ctx.facts
    ctx.checkpoint('switch-start')
    release_disk(ctx)
    if not f.is_set('admin_routes'):
        f.admin_routes = netcfg.routes(ctx.commands, p.admin_interface)
    ctx.state.switch_started = time.time()
    netcfg.move_address(ctx.commands, p.admin_interface, p.admin_prefix,
                        drop=p.admin_address, keep=p.interim_address,
                        new_mac=fixes.interim_mac(p.admin_mac),
                        saved_routes=f.admin_routes)
    ctx.log.info('old master: %s released, now %s (MAC %s) on %s',
                 p.admin_address, p.interim_address,
                 fixes.interim_mac(p.admin_mac), p.admin_interface)
    ctx.checkpoint('address-moved')
    ctx.virsh('autostart', p.name)
    if guest_state(ctx) != 'running':
        ctx.virsh('start', p.name)
    ctx.state.guest_started = time.time()
    ctx.checkpoint('guest-started')
    ctx.log.info('guest %s started on %s; waiting up to %d s for ssh and '
                 'port %d on %s', p.name, p.destination, p.boot_timeout,
                 p.api_port, p.admin_address)
    wait_for_guest(ctx)
    ctx.state.guest_answered = time.time()
    write_done_markers(ctx)


def ssh_answers(address, timeout=3.0):
    return answers(address, 22, b'', b'SSH-', timeout)


def http_answers(address, port, timeout=3.0):
    """Any HTTP status line counts: the API is up, whatever it says."""
    return answers(address, port, b'GET / HTTP/1.0\r\nHost: ' +
                   address.encode() + b'\r\n\r\n', b'HTTP/', timeout)


def answers(address, port, request, greeting, timeout):
    """The port takes a connection (and the request) and its first bytes
    are the greeting."""
    try:
        conn = socket.create_connection((address, port), timeout)
    except (OSError, socket.error):
        return False
    try:
        conn.settimeout(timeout)
        conn.sendall(request)
        return conn.recv(64).startswith(greeting)
    except (OSError, socket.error):
        return False
    finally:
        conn.close()


def wait_for_guest(ctx):
    p = ctx.params
    deadline = time.time() + p.boot_timeout
    next_note, next_state = time.time() + 30, time.time()
    failing_since = None
    while time.time() < deadline:
        ssh_ok = ssh_answers(p.admin_address)
        api_ok = ssh_ok and http_answers(p.admin_address, p.api_port)
        if ssh_ok and api_ok:
            ctx.log.info('guest answers on %s: ssh and port %d',
                         p.admin_address, p.api_port)
            return
        if time.time() >= next_state:
            next_state = time.time() + 10
            failing_since = check_running(ctx, failing_since)
        if time.time() >= next_note:
            next_note = time.time() + 30
            ctx.log.info('waiting for the guest: ssh %s, api %s, %d s left',
                         'up' if ssh_ok else 'down',
                         'up' if api_ok else 'down', deadline - time.time())
        time.sleep(2)
    raise GuestTimeout('guest %s did not answer on %s (ssh and port %d) '
                       'within %d s; see its console: virsh console %s on %s'
                       % (p.name, p.admin_address, p.api_port,
                          p.boot_timeout, p.name, p.destination))


def check_running(ctx, failing_since):
    """Raise when the guest is not running. An ssh failure is retried
    for SSH_GRACE seconds; returns when the failures began (or None)."""
    try:
        state = guest_state(ctx)
    except GuestUnknown as exc:
        failing_since = failing_since or time.time()
        if time.time() - failing_since >= SSH_GRACE:
            raise
        ctx.log.warning('%s; retrying for up to %d s', exc, SSH_GRACE)
        return failing_since
    if state != 'running':
        raise StepFailed('guest %s is %s on %s instead of running'
                         % (ctx.params.name, state or 'not defined',
                            ctx.params.destination))
    return None


def write_done_markers(ctx):
    p, s = ctx.params, ctx.state
    done = {'guest': p.name, 'destination': p.destination,
            'admin_address': p.admin_address,
            'finished': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
            'downtime_seconds': round(s.guest_answered -
                                      s.downtime_started, 1)}
    text = json.dumps(done, indent=1, sort_keys=True) + '\n'
    ctx.remote.write_file(ctx.facts.done_marker, text)
    with open(os.path.join(p.work_dir, 'done'), 'w') as handle:
        handle.write(text)
    ctx.log.info('done markers: %s on %s and %s', ctx.facts.done_marker,
                 p.destination, os.path.join(p.work_dir, 'done'))


def hand_commands(p):
    return ('on %s: virsh -c %s destroy %s; virsh -c %s autostart --disable '
            '%s; then here: rf-migrate-master --rollback' % (
                p.destination, URI, p.name, URI, p.name))


def stop_guest_for_good(ctx):
    """Destroy the guest and turn autostart off, then read both back from
    libvirt. Raises RollbackIncomplete unless both are confirmed."""
    p = ctx.params
    try:
        state = guest_state(ctx)
        if state not in (None, 'shut off'):
            ctx.virsh('destroy', p.name, ok_codes=None)
            ctx.checkpoint('rollback-destroyed')
        if state is not None:
            ctx.virsh('autostart', '--disable', p.name, ok_codes=None)
            state = guest_state(ctx)
        autostart = state is not None and guest_autostart(ctx)
    except Exception as exc:  # anything unconfirmed may leave it running
        reason = to_text(exc)
        if not isinstance(exc, (GuestUnknown, CommandError)):
            reason = '%s: %s' % (type(exc).__name__, reason)
    else:
        if state in (None, 'shut off') and not autostart:
            return
        reason = 'libvirt says guest %s is %s, autostart %s' % (
            p.name, state, 'on' if autostart else 'off')
    raise RollbackIncomplete(
        'cannot confirm that guest %s is shut off with autostart off (%s); '
        'the old master keeps %s and does NOT take %s back, its services '
        'stay stopped. Finish by hand %s' % (
            p.name, reason, p.interim_address, p.admin_address,
            hand_commands(p)))


def undo_switch(ctx):
    p, f = ctx.params, ctx.facts
    if not ctx.state.switch_started:
        return
    stop_guest_for_good(ctx)
    netcfg.move_address(ctx.commands, p.admin_interface, p.admin_prefix,
                        drop=p.interim_address, keep=p.admin_address,
                        new_mac=f.admin_live_mac,
                        saved_routes=f.admin_routes)
    ctx.log.info('rollback: guest %s shut off, autostart off (confirmed by '
                 'libvirt; kept with its disk for inspection); %s back on %s',
                 p.name, p.admin_address, p.admin_interface)


def lines_switch_over(ctx, out):
    p, f = ctx.params, ctx.facts
    iface, interim_mac = p.admin_interface, fixes.interim_mac(p.admin_mac)
    out.script(*release(ctx))
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

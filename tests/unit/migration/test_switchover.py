"""The switch-over's decisions: which routes come back, whether the guest
is started, what the done markers say, and when the guest counts as
answering (loopback servers stand in for its ssh and API ports)."""
from __future__ import absolute_import, division, print_function

import json
import os
import socket
import threading

import pytest

from master_migration import switchover
from recorder import Recorder
from test_migration_dryrun import VIRSH, dry_ctx

ROUTE = ['default', 'via', '10.20.0.1', 'proto', 'static']


def switched(tmp_path, monkeypatch, guest='shut off\n', routes=None):
    """switch_over with recorded commands; the guest answers at once."""
    rec = Recorder()
    rec.answer(VIRSH + ['domstate'], 0, guest)
    rec.answer(['ip', '-o', '-4', 'addr'], 0,
               '2: eth0 inet 10.20.0.2/24 scope global eth0\n')
    rec.answer(['ip', '-4', 'route', 'show'], 0,
               'default via 10.20.0.1 proto static\n')
    monkeypatch.setattr(switchover, 'wait_for_guest', lambda ctx: None)
    ctx = dry_ctx(tmp_path, rec)
    ctx.state.downtime_started = 1000.0
    if routes is not None:
        ctx.facts.admin_routes = routes
    switchover.switch_over(ctx)
    return ctx, [c[-1] if c[0] == 'ssh' else ' '.join(c) for c in rec.calls]


def test_a_resumed_switch_over_restores_the_routes_saved_before_the_move(
        tmp_path, monkeypatch):
    """Read again after the address moved, the routes would be the
    interim address's: the ones saved the first time come back."""
    saved = [['10.30.0.0/24', 'via', '10.20.0.9']]
    _, calls = switched(tmp_path, monkeypatch, routes=saved)
    assert 'ip -4 route show dev eth0' not in calls
    assert 'ip route replace 10.30.0.0/24 via 10.20.0.9 dev eth0' in calls


def test_the_routes_are_saved_before_the_address_moves(tmp_path, monkeypatch):
    ctx, calls = switched(tmp_path, monkeypatch)
    assert calls.index('ip -4 route show dev eth0') < calls.index(
        'ip addr del 10.20.0.2/24 dev eth0')
    assert ctx.facts.admin_routes == [ROUTE]
    assert 'ip route replace %s dev eth0' % ' '.join(ROUTE) in calls


@pytest.mark.parametrize('guest,started', [('shut off\n', True), ('running\n', False)])
def test_the_guest_is_started_unless_it_runs(tmp_path, monkeypatch, guest, started):
    _, calls = switched(tmp_path, monkeypatch, guest=guest)
    start = 'env LC_ALL=C LANG=C virsh -c qemu:///system start fuel_master'
    assert (start in calls) == started


def test_the_done_markers_say_the_downtime_to_a_tenth_of_a_second(tmp_path, monkeypatch):
    ctx, calls = switched(tmp_path, monkeypatch)
    assert calls[-1].endswith(ctx.facts.done_marker)  # the copy on the virt node
    ctx.state.guest_answered = 1100.44  # services stopped at 1000.0
    switchover.write_done_markers(ctx)
    with open(os.path.join(ctx.params.work_dir, 'done')) as handle:
        done = json.load(handle)
    assert done['downtime_seconds'] == 100.4
    assert (done['guest'], done['admin_address']) == ('fuel_master', '10.20.0.2')


class Server(object):
    """A loopback TCP server that sends `reply` to each connection."""

    def __init__(self, reply):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.thread = threading.Thread(target=self.serve)
        self.thread.daemon = True
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except (OSError, socket.error):
                return
            conn.sendall(self.reply)
            conn.close()

    def close(self):
        self.sock.close()


def closed_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def port_22_to(monkeypatch):
    """ssh_answers always asks port 22: send it to a test port instead."""
    real = socket.create_connection
    target = []

    def create_connection(address, timeout):
        assert address[1] == 22
        return real((address[0], target[0]), timeout)
    monkeypatch.setattr(switchover.socket, 'create_connection', create_connection)
    return target


@pytest.mark.parametrize('reply,answers', [(b'SSH-2.0-OpenSSH_7.4\r\n', True),
                                           (b'HTTP/1.1 400 Bad Request\r\n', False),
                                           (b'', False)])
def test_ssh_answers_only_with_an_ssh_banner(port_22_to, reply, answers):
    server = Server(reply)
    port_22_to.append(server.port)
    try:
        assert switchover.ssh_answers('127.0.0.1', timeout=2.0) is answers
    finally:
        server.close()


def test_nothing_listening_on_22_is_no_ssh(port_22_to):
    port_22_to.append(closed_port())
    assert switchover.ssh_answers('127.0.0.1', timeout=2.0) is False


def test_nothing_listening_on_the_api_port_is_no_api():
    assert switchover.http_answers('127.0.0.1', closed_port(), timeout=2.0) is False


@pytest.mark.parametrize('reply,answers', [(b'HTTP/1.1 503 Unavailable\r\n\r\n', True),
                                           (b'SSH-2.0-OpenSSH_7.4\r\n', False),
                                           (b'', False)])
def test_any_http_status_line_counts_as_the_api_answering(reply, answers):
    server = Server(reply)
    try:
        assert switchover.http_answers('127.0.0.1', server.port, timeout=2.0) is answers
    finally:
        server.close()


@pytest.mark.parametrize('ssh,api', [(True, False), (False, True)])
def test_the_guest_counts_as_answering_only_with_ssh_and_the_api(tmp_path, monkeypatch,
                                                                 ssh, api):
    """One of the two is not enough: the run waits, then gives up (and
    rolls back) rather than leave the admin address to half a master."""
    rec = Recorder()
    rec.answer(VIRSH + ['domstate'], 0, 'running\n')
    ctx = dry_ctx(tmp_path, rec)
    ctx.params.boot_timeout = 0.1
    monkeypatch.setattr(switchover, 'ssh_answers', lambda address: ssh)
    monkeypatch.setattr(switchover, 'http_answers', lambda address, port: api)
    monkeypatch.setattr(switchover.time, 'sleep', lambda seconds: None)
    with pytest.raises(switchover.GuestTimeout):
        switchover.wait_for_guest(ctx)


def test_a_port_that_accepts_but_says_nothing_is_no_ssh(port_22_to):
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(1)
    port_22_to.append(server.getsockname()[1])
    try:
        assert switchover.ssh_answers('127.0.0.1', timeout=0.1) is False
    finally:
        server.close()


def test_the_test_hook_is_read_once_and_the_switch_over_passes_each_point(
        tmp_path, monkeypatch):
    """RFM_TEST_PAUSE is read when the run's context is made, not by the
    switch-over; it passes its points in order and, paused at none of
    them, goes on."""
    from master_migration import cli
    monkeypatch.setenv('RFM_TEST_PAUSE', 'rollback-destroyed')
    base = dry_ctx(tmp_path / 'hook', Recorder())
    made = cli.new_context(base.params, base.state, base.log, 'log')
    monkeypatch.delenv('RFM_TEST_PAUSE')
    assert made.pause_at == 'rollback-destroyed'
    passed = []
    monkeypatch.setattr('master_migration.context.Context.checkpoint',
                        lambda ctx, name: passed.append(name))
    switched(tmp_path, monkeypatch)
    assert passed == ['switch-start', 'address-moved', 'guest-started']

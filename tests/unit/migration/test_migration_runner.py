"""Runner, state file, lock and the exact commands of the shell (recorded,
not run)."""
from __future__ import absolute_import, division, print_function

import json
import logging
import os
import subprocess
import sys
import time

import pytest

from lab.paths import MIGRATION, source_paths
from master_migration import filesync, guest, netcfg, runner, steptable, switchover, virsh
from master_migration.commands import CommandError, Remote
from recorder import Recorder
from master_migration.context import Context, StepFailed
from master_migration.params import Params
from master_migration.state import Lock, LockBusy, State

SOURCE_PATHS = source_paths(MIGRATION)  # what a child needs on its sys.path


def test_state_is_written_atomically_and_resumes(tmp_path):
    path = os.path.join(str(tmp_path), 'state.json')
    state = State(path)
    state.mark_started('warm_sync')
    state.mark_done('warm_sync')
    state.mark_started('stop_services')
    assert sorted(os.listdir(str(tmp_path))) == ['state.json']  # no temp left
    again = State.load(path)
    assert again.is_done('warm_sync')
    assert again.step('stop_services')['status'] == 'running'
    assert again.step('stop_services')['attempts'] == 1


def test_corrupt_state_says_what_to_do(tmp_path):
    path = os.path.join(str(tmp_path), 'state.json')
    with open(path, 'w') as handle:
        handle.write('{"half": ')
    with pytest.raises(ValueError) as err:
        State.load(path)
    assert 'move it away' in str(err.value)


def test_lock_refuses_a_second_run_and_dies_with_its_holder(tmp_path):
    path = os.path.join(str(tmp_path), 'lock')
    holder = subprocess.Popen([sys.executable, '-c', (
        'import sys, time; sys.path[:0] = %r\n'
        'from master_migration.state import Lock\n'
        'Lock(%r).acquire(); sys.stdout.write("held\\n")\n'
        'sys.stdout.flush(); time.sleep(60)') % (SOURCE_PATHS, path)],
        stdout=subprocess.PIPE)
    assert holder.stdout.readline().strip() == b'held'
    with pytest.raises(LockBusy) as err:
        Lock(path).acquire()
    assert 'pid %d' % holder.pid in str(err.value)
    holder.kill()
    holder.wait()
    lock = Lock(path)
    lock.acquire()  # a killed holder leaves no stale lock
    lock.release()


class Log(logging.Logger):
    def __init__(self):
        logging.Logger.__init__(self, 'test')
        self.lines = []

    def _log(self, level, msg, args, **kw):
        self.lines.append(msg % args if args else msg)


def make_ctx(tmp_path, recorder, **facts):
    params = Params({'destination': 'virt', 'ssh_port': 22,
                     'ssh_user': 'root', 'ssh_identity': None,
                     'ssh_known_hosts': None, 'name': 'fuel_master',
                     'disk_dir': '/var/lib/nova', 'remove_disk': False,
                     'admin_interface': 'eth0', 'admin_address': '10.20.0.2',
                     'admin_prefix': 24, 'admin_mac': '52:54:00:00:00:02',
                     'interim_address': '10.20.0.250', 'boot_timeout': 5,
                     'poweroff': False, 'work_dir': str(tmp_path),
                     'sync_timeout': 60, 'disk_size': 100 << 30,
                     'verify': 'none'})
    state = State(os.path.join(str(tmp_path), 'state.json'))
    state.data['facts'].update({'image': '/var/lib/nova/fuel_master.img',
                                'mount_point': '/var/lib/nova/fuel_master.mnt',
                                'xml_path': '/var/lib/nova/fuel_master.xml',
                                'domain_uuid': 'u-1',
                                'admin_live_mac': '52:54:00:00:00:02'})
    state.data['facts'].update(facts)
    ctx = Context(params, state.facts, state, recorder, Log())
    ctx.log_path = os.path.join(str(tmp_path), 'log')
    return ctx


def test_rollback_before_switch_restarts_services_first_then_cleans(tmp_path):
    rec = Recorder()
    rec.answer(['virsh', '-c', 'qemu:///system', 'domuuid'], stdout='u-1\n')
    rec.answer(['virsh', '-c', 'qemu:///system', 'domstate'],
               stdout='shut off\n')
    ctx = make_ctx(tmp_path, rec)
    ctx.state.services = {'stop': [['svc', 'stop']],
                          'start': [['svc', 'start']]}
    ctx.state.services_stopped = True
    ctx.state.image_created = True
    assert runner.rollback(ctx)
    flat = [' '.join(c) for c in rec.calls]
    assert flat[0] == 'svc start'
    assert any('undefine fuel_master' in c for c in flat)
    assert not any('rm -f /var/lib/nova/fuel_master.img' in c for c in flat)
    assert flat.index('svc start') < min(
        i for i, c in enumerate(flat) if 'undefine' in c)
    assert not os.path.exists(ctx.state.path)  # archived: a new run may go


def test_rollback_keeps_state_when_an_undo_fails(tmp_path):
    rec = Recorder()
    rec.answer(['sh', '-s', '--'], returncode=255, stderr='ssh: no route')
    ctx = make_ctx(tmp_path, rec)
    ctx.state.image_created = True
    assert not runner.rollback(ctx)
    assert State.load(ctx.state.path).status == 'rollback-incomplete'


def test_runner_skips_done_steps_and_records_the_new_ones(tmp_path,
                                                          monkeypatch):
    ran = []
    fake = [steptable.Step(n, n, (), lambda p: 10,
                           (lambda n: lambda ctx: ran.append(n))(n), None, None)
            for n in ('a', 'b', 'c')]
    monkeypatch.setattr(runner, 'STEPS', fake)
    ctx = make_ctx(tmp_path, Recorder())
    ctx.state.mark_started('a')
    ctx.state.mark_done('a')
    assert runner.run(ctx) == 0
    assert ran == ['b', 'c']
    saved = json.loads(open(ctx.state.path).read())
    assert saved['status'] == 'done'
    assert [saved['steps'][n]['status'] for n in 'abc'] == ['done'] * 3


def test_a_failing_step_rolls_back_and_says_why(tmp_path, monkeypatch):
    def boom(ctx):
        raise StepFailed('disk on fire: call the fire brigade')
    fake = [steptable.Step('a', 'a', (), lambda p: 10, boom, None, None)]
    monkeypatch.setattr(runner, 'STEPS', fake)
    rec = Recorder()
    ctx = make_ctx(tmp_path, rec)
    assert runner.run(ctx) == runner.EXIT_FAILED
    assert any('step a failed: disk on fire' in line for line in ctx.log.lines)
    assert any('rolled back' in line for line in ctx.log.lines)


def test_step_timeout_stops_the_step(tmp_path, monkeypatch):
    import time

    def slow(ctx):
        time.sleep(5)
    fake = [steptable.Step('a', 'a', (), lambda p: 0.2, slow, None, None)]
    monkeypatch.setattr(runner, 'STEPS', fake)
    ctx = make_ctx(tmp_path, Recorder())
    assert runner.run(ctx) == runner.EXIT_FAILED
    assert any('past its timeout' in line for line in ctx.log.lines)


def test_switch_over_moves_address_and_mac_with_exact_commands(tmp_path):
    rec = Recorder()
    rec.answer(['ip', '-o', '-4', 'addr'],
               stdout='2: eth0    inet 10.20.0.2/24 brd 10.20.0.255 scope '
                      'global eth0\n')
    rec.answer(['ip', '-o', 'link'], stdout='2: eth0: <UP> link/ether '
                                            '52:54:00:00:00:02 brd ff\n')
    rec.answer(['ip', '-4', 'route'], stdout=(
        'default via 10.20.0.1 proto static\n10.20.0.0/24 proto kernel '
        'scope link src 10.20.0.2\n'))
    ctx = make_ctx(tmp_path, rec)
    netcfg.move_address(rec, 'eth0', 24, '10.20.0.2', '10.20.0.250',
                        '56:54:00:00:00:02', netcfg.routes(rec, 'eth0'))
    local = [c for c in rec.calls if c[0] == 'ip' and c[1] != '-o']
    assert local == [
        ['ip', '-4', 'route', 'show', 'dev', 'eth0'],
        ['ip', 'addr', 'del', '10.20.0.2/24', 'dev', 'eth0'],
        ['ip', 'link', 'set', 'dev', 'eth0', 'down'],
        ['ip', 'link', 'set', 'dev', 'eth0', 'address', '56:54:00:00:00:02'],
        ['ip', 'link', 'set', 'dev', 'eth0', 'up'],
        ['ip', 'addr', 'add', '10.20.0.250/24', 'dev', 'eth0'],
        ['ip', 'route', 'replace', 'default', 'via', '10.20.0.1', 'proto',
         'static', 'dev', 'eth0']]
    del ctx


def test_remote_commands_are_quoted_and_strict_about_host_keys():
    rec = Recorder()
    remote = Remote(rec, 'virt-1', 2222, 'root', '/k', '/kh')
    remote.run(['mkdir', '-p', '/var/lib/nova/a b'])
    argv = rec.calls[0]
    assert argv[:3] == ['ssh', '-p', '2222']
    assert 'StrictHostKeyChecking=yes' in argv
    assert 'StrictHostKeyChecking=no' not in ' '.join(argv)
    assert argv[-1] == "env LC_ALL=C LANG=C mkdir -p '/var/lib/nova/a b'"


def test_command_error_carries_stderr():
    from master_migration.commands import Commands
    with pytest.raises(CommandError) as err:
        Commands().run(['sh', '-c', 'echo broken pipe here >&2; exit 7'])
    assert 'exit 7' in str(err.value) and 'broken pipe here' in str(err.value)
    with pytest.raises(CommandError) as err:
        Commands().run(['sleep', '5'], timeout=0.2)
    assert 'timed out' in str(err.value)


def test_a_command_started_ahead_that_died_fails_with_its_words():
    """Started before its input (as the final sync's ssh commands): one
    that ended meanwhile (ssh refused, say) fails when given its input,
    with its exit status and stderr."""
    from master_migration.commands import Commands
    started = Commands().start(['sh', '-c', 'echo ssh: connect to host '
                                'virt-1 port 22: refused >&2; exit 255'])
    started.proc.wait()
    with pytest.raises(CommandError) as err:
        started.finish(b'name\0' * 100000, 10)
    assert 'exit 255' in str(err.value) and 'refused' in str(err.value)
    ran = Commands().start(['sh', '-c', 'tr "\\0" "\\n"'])
    assert ran.finish(b'a\0b\0', 10).stdout == 'a\nb\n'
    streamed, out = Commands().start(['sh', '-c', 'wc -c; exit 255']), []
    with pytest.raises(CommandError) as err:
        streamed.stream(b'x' * 1000000, out.append, 10)  # > a pipe's buffer
    assert 'exit 255' in str(err.value) and ''.join(out).strip() == '1000000'


def test_a_command_started_ahead_is_stopped_whole(tmp_path):
    """stop() of one never given its input ends its whole process group
    (ssh and what it started), not only its first process."""
    from master_migration.commands import Commands
    pid_file = str(tmp_path / 'pid')
    started = Commands().start(['sh', '-c', 'sleep 300 & echo $! > "$1"; '
                                'cat >/dev/null; wait', 'sh', pid_file])
    while not os.path.exists(pid_file) or not open(pid_file).read(
            ).endswith('\n'):
        time.sleep(0.01)
    child = int(open(pid_file).read())
    started.stop()
    assert started.proc.returncode is not None
    deadline = time.time() + 30  # a SIGKILL takes effect soon, not at once
    while alive(child) and time.time() < deadline:
        time.sleep(0.01)
    assert not alive(child)
    started.stop()  # again: nothing to do


def alive(pid):
    """pid runs (a zombie left for its parent to reap has ended)."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except IOError:
        return False


def test_guest_wait_gives_up_when_the_guest_stops(tmp_path):
    rec = Recorder()
    rec.answer(['virsh', '-c', 'qemu:///system', 'domstate'],
               stdout='shut off\n')
    ctx = make_ctx(tmp_path, rec)
    ctx.params.admin_address = '127.0.0.9'
    ctx.params.api_port = 9
    ctx.params.boot_timeout = 30
    with pytest.raises(StepFailed) as err:
        switchover.wait_for_guest(ctx)
    assert 'shut off' in str(err.value)


def test_services_plan_for_fuel9_systemd_stops_active_units_in_order():
    from master_migration import services
    rec = Recorder()
    rec.answer(['sh', '-c', 'command -v "$1"', 'sh', 'dockerctl'],
               returncode=1)
    for unit in ('nailgun', 'astute', 'postgresql'):
        rec.answer(['systemctl', 'is-active', unit], stdout='active\n')
    rec.answer(['systemctl', 'is-active'], returncode=3, stdout='inactive\n')
    p = Params({'services': 'auto', 'systemd_units': None})
    kind = services.resolve_kind(p, rec)
    assert kind == 'systemd'
    stop, start = services.plan_services(kind, p, rec)
    assert stop == [['systemctl', 'stop', 'nailgun'],
                    ['systemctl', 'stop', 'astute'],
                    ['systemctl', 'stop', 'postgresql']]
    assert start == [['systemctl', 'start', 'postgresql'],
                     ['systemctl', 'start', 'astute'],
                     ['systemctl', 'start', 'nailgun']]


def test_services_plan_for_fuel8_docker_uses_dockerctl():
    from master_migration import services
    rec = Recorder()
    rec.answer(['docker', 'ps'], stdout='fuel-core-8.0-postgres\n'
               'fuel-core-8.0-nailgun\nfuel-core-8.0-astute\n')
    p = Params({'services': 'docker', 'docker_containers': None})
    stop, start = services.plan_services('docker', p, rec)
    assert [a[-1] for a in stop] == ['fuel-core-8.0-nailgun',
                                     'fuel-core-8.0-astute',
                                     'fuel-core-8.0-postgres']
    assert stop[0][:2] == ['dockerctl', 'stop']
    assert [a[-1] for a in start] == [a[-1] for a in reversed(stop)]


# ---- issue 9 point 1: an ssh failure is never "no guest" ----------------

class SeqRecorder(Recorder):
    """A Recorder whose answers to one prefix come in turn from a list
    (the last one repeats): ssh fails at exactly the calls wanted."""

    def __init__(self):
        Recorder.__init__(self)
        self.seqs = []

    def answer_seq(self, prefix, answers):
        self.seqs.append((list(prefix), list(answers)))

    def _lookup(self, argv):
        words = list(argv)
        if argv and argv[0] == 'ssh':
            import shlex
            words += shlex.split(argv[-1])
        for prefix, answers in self.seqs:
            if any(words[i:i + len(prefix)] == prefix
                   for i in range(len(words) - len(prefix) + 1)):
                return answers.pop(0) if len(answers) > 1 else answers[0]
        return Recorder._lookup(self, argv)


SSH_DOWN = (255, '', 'ssh: connect to host virt port 22: No route to host')
VIRSH = ['virsh', '-c', 'qemu:///system']


class FakeClock(object):
    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds

    def strftime(self, *args):
        import time
        return time.strftime(*args)

    def gmtime(self, *args):
        import time
        return time.gmtime(*args)


def test_guest_state_tells_no_guest_from_ssh_failure(tmp_path):
    rec = SeqRecorder()
    rec.answer_seq(VIRSH + ['domstate'], [
        (1, '', "error: failed to get domain 'fuel_master'\n"),
        SSH_DOWN, (1, '', 'error: failed to connect to the hypervisor\n')])
    ctx = make_ctx(tmp_path, rec)
    assert virsh.guest_state(ctx) is None
    for _ in range(2):
        with pytest.raises(virsh.GuestUnknown) as err:
            virsh.guest_state(ctx)
        assert 'fuel_master' in str(err.value)


def test_guest_wait_rides_out_a_short_ssh_failure(tmp_path, monkeypatch):
    rec = SeqRecorder()
    rec.answer_seq(VIRSH + ['domstate'], [SSH_DOWN, SSH_DOWN,
                                          (0, 'running\n', '')])
    ctx = make_ctx(tmp_path, rec)
    ctx.params.boot_timeout = 600
    ctx.params.api_port = 9
    clock = FakeClock()
    monkeypatch.setattr(switchover, 'time', clock)
    monkeypatch.setattr(switchover, 'ssh_answers',
                        lambda address: clock.now > 1030)
    monkeypatch.setattr(switchover, 'http_answers', lambda a, p: True)
    switchover.wait_for_guest(ctx)  # before: "guest is None ... instead of
    assert sum('domstate' in c[-1] for c in rec.calls) >= 3      # running"
    assert any('retrying' in line for line in ctx.log.lines)


def test_guest_wait_gives_up_when_ssh_stays_down(tmp_path, monkeypatch):
    rec = SeqRecorder()
    rec.answer_seq(VIRSH + ['domstate'], [SSH_DOWN])
    ctx = make_ctx(tmp_path, rec)
    ctx.params.boot_timeout = 600
    ctx.params.api_port = 9
    monkeypatch.setattr(switchover, 'time', FakeClock())
    monkeypatch.setattr(switchover, 'ssh_answers', lambda address: False)
    with pytest.raises(virsh.GuestUnknown) as err:
        switchover.wait_for_guest(ctx)
    assert 'No route to host' in str(err.value)


def switched_ctx(tmp_path, rec):
    rec.answer(['ip', '-o', '-4', 'addr'],
               stdout='2: eth0    inet 10.20.0.250/24 scope global eth0\n')
    ctx = make_ctx(tmp_path, rec)
    ctx.state.switch_started = 1.0
    ctx.state.services = {'stop': [['svc', 'stop']],
                          'start': [['svc', 'start']]}
    ctx.state.services_stopped = True
    return ctx


def test_rollback_keeps_the_address_off_when_the_stop_is_unconfirmed(
        tmp_path):
    rec = SeqRecorder()
    rec.answer_seq(VIRSH + ['domstate'], [(0, 'running\n', ''), SSH_DOWN])
    rec.answer_seq(VIRSH + ['destroy'], [SSH_DOWN])
    ctx = switched_ctx(tmp_path, rec)
    assert not runner.rollback(ctx)
    assert not [c for c in rec.calls if c[:3] == ['ip', 'addr', 'add']]
    assert ['svc', 'start'] not in rec.calls
    saved = State.load(ctx.state.path)
    assert saved.status == 'rollback-incomplete'
    text = '\n'.join(ctx.log.lines)
    assert 'virsh -c qemu:///system destroy fuel_master' in text
    assert 'virsh -c qemu:///system autostart --disable fuel_master' in text
    assert 'rf-migrate-master --rollback' in text


def test_rollback_refuses_when_autostart_stays_on(tmp_path):
    rec = SeqRecorder()
    rec.answer_seq(VIRSH + ['domstate'], [(0, 'shut off\n', '')])
    rec.answer_seq(VIRSH + ['dominfo'], [
        (0, 'Name: fuel_master\nAutostart:      enable\n', '')])
    ctx = switched_ctx(tmp_path, rec)
    assert not runner.rollback(ctx)
    assert not [c for c in rec.calls if c[:3] == ['ip', 'addr', 'add']]
    assert any('libvirt says guest fuel_master is shut off, autostart on' in line
               for line in ctx.log.lines)


def test_a_later_rollback_with_ssh_back_finishes(tmp_path):
    rec = SeqRecorder()
    rec.answer_seq(VIRSH + ['domstate'], [SSH_DOWN])
    ctx = switched_ctx(tmp_path, rec)
    assert not runner.rollback(ctx)
    assert State.load(ctx.state.path).status == 'rollback-incomplete'
    rec2 = SeqRecorder()
    rec2.answer_seq(VIRSH + ['domstate'], [(0, 'running\n', ''),
                                           (0, 'shut off\n', '')])
    rec2.answer_seq(VIRSH + ['dominfo'], [
        (0, 'Name: fuel_master\nAutostart:      disable\n', '')])
    rec2.answer(['ip', '-o', '-4', 'addr'],
                stdout='2: eth0    inet 10.20.0.250/24 scope global eth0\n')
    ctx2 = make_ctx(tmp_path, rec2)
    ctx2.state = State.load(ctx.state.path)
    ctx2.facts = ctx2.state.facts
    assert runner.rollback(ctx2)
    flat = [' '.join(c) for c in rec2.calls]
    assert 'ip addr add 10.20.0.2/24 dev eth0' in flat
    assert 'svc start' in flat
    assert any('destroy fuel_master' in c for c in flat)
    assert flat.index('ip addr add 10.20.0.2/24 dev eth0') > max(
        i for i, c in enumerate(flat) if 'dominfo' in c)


@pytest.mark.parametrize('text', ['{}', '[]', '{"steps": 5}', '5', 'null',
                                  '{"steps": {}, "facts": [], "params": {}}',
                                  '{"steps": {"a": 1}, "facts": {}}'])
def test_a_state_of_the_wrong_shape_says_what_to_do(tmp_path, text):
    path = os.path.join(str(tmp_path), 'state.json')
    with open(path, 'w') as handle:
        handle.write(text)
    with pytest.raises(ValueError) as err:
        State.load(path)
    assert path in str(err.value) and 'move it away' in str(err.value)


def replace_problems(tmp_path, rec):
    from master_migration import preflight
    ctx = make_ctx(tmp_path, rec, done_marker=(
        '/var/lib/nova/fuel_master.migration-done'))
    ctx.params.replace = True
    problems = []
    preflight.check_leftovers(ctx, problems)
    return problems


@pytest.mark.parametrize('claim,named', [
    ('used-by compute-7', ['compute-7', '/var/lib/nova/fuel_master.img']),
    ('done-marker /var/lib/nova/fuel_master.migration-done', ['migration-done'])],
    ids=['another domain uses the image', 'a migration-done marker'])
def test_replace_refuses_an_image_that_is_not_free(tmp_path, claim, named):
    rec = Recorder()
    rec.answer(['sh', '-s', '--', '/var/lib/nova/fuel_master.img',
                '/var/lib/nova/fuel_master.migration-done'], stdout=claim + '\n')
    problems = replace_problems(tmp_path, rec)
    assert len(problems) == 1 and all(n in problems[0] for n in named), problems


def test_replace_of_an_unclaimed_image_is_allowed(tmp_path):
    rec = Recorder()
    rec.answer(['sh', '-s'], stdout='exists /var/lib/nova/fuel_master.img\n')
    assert replace_problems(tmp_path, rec) == []


def test_preflight_does_not_read_an_ssh_failure_as_a_free_name(tmp_path):
    from master_migration import preflight
    rec = Recorder()
    rec.answer(VIRSH + ['domstate'], returncode=255, stderr='ssh: timeout')
    ctx = make_ctx(tmp_path, rec)
    problems = []
    preflight.check_guest_name(ctx, problems)
    assert len(problems) == 1 and 'ssh: timeout' in problems[0]


# ---- issue 9 point 2: the destination is resolved once ------------------

def test_ssh_goes_to_the_address_and_checks_the_key_of_the_name():
    rec = Recorder()
    Remote(rec, '192.0.2.7', 22, 'root', None, '/kh', alias='virt-1').run(
        ['true'])
    Remote(rec, '192.0.2.7', 2222, 'root', None, '/kh', alias='virt-1').run(
        ['true'])
    Remote(rec, '192.0.2.7', 22, 'root', None, '/kh',
           alias='192.0.2.7').run(['true'])
    first, second, by_address = rec.calls
    assert first[-3] == '192.0.2.7' and second[-3] == '192.0.2.7'
    assert 'HostKeyAlias=virt-1' in first
    assert 'HostKeyAlias=[virt-1]:2222' in second
    assert 'StrictHostKeyChecking=yes' in first
    assert not [w for w in by_address if w.startswith('HostKeyAlias')]


def test_preflight_resolves_the_destination_once_into_the_facts(tmp_path):
    from master_migration import preflight
    rec = Recorder()
    ctx = make_ctx(tmp_path, rec)
    ctx.params.destination = 'localhost'
    problems = []
    preflight.resolve_destination(ctx, problems)
    assert problems == []
    assert ctx.state.facts.destination_address == '127.0.0.1'
    ctx.remote.run(['true'])
    assert rec.calls[-1][-3] == '127.0.0.1'
    assert 'HostKeyAlias=localhost' in rec.calls[-1]
    again = Context(ctx.params, ctx.facts, ctx.state, rec, Log())  # --resume
    again.remote.run(['true'])
    assert rec.calls[-1][-3] == '127.0.0.1'


def test_a_destination_that_does_not_resolve_is_a_problem(tmp_path):
    from master_migration import preflight
    ctx = make_ctx(tmp_path, Recorder())
    ctx.params.destination = 'no-such-virt-node.invalid'
    problems = []
    preflight.resolve_destination(ctx, problems)
    assert len(problems) == 1
    assert 'no-such-virt-node.invalid' in problems[0]


def test_space_is_checked_for_the_whole_image_not_the_data(tmp_path):
    """Issue 9 point 4: the sparse raw image grows up to disk_size as
    rsync rewrites files: free space must cover all of it."""
    from master_migration import preflight
    ctx = make_ctx(tmp_path, Recorder(), data_bytes=10 << 20,
                   dest_free_bytes=50 << 30)
    ctx.params.disk_size, ctx.params.swap_size = 100 << 30, 0
    ctx.params.space_margin = 1 << 30
    problems = []
    preflight.check_space(ctx, problems)
    assert len(problems) == 1
    assert 'whole image' in problems[0] and '100.0 GiB' in problems[0]
    ctx.facts.dest_free_bytes = 102 << 30
    problems = []
    preflight.check_space(ctx, problems)
    assert problems == []


# ---- issue 9 point 5: signals and unexpected errors in a rollback --------

def services_stopped_ctx(tmp_path, rec, start=(('svc', 'start'),)):
    ctx = make_ctx(tmp_path, rec)
    ctx.state.services = {'stop': [['svc', 'stop']],
                          'start': [list(a) for a in start]}
    ctx.state.services_stopped = True
    return ctx


def archived_state(tmp_path):
    import glob
    found = glob.glob(os.path.join(str(tmp_path), 'state.json.rolled-back.*'))
    assert len(found) == 1, found
    return json.loads(open(found[0]).read())


def test_an_unexpected_error_in_a_step_is_recorded_and_rolled_back(
        tmp_path, monkeypatch):
    def parse(ctx):
        int('12 GiB')  # a parser's ValueError: no type the runner knows
    monkeypatch.setattr(runner, 'STEPS', after_services_stop(
        steptable.Step('a', 'a', (), lambda p: 10, parse, None, None)))
    rec = Recorder()
    ctx = services_stopped_ctx(tmp_path, rec)
    assert runner.run(ctx) == runner.EXIT_FAILED
    assert ['svc', 'start'] in rec.calls
    saved = archived_state(tmp_path)
    assert saved['status'] == 'rolled-back'
    assert saved['steps']['a']['status'] == 'failed'
    assert "unexpected ValueError: invalid literal for int()" in \
        saved['error']['message'] and saved['error']['step'] == 'a'
    assert any('step a failed: unexpected ValueError' in line
               for line in ctx.log.lines)


def after_services_stop(*rows):
    """The real stop_services row (its undo restarts them), then rows."""
    return [s._replace(needs=()) for s in steptable.STEPS if s.id == 'stop_services'] + list(rows)


def raising(exc):
    def action(*args):
        raise exc
    return action


def assert_rollback_incomplete(ctx, logged):
    assert not runner.rollback(ctx)
    assert State.load(ctx.state.path).status == 'rollback-incomplete'
    assert any(logged in line for line in ctx.log.lines), ctx.log.lines


def test_an_unexpected_error_in_an_undo_still_restarts_services(
        tmp_path, monkeypatch):
    monkeypatch.setattr(runner, 'STEPS', [
        s._replace(undo=raising(KeyError('loop_device'))) if s.id == 'prepare_disk' else s
        for s in steptable.STEPS])
    rec = Recorder()
    ctx = services_stopped_ctx(tmp_path, rec)
    ctx.state.image_created = True
    assert_rollback_incomplete(
        ctx, "release the disk failed: unexpected KeyError: 'loop_device'")
    assert ['svc', 'start'] in rec.calls
    assert any('rm -f /var/lib/nova/fuel_master.xml' in c[-1]
               for c in rec.calls)  # the next undo still ran


def test_an_unexpected_error_while_stopping_the_guest_keeps_the_address(
        tmp_path, monkeypatch):
    monkeypatch.setattr(switchover, 'guest_state', raising(
        ValueError('virsh printed something unexpected')))
    rec = Recorder()
    ctx = switched_ctx(tmp_path, rec)
    assert_rollback_incomplete(ctx, 'ValueError: virsh printed')
    assert not [c for c in rec.calls if c[:3] == ['ip', 'addr', 'add']]


ROLLBACK_SCRIPT = r'''
import logging, os, sys
sys.path[:0] = %(migration)r
sys.path.insert(0, %(here)r)
from master_migration import runner, steptable
from master_migration.commands import Commands
from recorder import Recorder
from master_migration.context import Context, StepFailed
from master_migration.params import Params
from master_migration.state import State
work = %(work)r

class LocalAndRecorded(Recorder):
    """Local commands really run; ssh to the virt node is recorded."""
    def run(self, argv, timeout=120, input_bytes=None, ok_codes=(0,)):
        if argv[0] == 'ssh':
            return Recorder.run(self, argv, timeout, input_bytes, ok_codes)
        return Commands().run(argv, timeout, input_bytes, ok_codes)

def fail(ctx):
    raise StepFailed('the final sync failed')

logging.basicConfig(stream=sys.stdout, level=logging.INFO)
state = State(os.path.join(work, 'state.json'))
state.data['facts'].update({'image': '/n/m.img', 'mount_point': '/n/m.mnt',
                            'xml_path': '/n/m.xml', 'domain_uuid': 'u-1'})
state.data['services'] = {'stop': [], 'start': [
    # holds the rollback until the test has sent its signals
    ['sh', '-c', 'touch "$0"/first-started; until [ -e "$0"/release ]; '
                 'do sleep 0.02; done', work],
    ['touch', os.path.join(work, 'second-started')]]}
state.data['services_stopped'] = True
params = Params({'destination': 'virt', 'ssh_port': 22, 'ssh_user': 'root',
                 'ssh_identity': None, 'ssh_known_hosts': None, 'name': 'm',
                 'remove_disk': False, 'work_dir': work})
ctx = Context(params, state.facts, state, LocalAndRecorded(),
              logging.getLogger('t'))
ctx.log_path = os.path.join(work, 'log')
runner.STEPS = [s._replace(needs=()) for s in steptable.STEPS if s.id == 'stop_services']
runner.STEPS.append(steptable.Step('final_sync', 't', (), lambda p: 60, fail, None, None))
sys.exit(runner.run(ctx))
'''


def test_sigterm_and_sigint_during_a_rollback_do_not_cut_it_short(tmp_path):
    """Before: the SIGTERM handler raised inside the rollback, the second
    service was never started and the state stayed 'running'."""
    import signal
    import time
    script = ROLLBACK_SCRIPT % {'migration': SOURCE_PATHS, 'work': str(tmp_path),
                                'here': os.path.dirname(os.path.abspath(__file__))}
    proc = subprocess.Popen([sys.executable, '-c', script],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    started = os.path.join(str(tmp_path), 'first-started')
    while not os.path.exists(started) and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)  # the handlers run now, while the first start waits
    open(os.path.join(str(tmp_path), 'release'), 'w').close()
    out = proc.communicate()[0].decode('utf-8', 'replace')
    assert proc.returncode == runner.EXIT_FAILED, out
    assert os.path.exists(os.path.join(str(tmp_path), 'second-started')), out
    assert archived_state(tmp_path)['status'] == 'rolled-back'
    assert 'deferred until the rollback ended' in out
    assert 'Traceback' not in out


# ---- issue 9 point 4: write errors on the destination -------------------

IMAGE_SCRIPT = ['sh', '-s', '--', '/var/lib/nova/fuel_master.img']
FLUSH = ['sh', '-s', '--', '/var/lib/nova/fuel_master.mnt', '/dev/loop3p1']
FSCK = ['sh', '-s', '--', '/dev/loop3p1']
NO_SPACE = ("sync: error syncing '/var/lib/nova/fuel_master.mnt': No space "
            "left on device")


def check_disk_calls(tmp_path, flush=(0, ''), fsck=(0, '')):
    rec = Recorder()
    rec.answer(FLUSH, returncode=flush[0], stderr=flush[1])
    rec.answer(FSCK, returncode=fsck[0], stderr=fsck[1])
    rec.answer(IMAGE_SCRIPT, stdout='/dev/loop3\n')  # attach (and detach)
    ctx = make_ctx(tmp_path, rec)
    try:
        guest.check_disk(ctx)
    finally:
        ran = [shlex_words(c[-1])[3:] for c in rec.calls]
    return ran


def shlex_words(text):
    import shlex
    return shlex.split(text)


def test_check_disk_flushes_unmounts_then_checks_read_only(tmp_path):
    ran = check_disk_calls(tmp_path)
    flush, fsck = ran.index(FLUSH), ran.index(FSCK)
    detach = IMAGE_SCRIPT + ['/var/lib/nova/fuel_master.mnt']
    assert flush < ran.index(detach) < fsck
    assert ran[-1] == detach  # unmounted and detached for the switch-over


def test_a_lost_write_fails_the_check_and_says_where(tmp_path):
    with pytest.raises(StepFailed) as err:
        check_disk_calls(tmp_path, flush=(1, NO_SPACE))
    text = str(err.value)
    assert 'a write to the image was lost' in text
    assert 'No space left on device' in text and '/var/lib/nova' in text


def test_errors_found_by_e2fsck_fail_the_check_and_detach(tmp_path):
    with pytest.raises(StepFailed) as err:
        check_disk_calls(tmp_path, fsck=(4, (
            'Free blocks count wrong (164831, counted=170975).\nFix? no\n'
            '/dev/loop3p1: ********** WARNING: Filesystem still has errors '
            '**********')))
    assert 'e2fsck -n found errors' in str(err.value)
    assert 'still has errors' in str(err.value)


def test_the_flush_and_check_scripts_run_under_sh():
    from master_migration import remote_sh
    for script in (remote_sh.FLUSH, remote_sh.FSCK):
        assert subprocess.call(['sh', '-n', '-c', script]) == 0


def test_resume_refuses_a_run_whose_rollback_started(tmp_path, capsys):
    """A rollback stopped half-way (SIGKILL) is finished by --rollback;
    resuming it would redo steps whose effects were partly undone."""
    from master_migration import cli
    ctx = make_ctx(tmp_path, Recorder())
    ctx.state.data['params'] = {'name': 'fuel_master'}
    ctx.state.status = 'rolling-back'
    code = cli.main(['--work-dir', str(tmp_path), '--resume', '--foreground'])
    assert code == runner.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert 'a rollback of this run was started (rolling-back' in err
    assert 'finish it with --rollback' in err


def test_rollback_undoes_the_table_in_reverse_and_keeps_what_the_switch_keeps(
        tmp_path, monkeypatch):
    undone = []

    def row(step_id, kept=False):
        return steptable.Step(step_id, step_id, (), lambda p: 10, lambda ctx: None,
                              lambda ctx: undone.append(step_id), None, 'undo ' + step_id, kept)
    monkeypatch.setattr(runner, 'STEPS', [row('a', kept=True), row('b'), row('c')])
    ctx = make_ctx(tmp_path, Recorder())
    assert runner.rollback(ctx)
    assert undone == ['c', 'b', 'a']
    del undone[:]
    ctx = make_ctx(tmp_path, Recorder())
    ctx.state.switch_started = 1.0
    assert runner.rollback(ctx)
    assert undone == ['c', 'b']  # a's guest and disk stay for inspection


def test_the_runner_runs_preflight_and_records_it_unless_a_dry_run(tmp_path, monkeypatch):
    def checks(ctx):
        ctx.facts.data_files = 3
    monkeypatch.setattr(runner, 'STEPS', [
        steptable.Step('preflight', 'p', (), lambda p: 10, checks, None, None)])
    ctx = make_ctx(tmp_path, Recorder())
    runner.preflight(ctx, record=False)
    assert ctx.facts.data_files == 3
    assert not os.path.exists(ctx.state.path)  # a dry run leaves no state
    runner.preflight(ctx)
    assert ctx.state.is_done('preflight')
    with open(ctx.state.path) as handle:
        assert json.load(handle)['steps']['preflight']['status'] == 'done'


# ---- a live master's files rewritten while rsync reads them --------------

class RsyncAnswers(Recorder):
    """Each rsync gets the next exit code of the list (then 0)."""

    def __init__(self, codes):
        Recorder.__init__(self)
        self.codes = list(codes)
        self.rsyncs = []

    def stream(self, argv, on_output, timeout, ok_codes=(0,)):
        if argv[0] != 'rsync':
            return Recorder.stream(self, argv, on_output, timeout, ok_codes)
        self.rsyncs.append(list(argv))
        code = self.codes.pop(0) if self.codes else 0
        self.rules.insert(0, (['rsync'], code, '',
                              'rsync: read errors mapping "/var/log/messages"'
                              ': No data available (61)\n'))
        try:
            return Recorder.stream(self, argv, on_output, timeout, ok_codes)
        finally:
            self.rules.pop(0)


def warm_phase_ctx(tmp_path, codes):
    rec = RsyncAnswers(codes)
    ctx = make_ctx(tmp_path, rec)
    ctx.params.verify = 'checksum'
    ctx.params.source_root = '/'
    ctx.params.rsync_options = []
    ctx.params.exclude = []
    return ctx, rec


def test_a_file_rewritten_under_the_warm_sync_is_a_warning_not_a_failure(
        tmp_path):
    """rsync exits 23 when a file is truncated while it reads it (a log
    rotated with copytruncate). Before: the warm sync failed and the run
    rolled back."""
    ctx, rec = warm_phase_ctx(tmp_path, [23])
    filesync.warm_sync(ctx)
    warned = [line for line in ctx.log.lines if 'exit 23' in line]
    assert warned and 'read errors mapping "/var/log/messages"' in warned[0]
    assert warned[0].startswith('warm sync (services running)')


def test_other_rsync_failures_still_fail_the_warm_sync(tmp_path):
    ctx, rec = warm_phase_ctx(tmp_path, [12])
    with pytest.raises(CommandError):
        filesync.warm_sync(ctx)


def test_a_first_checksum_round_that_was_not_whole_runs_again(tmp_path):
    ctx, rec = warm_phase_ctx(tmp_path, [23, 0])
    filesync.checksum_pass(ctx)
    assert len(rec.rsyncs) == 2
    for argv in rec.rsyncs:  # both compare every file
        assert '--checksum' in argv
        assert not [a for a in argv if a.startswith('--files-from')]
    assert 'copy equals source' in ctx.log.lines[-1]


def test_a_checksum_pass_never_whole_fails_and_says_what_to_do(tmp_path):
    ctx, rec = warm_phase_ctx(tmp_path, [23] * filesync.CHECKSUM_ROUNDS)
    with pytest.raises(StepFailed) as err:
        filesync.checksum_pass(ctx)
    assert len(rec.rsyncs) == filesync.CHECKSUM_ROUNDS
    assert 'could not read every file whole' in str(err.value)
    assert '--resume' in str(err.value)

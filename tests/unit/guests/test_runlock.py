"""One apply or retire at a time on a node: while another process holds
the run lock, a second run is refused and changes nothing. The holder is
a real second process taking the lock with runlock.acquire (the path comes
from RF_VIRT_GUESTS_LOCK, as in the end-to-end tests)."""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import pytest
import yaml

from lab.paths import pythonpath
from nodes import SCRIPTS, astute_doc
from virt_guests import cli, reconcile, runlock

HOLD = ('import sys\n'
        'from virt_guests import runlock\n'
        'runlock.acquire()\n'
        'sys.stdout.write("held\\n")\n'
        'sys.stdout.flush()\n'
        'sys.stdin.read()\n')  # holds it until the test closes stdin


@pytest.fixture
def holder(tmp_path, monkeypatch):
    """Another process that holds the lock for the whole test."""
    path = os.path.join(str(tmp_path), 'lock', 'virt-guests.lock')
    monkeypatch.setenv('RF_VIRT_GUESTS_LOCK', path)
    process = subprocess.Popen(
        [sys.executable, '-c', HOLD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=pythonpath(SCRIPTS)))
    try:
        assert process.stdout.readline().strip() == b'held'
        yield process
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
        process.stdin.close()


def test_a_second_run_cannot_take_the_lock_while_another_holds_it(holder):
    with pytest.raises(runlock.Busy) as caught:
        runlock.acquire()
    assert 'another virt-guests apply or retire is running (pid %d holds' \
        % holder.pid in str(caught.value)


def test_apply_while_another_run_holds_the_lock_is_refused_untouched(
        holder, tmp_path, monkeypatch, capsys):
    """Exit 3, the holder named, and neither /dev/kvm nor libvirt touched."""
    astute = os.path.join(str(tmp_path), 'astute.yaml')
    with open(astute, 'w') as stream:
        yaml.safe_dump(astute_doc([{'id': 1}], settings={
            'guest_disk_dir': os.path.join(str(tmp_path), 'images')}), stream)
    monkeypatch.setenv('RF_VIRT_GUESTS_CACHE', os.path.join(str(tmp_path), 'cache'))
    touched = []
    monkeypatch.setattr(reconcile, 'fix_kvm', lambda: touched.append('/dev/kvm'))

    def connect(uri):
        touched.append(uri)
        raise reconcile.Unavailable('the test has no libvirt')
    monkeypatch.setattr(reconcile, 'connect', connect)
    status = cli.main(['apply', '--astute', astute, '--connect', 'test:///default',
                       '--log-file', ''])
    assert (status, touched) == (cli.HOST_REFUSED, [])
    out = capsys.readouterr().out
    assert 'pid %d holds' % holder.pid in out and 'nothing was changed' in out


def test_a_lock_file_that_cannot_be_opened_refuses_the_run(tmp_path, monkeypatch):
    """Its folder cannot be made (a file is in the way): Busy, naming the
    path, so apply and retire exit 3 with that message, not a traceback."""
    blocker = os.path.join(str(tmp_path), 'not-a-folder')
    open(blocker, 'w').close()
    path = os.path.join(blocker, 'virt-guests.lock')
    monkeypatch.setenv('RF_VIRT_GUESTS_LOCK', path)
    with pytest.raises(runlock.Busy) as caught:
        runlock.acquire()
    assert 'cannot open the lock file %s' % path in str(caught.value)

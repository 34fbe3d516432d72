"""The filesystem attacks of issue 23 run for real: an unprivileged user
plants a link to a root file and a FIFO at two guests' disk paths in a
scratch disk folder anyone can write, then root runs the deployment task's
`virt-guests apply` (test:///default, each interpreter). Both guests are
refused by name at once; the root file keeps its mode and bytes; nothing
is created, defined or chmodded."""
import os
import shutil
import stat
import subprocess
import tempfile

import pytest

from guestlib import astute_doc, run_cmd, task_env, write_astute

NOBODY = 65534
GUESTS = [{'id': 9001, 'cpu': 1, 'mem_mib': 256, 'vda_size': '16M'},
          {'id': 9002, 'cpu': 1, 'mem_mib': 256, 'vda_size': '16M'}]


@pytest.fixture
def scratch():
    """A disk folder of mode 1777 (as /var/lock) that nobody can reach, and
    a file of root's beside it."""
    top = tempfile.mkdtemp(prefix='rf-hostile-')
    os.chmod(top, 0o755)
    disks = os.path.join(top, 'disks')
    os.mkdir(disks)
    os.chmod(disks, 0o1777)
    secret = os.path.join(top, 'root-only')
    with open(secret, 'w') as stream:
        stream.write('root secret\n')
    os.chmod(secret, 0o644)
    yield disks, secret
    shutil.rmtree(top)


def as_nobody(*argv):
    subprocess.check_call(argv, preexec_fn=lambda: os.setuid(NOBODY))


def test_links_and_fifos_planted_by_another_user_are_refused(
        scratch, tmp_path, plugin_dir, node_path, make_bridge):
    disks, secret = scratch
    make_bridge('rfg-hst-adm')
    as_nobody('ln', '-s', secret, os.path.join(disks, '9001_vm.img'))
    as_nobody('mkfifo', os.path.join(disks, '9002_vm.img'))
    astute = tmp_path / 'astute.yaml'
    write_astute(astute, astute_doc(GUESTS, bridges=('rfg-hst-adm',), settings={
        'guest_disk_dir': disks, 'allow_mem_overcommit': True}))
    env = task_env(astute, tmp_path / 'log' / 'virt-guests.log', node_path)
    env['RF_LIBVIRT_URI'] = 'test:///default'
    result = run_cmd('sh virt-guests apply', plugin_dir, env, timeout=60)
    assert result.returncode == 1, result.stdout
    for name, what in (('9001_vm', 'a symbolic link to %s' % secret),
                       ('9002_vm', 'a FIFO (named pipe)')):
        assert ('refuse             %s    %s/%s.img is %s, not a disk image'
                % (name, disks, name, what)) in result.stdout
    assert 'Traceback' not in result.stdout
    info = os.stat(secret)
    assert stat.S_IMODE(info.st_mode) == 0o644 and info.st_uid == 0
    with open(secret) as stream:
        assert stream.read() == 'root secret\n'
    assert sorted(os.listdir(disks)) == ['9001_vm.img', '9002_vm.img']

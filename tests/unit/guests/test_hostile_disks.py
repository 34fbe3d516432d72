"""Hostile hosts (issue 23, class 1): whatever another user planted at a
guest's disk path (/var/lib/nova is nova's on a compute node) is refused
for that guest by name; nothing is followed, chmodded, opened or handed to
libvirt. libvirt's test:///default driver (no daemon), no host command."""
from __future__ import absolute_import, division, print_function

import os
import stat
import struct

import pytest

from lab.blocking import finishes
from nodes import astute_doc
from virt_guests import host, imagefacts, reconcile, spec
from virt_guests import plan as P

libvirt = pytest.importorskip('libvirt')
from virt_guests import hypervisor  # noqa: E402 (needs libvirt-python)


def desired(tmpdir):
    disks = tmpdir.mkdir('disks')
    doc = astute_doc([{'id': 9001, 'cpu': 1, 'mem_mib': 256, 'vda_size': '16M'}],
                     settings={'guest_disk_dir': str(disks)})
    return reconcile.Desired(spec.build_spec(doc)), disks.join('9001_vm.img')


def root_file(tmpdir):
    """A file of root's that a planted link points to."""
    target = tmpdir.join('shadow')
    target.write('secret')
    target.chmod(0o644)
    return target


def plan_of(want):
    conn = hypervisor.connect('test:///default')
    try:
        return finishes(want.plan, finishes(hypervisor.observe, conn, want.disk_paths()))
    finally:
        conn.close()


def plant(kind, path, tmpdir):
    if kind == 'symlink':
        os.symlink(str(root_file(tmpdir)), str(path))
        return 'a symbolic link to %s' % tmpdir.join('shadow')
    if kind == 'dangling symlink':
        os.symlink(str(tmpdir.join('nowhere')), str(path))
        return 'a symbolic link to %s' % tmpdir.join('nowhere')
    if kind == 'directory':
        path.mkdir()
        return 'a directory'
    os.mkfifo(str(path))
    return 'a FIFO (named pipe)'


KINDS = ['symlink', 'dangling symlink', 'directory', 'fifo']


@pytest.mark.parametrize('kind', KINDS)
def test_what_is_not_a_file_at_a_disk_path_refuses_that_guest_by_name(tmpdir, kind):
    want, path = desired(tmpdir)
    what = plant(kind, path, tmpdir)
    (action,) = plan_of(want)
    assert action.kind == P.REFUSE and action.name == '9001_vm'
    assert action.reason.startswith('%s is %s, not a disk image' % (path, what))


def test_a_link_at_a_disk_path_leaves_its_target_unchanged(tmpdir):
    want, path = desired(tmpdir)
    plant('symlink', path, tmpdir)
    actions = plan_of(want)
    connection = reconcile.Connection(hypervisor, None)
    assert reconcile.tighten_disks(connection, want, actions) == []
    assert hypervisor.tighten_disks([str(path)]) == []
    assert stat.S_IMODE(os.stat(str(tmpdir.join('shadow'))).st_mode) == 0o644


def test_a_refused_guest_s_image_is_not_chmodded(tmpdir):
    """A raw file where qcow2 is asked: refused, so left as it is."""
    want, path = desired(tmpdir)
    path.write('raw bytes')
    path.chmod(0o644)
    (action,) = plan_of(want)
    assert action.kind == P.REFUSE
    assert reconcile.tighten_disks(reconcile.Connection(hypervisor, None), want, [action]) == []
    assert stat.S_IMODE(path.stat().mode) == 0o644


def test_a_fifo_image_is_not_read(tmpdir):
    fifo = str(tmpdir.join('fifo.img'))
    os.mkfifo(fifo)
    assert finishes(imagefacts.read, fifo) is None
    assert finishes(hypervisor.disk_info, fifo).unusual == 'a FIFO (named pipe)'
    assert finishes(hypervisor.measure, fifo).error == 'no image file at %s' % fifo


def test_a_new_disk_is_never_made_through_a_link(tmpdir):
    want, path = desired(tmpdir)
    plant('dangling symlink', path, tmpdir)
    with pytest.raises(OSError):
        hypervisor.create_disk(str(path), 'qcow2', 1 << 20)
    assert not tmpdir.join('nowhere').check() and path.islink()


def test_an_image_swapped_for_a_link_while_qemu_img_writes_is_refused(tmpdir, monkeypatch):
    path, target = tmpdir.join('9001_vm.img'), root_file(tmpdir)

    def swap(args, timeout):
        path.remove()
        os.symlink(str(target), str(path))
    monkeypatch.setattr(hypervisor.commands, 'check', swap)
    with pytest.raises(hypervisor.DiskReplaced) as raised:
        hypervisor.create_disk(str(path), 'qcow2', 1 << 20)
    assert str(raised.value) == ('%s was replaced by a symbolic link while qemu-img '
                                 'wrote it; it is left alone' % path)
    assert path.islink() and target.read() == 'secret'


def test_a_disk_folder_others_can_write_is_warned_about(tmpdir):
    folder = tmpdir.mkdir('disks')
    folder.chmod(0o755)
    assert host.disk_dir_warnings(str(folder.join('not-yet'))) == []
    folder.chmod(0o1777)
    (warning,) = host.disk_dir_warnings(str(folder.join('not-yet')))
    assert warning.startswith('guest_disk_dir: %s is owned by ' % folder)
    assert 'mode 1777: users other than' in warning


def test_an_image_swapped_for_a_link_after_the_plan_is_not_given_to_libvirt(tmpdir):
    """The plan saw a regular image; by the time apply defines and starts the
    guest another user has put a link there: the guest fails by name and is
    neither defined nor started."""
    want, path = desired(tmpdir)
    path.write_binary(b'QFI\xfb' + struct.pack('>I', 2) + bytes(bytearray(16))
                      + struct.pack('>Q', 16 << 20))  # a qcow2 header: 16M
    path.chmod(0o600)
    conn = hypervisor.connect('test:///default')
    try:
        actions = want.plan(hypervisor.observe(conn, want.disk_paths()))
        assert [a.kind for a in P.changes(actions)] == [P.DEFINE, P.START, P.AUTOSTART]
        path.remove()
        os.symlink(str(root_file(tmpdir)), str(path))
        (result,) = hypervisor.apply(conn, actions, want.by_name, 1)
        assert not result.ok and result.done == []
        assert result.error == ('%s is now a symbolic link to %s, not a disk image; '
                                'nothing more is done for this guest'
                                % (path, tmpdir.join('shadow')))
        assert '9001_vm' not in [d.name() for d in conn.listAllDomains(0)]
    finally:
        for domain in conn.listAllDomains(0):
            if domain.name() == '9001_vm':  # defined by a faulty apply
                if domain.isActive():
                    domain.destroy()
                domain.undefine()
        conn.close()

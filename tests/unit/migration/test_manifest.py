"""The quick check while the services are stopped (master_migration.
manifest): a real tree copied by real rsync with the script's options must
pass; each kind of difference rsync's own quick check sees must be named.
The copy's side runs the walker as the destination does: a script given on
stdin to this interpreter (Python 2.7 or 3, as the suite runs)."""
from __future__ import absolute_import, division, print_function

import os
import shutil
import subprocess
import sys

import pytest

from rf_common.text import to_text

from master_migration import manifest, manifest_walk, rsyncing

PATTERNS = ['/proc/*', '/lost+found', '*.swp', '/etc/fstab']


def make_source(root):
    for folder in ('etc/ssh', 'var/lib/db', 'proc/1', 'usr/bin'):
        os.makedirs(os.path.join(root, folder))
    files = {'etc/a.conf': b'a = 1\n', 'etc/fstab': b'/dev/sda1 / ext4\n',
             'etc/ssh/key': b'secret\n', 'var/lib/db/data': b'x' * 5000,
             'proc/1/status': b'running\n', 'etc/.a.conf.swp': b'vim\n',
             'usr/bin/tool': b'#!/bin/sh\n'}
    for name, data in files.items():
        with open(os.path.join(root, name), 'wb') as handle:
            handle.write(data)
    os.chmod(os.path.join(root, 'etc/ssh/key'), 0o600)
    os.link(os.path.join(root, 'usr/bin/tool'),
            os.path.join(root, 'usr/bin/tool-alias'))
    os.symlink('../etc/a.conf', os.path.join(root, 'var/a.conf'))
    os.mkfifo(os.path.join(root, 'var/lib/db/fifo'))


def write(path, data):
    with open(path, 'wb') as handle:
        handle.write(data)


@pytest.fixture
def trees(tmp_path):
    """A source and its copy made by the final sync's rsync options."""
    source, copy = str(tmp_path / 'source'), str(tmp_path / 'copy')
    make_source(source)
    os.makedirs(os.path.join(copy, 'lost+found'))  # as mkfs makes it
    os.mkdir(os.path.join(copy, 'etc'))
    write(os.path.join(copy, 'etc/fstab'), b'UUID=1 / ext4\n')  # a fix
    subprocess.check_call(rsyncing.sync_argv(
        source, PATTERNS, 'ssh', copy, progress='--stats'),
        stdout=subprocess.PIPE)
    return source, copy


def walker(root, mode):
    """The copy's side in this process: manifest_walk.main's work, without
    its interpreter start (the first test and
    test_the_walker_lists_alike_under_either_python run it on stdin)."""
    listing = manifest_walk.manifest(fs_path(root), PATTERNS)
    if mode == 'digest':
        listing = manifest_walk.digest(listing).encode() + b'\n'
    return listing.decode('utf-8')


def walker_on_stdin(root, mode):
    """As the destination runs it: the script on stdin of a new python."""
    proc = subprocess.Popen(
        [sys.executable, '-', root, mode] + PATTERNS, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE)
    out = proc.communicate(manifest.walker_source())[0]
    assert proc.returncode == 0
    return out.decode('utf-8')


def fs_path(name):
    return name if sys.version_info[0] < 3 else os.fsencode(name)  # novermin


def check(source, copy):
    listing = manifest.source_listing(source, PATTERNS)
    return manifest.compare(listing, walker(copy, 'digest'),
                            lambda: walker(copy, 'lines'))


def test_copy_made_by_rsync_passes_and_excluded_paths_are_left_out(trees):
    source, copy = trees
    listing = manifest.source_listing(source, PATTERNS)
    assert manifest.compare(listing, walker_on_stdin(copy, 'digest'),
                            lambda: walker_on_stdin(copy, 'lines')) == []
    assert walker_on_stdin(copy, 'lines') == walker(copy, 'lines')
    names = manifest.parse(walker(copy, 'lines'))
    assert 'proc' in names and 'etc/a.conf' in names
    assert not [n for n in names if n.startswith(('proc/', 'lost+found'))
                or n in ('etc/fstab', 'etc/.a.conf.swp')]


def keep_times(path, change):
    before = os.lstat(path)
    change(path)
    os.utime(path, (before.st_atime, before.st_mtime))


def unlink_hard_link(path):
    shutil.copy2(path, path + '.new')
    os.rename(path + '.new', path)


CHANGES = {
    'missing file': ('etc/ssh/key', os.remove, 'missing from the copy'),
    'extra file': ('etc/ssh/extra', lambda p: write(p, b'x'),
                   'in the copy, not on the source'),
    'extra folder': ('var/new', os.mkdir, 'in the copy, not on the source'),
    'mode': ('etc/ssh/key', lambda p: os.chmod(p, 0o644), 'copy [100644'),
    'owner': ('etc/a.conf', lambda p: os.chown(p, 4321, -1),
              'copy [100644 4321 0 '),
    'group': ('etc/a.conf', lambda p: os.chown(p, -1, 4321),
              'copy [100644 0 4321 '),
    'symlink target': ('var/a.conf', lambda p: (
        os.remove(p), os.symlink('../etc/ssh/key', p)), '../etc/ssh/key'),
    'size, same mtime': ('var/lib/db/data', lambda p: keep_times(
        p, lambda q: write(q, b'x' * 4999)), 'copy [100644 {ids} | 4999 '),
    'mtime': ('etc/a.conf', lambda p: os.utime(p, (1, 1)),
              'copy [100644 {ids} | 6 1 |'),
    'hard link broken': ('usr/bin/tool-alias', lambda p: keep_times(
        p, unlink_hard_link), 'usr/bin/tool'),
    'fifo turned file': ('var/lib/db/fifo', lambda p: (
        os.remove(p), write(p, b'')), 'copy [100644'),
}


@pytest.mark.parametrize('kind', sorted(CHANGES))
def test_each_difference_in_the_copy_is_named(trees, kind):
    """The copy changed after the final sync: the check names the path
    and shows the copy's side."""
    source, copy = trees
    name, change, shown = CHANGES[kind]
    if kind in ('owner', 'group') and os.geteuid() != 0:
        pytest.skip('chown needs root')
    change(os.path.join(copy, name))
    about = [d for d in check(source, copy) if d.startswith(name + ': ')]
    # the trees belong to whoever runs the suite (root or not)
    shown = shown.replace('{ids}', '%d %d' % (os.getuid(), os.getgid()))
    assert about and shown in about[0], about


@pytest.mark.skipif(not hasattr(os, 'setxattr'),
                    reason='os.setxattr: Python 3.3+')
def test_an_xattr_changed_in_the_copy_is_named(trees):
    source, copy = trees
    os.setxattr(  # novermin (guarded: 3.3+)
        os.path.join(copy, 'etc/a.conf'), 'user.rfm', b'1')
    assert [d for d in check(source, copy)
            if d.startswith('etc/a.conf: ') and 'user.rfm=' in d]


def test_a_change_on_the_source_after_the_sync_is_named(trees):
    """Something still writing on the master after the stop."""
    source, copy = trees
    write(os.path.join(source, 'var/lib/db/late'), b'')
    assert 'var/lib/db/late: missing from the copy' in check(source, copy)


# pattern, name, a folder or a file, excluded or kept
EXCLUDE_CASES = """
/proc/*       proc              folder  kept
/proc/*       proc/1            folder  excluded
/proc/*       x/proc/1          folder  kept
*.swp         etc/.a.swp        file    excluded
cache/        var/cache         folder  excluded
cache/        var/cache         file    kept
var/log/*.gz  srv/var/log/a.gz  file    excluded
var/log/*.gz  var/log/sub/a.gz  file    kept
/var/**/tmp   var/a/b/tmp       folder  excluded
f[0-9]        d/f7              file    excluded
f[!0-9]       d/f7              file    kept
/lost+found   lost+found        folder  excluded
"""


@pytest.mark.parametrize('case', EXCLUDE_CASES.strip().splitlines())
def test_excludes_match_as_rsync_matches(case):
    from master_migration import manifest_walk
    pattern, name, kind, verdict = case.split()
    rules = manifest_walk.Excludes([pattern])
    assert rules.excluded(name.encode('utf-8'), kind == 'folder') == (
        verdict == 'excluded')


def test_patterns_the_listing_cannot_follow_are_refused():
    assert manifest.usable(['/proc/*', 'cache/'])
    assert not manifest.usable(['/var/cache/***'])
    assert not manifest.usable([r'name\*'])


def change_source_late(root):
    """What a master may change between the warm phase and the stop."""
    def at(name):
        return os.path.join(root, name)
    shutil.rmtree(at('etc/ssh'))
    write(at('etc/ssh'), b'a folder became a file\n')
    shutil.rmtree(at('var/lib'))
    os.rename(at('etc/a.conf'), at('etc/b.conf'))
    os.link(at('usr/bin/tool'), at('usr/bin/tool-2'))
    os.chmod(at('usr/bin/tool'), 0o755)
    os.remove(at('var/a.conf'))
    os.symlink('../etc/b.conf', at('var/a.conf'))
    os.makedirs(at('var/new/a'))
    write(at('var/new/a/b.txt'), b'new\n')
    write(at('var/new/odd\nname'), b'odd\n')
    write(at('etc/.b.conf.swp'), b'excluded\n')
    os.utime(at('var'), (1, 1))


def apply_delta(source, copy, before=None):
    """As final_sync_run: deletions on the copy, then the names alone;
    the delta."""
    from master_migration import remote_sh
    from rf_common.text import to_text
    found = send, files, folders = manifest.delta(
        to_text(manifest.source_listing(source, PATTERNS)),
        before or walker(copy, 'lines'))
    for names, command in ((files, ['rm', '-f']), (folders, ['rmdir'])):
        proc = subprocess.Popen(['sh', '-c', remote_sh.REMOVE_NAMES, 'sh',
                                 copy] + command, stdin=subprocess.PIPE)
        proc.communicate(rsyncing.files_from_input(names))
        assert proc.returncode == 0
    listed = copy + '.list'
    write(listed, rsyncing.files_from_input(send))
    subprocess.check_call(rsyncing.listed_sync_argv(
        source, PATTERNS, 'ssh', copy, listed, progress='--stats'),
        stdout=subprocess.PIPE)
    return found


def contents(root):
    out = {}
    for top, _, files in os.walk(root):
        for name in files:
            path = os.path.join(top, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, 'rb') as handle:
                    out[os.path.relpath(path, root)] = handle.read()
    return out


def test_final_delta_brings_the_copy_to_the_source(trees):
    """Deletions (a tree, a folder turned file), a rename, a new folder, a
    new hard link, a new symlink target, a mode and a folder's time: the
    delta's deletions and listed names make the copy pass the check, its
    bytes equal, the fixed file and the excluded ones left alone."""
    source, copy = trees
    change_source_late(source)
    send = apply_delta(source, copy)[0]
    assert 'usr/bin/tool' in send and 'etc/ssh/key' not in send
    assert check(source, copy) == []
    ours, theirs = contents(source), contents(copy)
    for name in ('proc/1/status', 'etc/fstab', 'etc/.a.conf.swp',
                 'etc/.b.conf.swp'):
        ours.pop(name, None)
        theirs.pop(name, None)
    assert ours == theirs
    with open(os.path.join(copy, 'etc/fstab'), 'rb') as handle:
        assert handle.read() == b'UUID=1 / ext4\n'
    assert os.stat(os.path.join(copy, 'usr/bin/tool')).st_ino == os.stat(
        os.path.join(copy, 'usr/bin/tool-2')).st_ino


def change_source_unlinked(root):
    """Late changes without hard links: a file rewritten, a tree gone, a
    new folder, a folder's time."""
    def at(name):
        return os.path.join(root, name)
    write(at('etc/a.conf'), b'a = 2, longer\n')
    shutil.rmtree(at('var/lib'))
    os.makedirs(at('var/new/a'))
    write(at('var/new/a/b.txt'), b'new\n')
    write(at('var/new/odd\nname'), b'odd\n')
    os.utime(at('etc/ssh'), (1, 1))


def walker_names(root, names):
    """The copy's side of manifest.named_listing: (exit code, lines)."""
    proc = subprocess.Popen(
        [sys.executable, '-', root, 'names'] + names,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = proc.communicate(manifest.walker_source())[0]
    return proc.returncode, out.decode('utf-8')


def known_after_delta(source, copy):
    """As final_sync then verify with the copy's listing from before the
    stop: the copy's expected listing, {name: rest}."""
    before = walker(copy, 'lines')
    known = manifest.after_delta(manifest.parse(before),
                                 apply_delta(source, copy, before))
    assert known is not None
    code, lines = walker_names(copy, known[1])
    assert code == 0
    return manifest.expected(known, lines)


def test_the_copy_after_the_delta_is_known_without_listing_it_all(trees):
    """Its listing from before, the deleted names gone and the touched
    names (sent, deleted, the folders above them) listed again: exactly
    the copy's full listing afterwards, and equal to the source's."""
    source, copy = trees
    change_source_unlinked(source)
    found = known_after_delta(source, copy)
    assert found == manifest.parse(walker(copy, 'lines'))
    assert manifest.parsed_differences(manifest.parse(to_text(
        manifest.source_listing(source, PATTERNS))), found) == []


def test_what_the_delta_left_wrong_on_the_copy_is_named(trees,
                                                        monkeypatch):
    """A deletion that did not happen, a sent file that came out short, a
    folder above a sent name with another time: each named."""
    source, copy = trees
    change_source_unlinked(source)
    real = subprocess.check_call

    def sync_then_spoil(argv, **kw):
        real(argv, **kw)
        var = os.stat(os.path.join(copy, 'var'))
        os.makedirs(os.path.join(copy, 'var/lib/db'))
        os.utime(os.path.join(copy, 'var'), (var.st_atime, var.st_mtime))
        write(os.path.join(copy, 'var/lib/db/data'), b'x' * 5000)
        write(os.path.join(copy, 'etc/a.conf'), b'a = 2\n')
        os.utime(os.path.join(copy, 'var/new'), (1, 1))
    monkeypatch.setattr(subprocess, 'check_call', sync_then_spoil)
    found = manifest.parsed_differences(manifest.parse(to_text(
        manifest.source_listing(source, PATTERNS))),
        known_after_delta(source, copy))
    named = sorted(line.split(':', 1)[0] for line in found)
    assert named == ['etc/a.conf', 'var/lib', 'var/lib/db',
                     'var/lib/db/data', 'var/new'], found


def test_the_walker_started_ahead_lists_the_names_given_later(trees):
    """The copy's walker started before the names are known (the script
    as its last word, so stdin is free for them): the names given on its
    stdin, odd ones too, come out as the walker given them in its words
    lists them; a hard-linked one still says so."""
    from master_migration.commands import Commands
    source, copy = trees
    change_source_unlinked(source)
    names = apply_delta(source, copy)[0] + ['etc', 'gone/since']
    assert 'var/new/odd\nname' in names
    started = Commands().start(manifest.stdin_names_argv(copy))
    assert manifest.named_listing(started, names, 60) == walker_names(
        copy, names)[1]
    started = Commands().start(manifest.stdin_names_argv(copy))
    assert manifest.named_listing(started, ['usr/bin/tool'], 60) is None


def test_a_hard_link_in_the_delta_means_the_whole_copy_is_listed(trees):
    """A new link to a file (its partner's line changes too): the touched
    names alone cannot tell the copy's listing."""
    source, copy = trees
    before = walker(copy, 'lines')
    os.link(os.path.join(source, 'etc/a.conf'),
            os.path.join(source, 'etc/a-link.conf'))
    known = manifest.after_delta(manifest.parse(before),
                                 apply_delta(source, copy, before))
    assert known is not None  # neither name was linked on the copy before
    assert walker_names(copy, known[1])[0] == manifest_walk.HARD_LINKED
    os.remove(os.path.join(source, 'usr/bin/tool-alias'))
    before = walker(copy, 'lines')
    assert manifest.after_delta(manifest.parse(before), apply_delta(
        source, copy, before)) is None


@pytest.mark.parametrize('kind', ['python2.7', 'python3'])
def test_the_walker_lists_alike_under_either_python(trees, kind):
    """The master (2.7) and the virt node (2.7 or 3) must give the same
    listing of the same tree, non-ASCII names and xattrs included."""
    from lab import interpreters
    if not interpreters.available(kind):
        pytest.skip(interpreters.missing_reason(kind))
    source = trees[0]
    write(os.path.join(source.encode('utf-8'), u'etc/caf\u00e9'.encode(
        'utf-8')), b'')
    write(os.path.join(source.encode('utf-8'), b'etc/latin1-\xe9'), b'')
    if hasattr(os, 'setxattr'):  # the 2.7 walker reads it through ctypes
        os.setxattr(  # novermin (guarded: 3.3+)
            os.path.join(source, 'etc/a.conf'), 'user.rfm', b'1')
    proc = subprocess.Popen(
        [interpreters.interpreter(kind), '-', source, 'digest'] + PATTERNS,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = proc.communicate(manifest.walker_source())[0]
    assert proc.returncode == 0
    assert out.decode('ascii').strip() == manifest_walk_digest(source)


def manifest_walk_digest(root):
    from master_migration import manifest_walk
    return manifest_walk.digest(manifest.source_listing(root, PATTERNS))


def planted_snapshot(root, started):
    """The source's listing kept as a Snapshot with every line replaced
    by 'planted': a line a later listing takes from it shows as that.
    `started`: when that listing began (ctimes after it minus RACY_SECONDS
    are racy)."""
    kept = manifest_walk.Snapshot()
    manifest.source_listing(root, PATTERNS, keep=kept)
    kept.started = started
    for name, (key, _) in kept.lines.items():
        kept.lines[name] = (key, manifest_walk.escape(name) + b'\tplanted\n')
    return kept


def newest_ctime(root):
    return max(os.lstat(os.path.join(top, name)).st_ctime
               for top, folders, files in os.walk(root)
               for name in folders + files + ['.'])


def until_ctimes_move(root):
    """Wait until a change gets a ctime newer than any in the tree (the
    filesystem's clock ticks coarsely)."""
    probe = os.path.join(root, '..', 'probe')
    newest = newest_ctime(root)
    write(probe, b'')
    while os.lstat(probe).st_ctime <= newest:
        os.utime(probe, None)


def listings_after(root, kept):
    """(the listing made with the snapshot, a full one), {name: rest}."""
    return (manifest.parse(to_text(manifest.source_listing(
        root, PATTERNS, before=kept))),
        manifest.parse(to_text(manifest.source_listing(root, PATTERNS))))


def test_a_listing_again_reads_only_the_entries_changed_since(trees):
    """A mode, bytes rewritten with size and mtime kept, an xattr (or a
    mode on Python 2), a new file, a removed one, a folder's time: those
    entries and their folders are read again and equal a full listing;
    the rest comes from the snapshot, hard links excepted."""
    source = trees[0]
    kept = planted_snapshot(source, newest_ctime(source) + 3600)
    until_ctimes_move(source)

    def at(name):
        return os.path.join(source, name)
    os.chmod(at('etc/ssh/key'), 0o640)
    keep_times(at('var/lib/db/data'), lambda p: write(p, b'y' * 5000))
    if hasattr(os, 'setxattr'):
        os.setxattr(at('etc/ssh'), 'user.rfm', b'1')  # novermin (guarded)
    else:
        os.chmod(at('etc/ssh'), 0o700)
    write(at('var/lib/db/late'), b'late\n')
    os.remove(at('etc/a.conf'))
    os.utime(at('var'), (1, 1))
    again, full = listings_after(source, kept)
    assert sorted(again) == sorted(full)
    read = sorted(n for n in again if again[n] != 'planted')
    assert read == ['etc', 'etc/ssh', 'etc/ssh/key', 'usr/bin/tool',
                    'usr/bin/tool-alias', 'var', 'var/lib/db',
                    'var/lib/db/data', 'var/lib/db/late']
    assert [again[n] for n in read] == [full[n] for n in read]


def test_entries_changed_close_before_the_first_listing_are_read_again(
        trees):
    """Their ctime may not move on a change right after it was read."""
    source = trees[0]
    kept = planted_snapshot(source, newest_ctime(source) +
                            manifest_walk.RACY_SECONDS - 1)
    again, full = listings_after(source, kept)
    assert again == full


def test_a_snapshot_made_with_other_excludes_is_not_used(trees):
    source = trees[0]
    kept = planted_snapshot(source, newest_ctime(source) + 3600)
    kept.patterns = kept.patterns[1:]
    again, full = listings_after(source, kept)
    assert again == full


def test_entries_gone_while_listed_are_left_out(trees, monkeypatch):
    """The source is listed while the master still serves: a file removed
    after its lstat, a folder removed before it is read."""
    source = trees[0]
    real_line, real_listdir = manifest_walk.entry_line, os.listdir

    def remove_then_line(path, *args):
        if path.endswith(b'/etc/ssh/key'):
            os.remove(path)
        return real_line(path, *args)

    def remove_then_listdir(path):
        if path.endswith(b'/var/lib/db/') and os.path.isdir(path):
            monkeypatch.setattr(os, 'listdir', real_listdir)
            shutil.rmtree(path)
        return real_listdir(path)
    monkeypatch.setattr(manifest_walk, 'entry_line', remove_then_line)
    monkeypatch.setattr(os, 'listdir', remove_then_listdir)
    listed = manifest.parse(to_text(manifest.source_listing(
        source, PATTERNS, keep=manifest_walk.Snapshot())))
    assert 'etc/ssh' in listed and 'etc/ssh/key' not in listed
    assert 'var/lib' in listed and not [
        n for n in listed if n.startswith('var/lib/db')]

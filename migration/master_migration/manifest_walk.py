"""A listing of a tree as rsync -aAXH --numeric-ids keeps it: one line per
entry (name, type and mode, owner, group, size, mtime in whole seconds,
symlink target, device number, hard-link partner, ACLs and xattrs). The
same text on both sides means the copy passes rsync's quick check.

Standalone (stdlib only, Python 2.7 and 3.4+): steps.verify imports it for
the source and sends this file to the destination's python:

    python - ROOT digest|lines [EXCLUDE ...] < manifest_walk.py
    python - ROOT names NAME ... < manifest_walk.py
    python -c "$(cat manifest_walk.py)" ROOT stdin-names < NAMES

'names' prints the lines of the named entries still there (no hard-link
partner: exit HARD_LINKED when one of them has other links);
'stdin-names' the same of the NUL-separated names on stdin (the walker
can start before they are known).

Excludes are rsync patterns without '***' or backslashes (patterns.
supported); an excluded folder is not entered."""
from __future__ import absolute_import, division, print_function

import errno
import hashlib
import os
import re
import stat
import sys
import time

PY2 = sys.version_info[0] == 2
# rsync copies every xattr but system.* as root; ACLs (-A) are these two.
ACL_NAMES = (b'system.posix_acl_access', b'system.posix_acl_default')
NO_XATTRS = (errno.ENOTSUP, errno.ENODATA, getattr(errno, 'EOPNOTSUPP', 95))


def supported(pattern):
    return '***' not in pattern and '\\' not in pattern


def _pattern_regex(pattern):
    """An rsync exclude pattern as (regex on the relative name, folders
    only). With a '/' inside or '**' it matches the whole name (from the
    root when it starts with '/'), else the last part only."""
    if isinstance(pattern, bytes):
        pattern = pattern.decode('utf-8')
    dir_only = pattern.endswith('/') and len(pattern) > 1
    body = pattern.rstrip('/') if dir_only else pattern
    anchored = body.startswith('/')
    body = body.lstrip('/')
    whole = anchored or '/' in body or '**' in body
    out = []
    for part in re.split(r'(\*\*|\*|\?|\[[^]]*\])', body):
        if part == '**':
            out.append('.*')
        elif part == '*':
            out.append('[^/]*')
        elif part == '?':
            out.append('[^/]')
        elif part.startswith('[') and part.endswith(']') and len(part) > 2:
            out.append('[' + part[1:-1].replace('!', '^', 1) + ']'
                       if part[1] == '!' else part)
        else:
            out.append(re.escape(part))
    start = '^' if anchored or not whole else '(?:^|/)'
    regex = re.compile((start + ''.join(out) + r'\Z').encode('utf-8'))
    return regex, dir_only, whole


def pattern_problem(pattern):
    """Why the walker cannot read pattern (an empty or reversed bracket
    range, say), or None."""
    try:
        _pattern_regex(pattern)
    except re.error as exc:
        return 'not a pattern the copy can use (%s)' % exc
    return None


class Excludes(object):
    """The patterns as at most four regexes (whole name or last part,
    any entry or folders only): one search each per entry."""

    def __init__(self, patterns):
        groups = {}
        for pattern in patterns:
            regex, dir_only, whole = _pattern_regex(pattern)
            groups.setdefault((dir_only, whole), []).append(regex.pattern)
        self.rules = [(dir_only, whole, re.compile(b'|'.join(
            b'(?:' + r + b')' for r in regexes)))
            for (dir_only, whole), regexes in sorted(groups.items())]

    def excluded(self, name, is_dir):
        base = name.rsplit(b'/', 1)[-1]
        for dir_only, whole, regex in self.rules:
            if (is_dir or not dir_only) and regex.search(
                    name if whole else base):
                return True
        return False


def _xattr_functions():
    if hasattr(os, 'listxattr'):
        return (lambda p: os.listxattr(  # novermin (3.3+)
            p, follow_symlinks=False),
            lambda p, n: os.getxattr(  # novermin
                p, n, follow_symlinks=False))
    import ctypes  # Python 2.7: no xattr calls in os
    libc = ctypes.CDLL(None, use_errno=True)

    def call(function, *args):
        size = function(*(args + (None, 0)))
        while size > 0:
            buf = ctypes.create_string_buffer(size)
            got = function(*(args + (buf, size)))
            if got >= 0:
                return buf.raw[:got]
            size = function(*(args + (None, 0)))
        if size < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        return b''
    return (lambda p: [n for n in call(libc.llistxattr, p).split(b'\0') if n],
            lambda p, n: call(libc.lgetxattr, p, n))


LIST_XATTRS, GET_XATTR = _xattr_functions()


def xattrs(path):
    """'name=sha1' of each xattr rsync copies, sorted."""
    try:
        names = LIST_XATTRS(path)
        if not names:
            return b''
        named = sorted((n if PY2 else os.fsencode(n), n)  # novermin
                       for n in names)
        return b','.join(
            key + b'=' + hashlib.sha1(GET_XATTR(path, n)).hexdigest().encode(
                'ascii')
            for key, n in named
            if not key.startswith(b'system.') or key in ACL_NAMES)
    except (IOError, OSError) as exc:
        if exc.errno in NO_XATTRS:
            return b''
        raise


class Snapshot(object):
    """What a listing saw, for listing the same tree again faster: each
    folder's names and each entry's (inode, device, ctime) and line. Any
    change to an entry (write, chmod, chown, xattr, link) or to a folder's
    names sets its ctime; a change within RACY_SECONDS of the first
    listing's start may leave the ctime as it was, so such an entry is
    read again."""

    def __init__(self):
        self.started = time.time()
        self.patterns = None
        self.names = {}
        self.lines = {}

    def line(self, name, info):
        """The line seen then when the entry is unchanged, else None."""
        old = self.lines.get(name)
        if old is not None and old[0] == (info.st_ino, info.st_dev,
                                          info.st_ctime) and \
                info.st_ctime < self.started - RACY_SECONDS:
            return old[1]
        return None


RACY_SECONDS = 2


def _listed(path, before_line, before_names, keep):
    if before_line is not None and before_names is not None:
        names = before_names
    else:
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            if exc.errno not in GONE:
                raise
            names = []  # gone meanwhile (a listing while the master serves)
    if keep is not None:
        keep.names[path] = names
    return names


def walk(root, excludes, before=None, keep=None):
    """(name, lstat, line from `before` or None) of every entry under
    root (root itself as '.'), names as bytes relative to root, a folder's
    entries after it; excluded folders are not entered. A name gone
    meanwhile is left out (a folder gone: as empty). A folder `before` (a
    Snapshot) saw unchanged is not read again; `keep` (a Snapshot) records
    the names read."""
    info = os.lstat(root)
    out = [(b'.', info, before.line(b'.', info) if before else None)]
    root = root.rstrip(b'/')  # '/' itself: '' + '/' + name
    folders = [(b'', out[0][2])]
    while folders:
        prefix, old = folders.pop()
        path = root + b'/' + prefix
        found = []
        for name in _listed(path, old, before and before.names.get(path),
                            keep):
            rel = prefix + name
            try:
                info = os.lstat(path + name)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    continue
                raise
            is_dir = stat.S_ISDIR(info.st_mode)
            # a hard link's line hangs on its partners too: read again
            old = before.line(rel, info) if before and (
                info.st_nlink == 1 or is_dir) else None
            if old is None and excludes.excluded(rel, is_dir):
                continue  # (an entry `before` listed was not excluded)
            out.append((rel, info, old))
            if is_dir:
                found.append((rel + b'/', old))
        folders.extend(reversed(found))
    return out


def escape(name):
    if b'\\' not in name and b'\n' not in name and b'\t' not in name:
        return name
    return name.replace(b'\\', b'\\\\').replace(b'\n', b'\\n').replace(
        b'\t', b'\\t')


try:
    BYTES_FORMAT = bool(b'%d' % 1)  # novermin (3.5+, and 2.7's str)
except TypeError:  # Python 3.4
    BYTES_FORMAT = False


def _ascii(template, *values):
    if BYTES_FORMAT:
        return template % values  # novermin
    return (template.decode('ascii') % values).encode('ascii')


def entry_line(path, name, info, partner):
    """name, then 'mode uid gid', then by type: 'size mtime' and the
    hard-link partner (file), mtime (folder), target (symlink), device;
    last the xattrs."""
    mode = info.st_mode
    if stat.S_ISREG(mode):
        middle = _ascii(b'\t%o %d %d\t%d %d\t', mode, info.st_uid,
                        info.st_gid, info.st_size, int(info.st_mtime)) + \
            escape(partner or b'') + b'\t'
    elif stat.S_ISDIR(mode):
        middle = _ascii(b'\t%o %d %d\t%d\t', mode, info.st_uid,
                        info.st_gid, int(info.st_mtime))
    elif stat.S_ISLNK(mode):  # its time: not kept by every rsync 3.0
        middle = _ascii(b'\t%o %d %d\t', mode, info.st_uid, info.st_gid) + \
            escape(os.readlink(path)) + b'\t'
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        middle = _ascii(b'\t%o %d %d\t%d:%d\t', mode, info.st_uid,
                        info.st_gid, os.major(info.st_rdev),
                        os.minor(info.st_rdev))
    else:
        middle = _ascii(b'\t%o %d %d\t', mode, info.st_uid, info.st_gid)
    return escape(name) + middle + xattrs(path) + b'\n'


def present_line(path, name, info, partner):
    """entry_line, or None when the entry is gone since its lstat (or
    is no longer the symlink it was: readlink's EINVAL)."""
    try:
        return entry_line(path, name, info, partner)
    except (IOError, OSError) as exc:
        if exc.errno in GONE + (errno.EINVAL,):
            return None
        raise


def manifest(root, patterns, before=None, keep=None):
    """The listing as bytes. A hard link names the first name of its
    group (in this listing) as its partner. An entry that `before` (a
    Snapshot of an earlier listing) saw unchanged keeps its line from
    then (if it was made with the same excludes); `keep` (a Snapshot)
    records this listing."""
    root = root if isinstance(root, bytes) else root.encode('utf-8')
    if before is not None and before.patterns != list(patterns):
        before = None
    if keep is not None:
        keep.patterns = list(patterns)
    entries = walk(root, Excludes(patterns), before, keep)
    root = root.rstrip(b'/')
    partners = _partners(entries)
    lines = []
    for name, info, line in entries:
        partner = partners.get((info.st_dev, info.st_ino))
        if line is None or partner is not None:
            line = present_line(root + b'/' + name, name, info, partner)
            if line is None:
                continue
        if keep is not None:
            keep.lines[name] = ((info.st_ino, info.st_dev, info.st_ctime),
                                line)
        lines.append(line)
    return b''.join(lines)


def _partners(entries):
    """{(device, inode): the first name} of each hard-link group of two
    or more names in the listing."""
    first, count = {}, {}
    for name, info, _ in entries:
        if info.st_nlink > 1 and not stat.S_ISDIR(info.st_mode):
            key = (info.st_dev, info.st_ino)
            first.setdefault(key, name)
            count[key] = count.get(key, 0) + 1
    return dict((key, name) for key, name in first.items() if count[key] > 1)


HARD_LINKED = 3
GONE = (errno.ENOENT, errno.ENOTDIR)


def named_lines(root, names):
    """The lines of the named entries still there (bytes); None when one
    is hard-linked: its partner field needs the whole tree."""
    root = root.rstrip(b'/')
    lines = []
    for name in names:
        path = root + b'/' + name
        try:
            info = os.lstat(path)
        except OSError as exc:
            if exc.errno in GONE:
                continue
            raise
        if info.st_nlink > 1 and not stat.S_ISDIR(info.st_mode):
            return None
        lines.append(entry_line(path, name, info, None))
    return b''.join(lines)


def digest(listing):
    return hashlib.sha256(listing).hexdigest()


def stdin_names():
    data = (sys.stdin if PY2 else sys.stdin.buffer).read()
    return [name for name in data.split(b'\0') if name]


def main(argv):
    words = [w if PY2 else os.fsencode(w) for w in argv]  # novermin
    root, mode = words[0], argv[1]
    if mode in ('names', 'stdin-names'):
        listing = named_lines(root, words[2:] if mode == 'names'
                              else stdin_names())
        if listing is None:
            sys.exit(HARD_LINKED)
    else:
        listing = manifest(root, argv[2:])
    out = sys.stdout if PY2 else sys.stdout.buffer
    out.write(listing if mode != 'digest' else digest(listing).encode() + b'\n')
    out.flush()


if __name__ == '__main__':
    main(sys.argv[1:])

"""A listing of a tree as rsync -aAXH --numeric-ids keeps it: one line per
entry (name, type and mode, owner, group, size, mtime in whole seconds,
symlink target, device number, hard-link partner, ACLs and xattrs). The
same text on both sides means the copy passes rsync's quick check.

Standalone (stdlib only, Python 2.7 and 3.4+): steps.verify imports it for
the source and sends this file to the destination's python:

    python - ROOT digest|lines [EXCLUDE ...] < manifest_walk.py

Excludes are rsync patterns without '***' or backslashes (patterns.
supported); an excluded folder is not entered."""
from __future__ import absolute_import, division, print_function

import errno
import hashlib
import os
import re
import stat
import sys

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


class Excludes(object):
    def __init__(self, patterns):
        self.rules = [_pattern_regex(p) for p in patterns]

    def excluded(self, name, is_dir):
        base = name.rsplit(b'/', 1)[-1]
        for regex, dir_only, whole in self.rules:
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
        named = sorted((n if PY2 else os.fsencode(n), n)  # novermin
                       for n in LIST_XATTRS(path))
        return b','.join(
            key + b'=' + _ascii('%s', hashlib.sha1(
                GET_XATTR(path, n)).hexdigest())
            for key, n in named
            if not key.startswith(b'system.') or key in ACL_NAMES)
    except (IOError, OSError) as exc:
        if exc.errno in NO_XATTRS:
            return b''
        raise


def walk(root, excludes):
    """(name, lstat) of every entry under root (root itself as '.'), names
    as bytes relative to root; excluded folders are not entered."""
    yield b'.', os.lstat(root)
    for top, dirs, files in os.walk(root):
        rel = os.path.relpath(top, root)
        prefix = b'' if rel == b'.' else rel + b'/'
        for name in sorted(dirs + files):
            path = os.path.join(top, name)
            info = os.lstat(path)
            if excludes.excluded(prefix + name, stat.S_ISDIR(info.st_mode)):
                if name in dirs:
                    dirs.remove(name)
                continue
            yield prefix + name, info
        dirs.sort()


def escape(name):
    return name.replace(b'\\', b'\\\\').replace(b'\n', b'\\n').replace(
        b'\t', b'\\t')


def _ascii(template, *values):
    return (template % values).encode('ascii')  # bytes % needs 3.5


def entry_line(root, name, info, partner):
    mode = info.st_mode
    fields = [escape(name), _ascii('%o %d %d', mode, info.st_uid,
                                   info.st_gid)]
    if stat.S_ISREG(mode):
        fields += [_ascii('%d %d', info.st_size, int(info.st_mtime)),
                   escape(partner or b'')]
    elif stat.S_ISDIR(mode):
        fields.append(_ascii('%d', int(info.st_mtime)))
    elif stat.S_ISLNK(mode):  # its time: not kept by every rsync 3.0
        fields.append(escape(os.readlink(os.path.join(root, name))))
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        fields.append(_ascii('%d:%d', os.major(info.st_rdev),
                             os.minor(info.st_rdev)))
    fields.append(xattrs(os.path.join(root, name)))
    return b'\t'.join(fields) + b'\n'


def manifest(root, patterns):
    """The listing as bytes. A hard link names the first name of its
    group (in this listing) as its partner."""
    root = root if isinstance(root, bytes) else root.encode('utf-8')
    entries = list(walk(root, Excludes(patterns)))
    first = {}
    count = {}
    for name, info in entries:
        if info.st_nlink > 1 and not stat.S_ISDIR(info.st_mode):
            key = (info.st_dev, info.st_ino)
            first.setdefault(key, name)
            count[key] = count.get(key, 0) + 1
    lines = []
    for name, info in entries:
        key = (info.st_dev, info.st_ino)
        partner = first.get(key) if count.get(key, 0) > 1 else None
        lines.append(entry_line(root, name, info, partner))
    return b''.join(lines)


def digest(listing):
    return hashlib.sha256(listing).hexdigest()


def main(argv):
    root, mode, patterns = argv[0], argv[1], argv[2:]
    listing = manifest(root if PY2 else os.fsencode(root),  # novermin
                       patterns)
    out = sys.stdout if PY2 else sys.stdout.buffer
    out.write(listing if mode == 'lines' else digest(listing).encode() + b'\n')
    out.flush()


if __name__ == '__main__':
    main(sys.argv[1:])

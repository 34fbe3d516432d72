"""The quick check while the services are stopped: the source's listing
(manifest_walk, in this process) against the copy's (the same file run by
the destination's python), by digest; by lines only when they differ."""
from __future__ import absolute_import, division, print_function

import pkgutil
import re
import stat
import threading

from rf_common.text import to_text

from master_migration import manifest_walk, rsyncing

# The destination's python, in virt-guests' order, one that runs (not a
# shim without a version behind it); the walker comes on stdin.
RUN_WALKER_AS = ('for py in python2.7 python2 python3 python; do '
                 'if "$py" -c "import sys; sys.exit(not (sys.version_info'
                 '[:2] == (2, 7) or sys.version_info >= (3, 4)))" '
                 '>/dev/null 2>&1; then exec "$py" %s "$@"; fi; done; '
                 'echo "no python 2.7 or 3.4+ on PATH" >&2; exit 127')
RUN_WALKER = RUN_WALKER_AS % '-'
# The walker given as the last argument (stdin stays free for names).
RUN_GIVEN_WALKER = 'for code; do :; done; ' + RUN_WALKER_AS % '-c "$code"'
NO_PYTHON = 127


def walker_source():
    return pkgutil.get_data('master_migration', 'manifest_walk.py')


def remote_argv(root, mode, patterns):
    """Words for Remote.run (stdin: walker_source()); mode 'digest' or
    'lines'."""
    return ['sh', '-c', RUN_WALKER, 'rfm-manifest', root, mode] + list(
        patterns)


def stdin_names_argv(root):
    """Words for Remote.start: the walker's lines of the NUL-separated
    names its stdin will give (started before they are known)."""
    return ['sh', '-c', RUN_GIVEN_WALKER, 'rfm-manifest', root,
            'stdin-names', to_text(walker_source())]


def usable(patterns):
    return all(manifest_walk.supported(p) for p in patterns)


def parse(listing):
    """{name: the rest of its line} of a listing (text)."""
    out = {}
    for line in listing.splitlines():
        name, _, rest = line.partition('\t')
        out[name] = rest
    return out


def differences(source, copy):
    """What differs, each naming the path: missing from the copy, not on
    the source, or the fields (mode owner group, size mtime, link target,
    xattrs) of both sides."""
    return parsed_differences(parse(source), parse(copy))


def parsed_differences(ours, theirs):
    out = []
    for name in sorted(set(ours) | set(theirs)):
        if name not in theirs:
            out.append('%s: missing from the copy' % name)
        elif name not in ours:
            out.append('%s: in the copy, not on the source' % name)
        elif ours[name] != theirs[name]:
            out.append('%s: source [%s], copy [%s]' % (
                name, ours[name].replace('\t', ' | '),
                theirs[name].replace('\t', ' | ')))
    return out


def in_parallel(*calls):
    """Run the calls at once (the first in this thread); their results in
    order. The first error is raised once all have ended."""
    results, errors = [None] * len(calls), []

    def call(index):
        try:
            results[index] = calls[index]()
        except Exception as exc:  # raised below, in the caller's thread
            errors.append(exc)
    threads = [threading.Thread(target=call, args=(i,))
               for i in range(1, len(calls))]
    for thread in threads:
        thread.daemon = True
        thread.start()
    call(0)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def source_listing(root, patterns, before=None, keep=None):
    """The source's listing (bytes); see manifest_walk.manifest."""
    return manifest_walk.manifest(root, patterns, before, keep)


def copy_listing(remote, mount_point, patterns, mode, timeout):
    """The copy's digest or lines (text); None when the destination has
    no python."""
    result = remote.run(remote_argv(mount_point, mode, patterns), timeout,
                        input_bytes=walker_source(),
                        ok_codes=(0, NO_PYTHON))
    return None if result.returncode == NO_PYTHON else result.stdout


def compare(source, copy_digest, fetch_copy_lines):
    """[] when the copy's digest is the source listing's; else the
    differences, from the copy's lines."""
    if copy_digest.strip() == manifest_walk.digest(source):
        return []
    found = differences(to_text(source), fetch_copy_lines())
    return found or ['the listings differ, but not by any one path']


def named_listing(started, names, timeout):
    """The copy's lines of the named entries (text), from a walker
    started with stdin_names_argv; None when one is hard-linked or the
    destination has no python."""
    result = started.finish(
        rsyncing.files_from_input(names), timeout,
        ok_codes=(0, NO_PYTHON, manifest_walk.HARD_LINKED))
    return None if result.returncode else result.stdout


ESCAPED = re.compile(r'\\(.)')
UNREADABLE = u'\ufffd'


def unescape(name):
    """A listing's name as it is (the walker escapes \\, newline, tab)."""
    return ESCAPED.sub(lambda m: {'n': '\n', 't': '\t'}.get(
        m.group(1), m.group(1)), name)


def is_folder(rest):
    return stat.S_ISDIR(int(rest.split(' ', 1)[0], 8))


def delta(source, copy):
    """What makes the copy's listing the source's: (names to send, files
    to delete, folders to delete, children first). None when the text
    cannot name something (not UTF-8)."""
    parsed = parse_both(source, copy)
    return None if parsed is None else parsed_delta(*parsed)


def parse_both(source, copy):
    """Both listings (text) parsed, or None when either cannot name
    something (not UTF-8)."""
    if UNREADABLE in source or UNREADABLE in copy:
        return None
    return parse(source), parse(copy)


def parsed_delta(ours, theirs):
    """delta of parsed listings. A new hard link changes its group's first
    name (its partner field), so the whole group is sent."""
    send = sorted(n for n in ours if theirs.get(n) != ours[n])
    gone = sorted((n for n in theirs if n not in ours), reverse=True)
    return ([unescape(n) for n in send],
            [unescape(n) for n in gone if not is_folder(theirs[n])],
            [unescape(n) for n in gone if is_folder(theirs[n])])


# The names go in the words of one ssh command: one argument of the
# remote shell's, at most 128 KiB on Linux (MAX_ARG_STRLEN).
NAMES_LIMIT = 64 * 1024


def touched(names):
    """The names and every folder above them ('.' for the root)."""
    out = set()
    for name in names:
        parts = name.split('/')
        out.update(['.', name] + ['/'.join(parts[:i])
                                  for i in range(1, len(parts))])
    return sorted(out)


def is_linked(rest):
    """A regular file's line with a hard-link partner."""
    fields = rest.split('\t')
    return stat.S_ISREG(int(fields[0].split(' ', 1)[0], 8)) and \
        bool(fields[2])


def after_delta(ours, found):
    """What the copy's listing is after the delta `found` was applied to
    the copy listed (parsed) as `ours`, but for the names it touched:
    (ours, those names: sent, deleted and the folders above them, to list
    again). None when one was hard-linked (its partners' lines change
    too) or they are too many for one command."""
    names = touched(found[0] + found[1] + found[2])
    keys = [listed_name(n) for n in names]
    if any(is_linked(ours[k]) for k in keys if k in ours) or sum(
            len(k.encode('utf-8')) + 3 for k in keys) > NAMES_LIMIT:
        return None
    return ours, names


def listed_name(name):
    return to_text(manifest_walk.escape(name.encode('utf-8')))


def expected_source(root, patterns, first, names):
    """The source's listing ({name: rest}): `first` ({name: rest}) with
    the named entries listed again; all of it listed again when one of
    them is hard-linked."""
    lines = manifest_walk.named_lines(
        root if isinstance(root, bytes) else root.encode('utf-8'),
        [n.encode('utf-8') for n in names])
    if lines is None:
        return parse(to_text(source_listing(root, patterns)))
    return expected((first, names), to_text(lines))


def expected(known, lines):
    """The copy's listing ({name: rest}) from after_delta's `known` and
    the touched names' lines listed again."""
    ours, names = known
    out = dict(ours)
    for name in names:
        out.pop(listed_name(name), None)
    out.update(parse(lines))
    return out

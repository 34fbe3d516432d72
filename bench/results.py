"""The benches' latest figures, kept in bench/RESULTS.md.

Each bench owns one section of that file, between the lines
``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``. At its end a bench
calls ``record(NAME, text)``: its section's body becomes ``text`` (Markdown),
every other byte of the file stays as it was, and a missing section is
added at the end. The file is replaced atomically (a temporary file in the
same folder, flushed, then renamed over it), so a bench killed half-way
leaves the old file whole. A file whose markers do not pair up (an opening
without its closing, a closing first, one section inside another, a name
twice) is refused with ValueError and left alone.

A bench's entry point is ``sys.exit(results.run_and_record(NAME, main))``:
``main`` runs with what it prints also kept, and when it returns 0 (or
None) that output, under the command line, the time and the load, becomes
the section. A bench that fails or is interrupted records nothing.

Standard library only; Python 2.7 and 3.
"""
from __future__ import absolute_import, unicode_literals

import io
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, 'RESULTS.md')
NAME = re.compile(r'^[A-Za-z0-9_.-]+$')
MARKER = re.compile(r'^<!-- (/?)bench:([A-Za-z0-9_.-]+) -->[ \t]*$', re.MULTILINE)


def _sections(text):
    """{name: (start of the body, end of the body)}, or ValueError."""
    found, open_name, body_start = {}, None, None
    for match in MARKER.finditer(text):
        closing, name = match.group(1) == '/', match.group(2)
        if not closing:
            if open_name is not None:
                raise ValueError('bench:%s opens inside bench:%s' % (name, open_name))
            if name in found:
                raise ValueError('bench:%s appears twice' % name)
            open_name, body_start = name, match.end()
        else:
            if open_name != name:
                raise ValueError('/bench:%s closes %s' % (
                    name, 'bench:%s' % open_name if open_name else 'nothing'))
            found[name] = (body_start, match.start())
            open_name = None
    if open_name is not None:
        raise ValueError('bench:%s is never closed' % open_name)
    return found


def record(name, text, path=RESULTS):
    """Make ``text`` the body of section ``name`` in ``path`` (see above)."""
    if not NAME.match(name):
        raise ValueError('bench name %r: letters, digits, "_", "." and "-" only' % name)
    if isinstance(text, bytes):
        text = text.decode('utf-8')
    body = '\n' + text.strip('\n') + '\n'
    if MARKER.search(body):
        raise ValueError('the text for bench:%s holds a bench marker' % name)
    try:
        with io.open(path, encoding='utf-8', newline='') as handle:
            old = handle.read()
    except IOError:  # FileNotFoundError under Python 3
        if os.path.exists(path):
            raise
        old = ''
    sections = _sections(old)
    if name in sections:
        start, end = sections[name]
        new = old[:start] + body + old[end:]
    else:
        lead = '' if not old else ('\n' if old.endswith('\n') else '\n\n')
        new = '%s%s<!-- bench:%s -->%s<!-- /bench:%s -->\n' % (old, lead, name, body, name)
    folder = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(prefix='.RESULTS.', dir=folder)
    try:
        with io.open(handle, 'w', encoding='utf-8', newline='') as out:
            out.write(new)
            out.flush()
            os.fsync(out.fileno())
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        getattr(os, 'replace', os.rename)(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


class _Tee(object):
    """sys.stdout that also keeps what is written."""

    def __init__(self, stream):
        self.stream, self.kept = stream, []

    def write(self, text):
        self.kept.append(text)
        return self.stream.write(text)

    def __getattr__(self, name):
        return getattr(self.stream, name)


def _load():
    try:
        with open('/proc/loadavg') as handle:
            return ' '.join(handle.read().split()[:3])
    except (IOError, OSError):
        return 'unknown'


def run_and_record(name, main, path=RESULTS):
    """Run ``main()``; when it returns 0 or None, record what it printed."""
    command = ' '.join(['python3', 'bench/' + os.path.basename(sys.argv[0])] + sys.argv[1:])
    started, load = time.time(), _load()
    tee = sys.stdout = _Tee(sys.stdout)
    try:
        status = main()
    finally:
        sys.stdout = tee.stream
    if status not in (0, None):
        return status
    printed = ''.join(part.decode('utf-8') if isinstance(part, bytes) else part
                      for part in tee.kept).replace(REPO + os.sep, '').rstrip('\n')
    record(name, '`%s`: %s, load %s at the start and %s at the end, %.0f s.\n\n'
                 '```text\n%s\n```' % (
                     command, time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started)),
                     load, _load(), time.time() - started, printed), path)
    return 0

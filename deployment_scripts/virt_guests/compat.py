"""The few things Python 2.7 and 3.4+ do differently, written once.

A Fuel 8.0/9.0 node runs this package with its Python 2.7; later systems
with python3. Everything else in the package is written for both through
these helpers: text types, text rendering that reads the same on both, a
small thread pool, commands with a timeout, cpu count, makedirs, XML text
and the fastest XML parser.
"""
from __future__ import absolute_import, division, print_function

import errno
import logging
import os
import signal
import sys
import threading
import unicodedata
import xml.etree.ElementTree as ET

PY2 = sys.version_info[0] == 2
if PY2:
    text_type = unicode  # noqa: F821
    string_types = (str, unicode)  # noqa: F821
    integer_types = (int, type(2 ** 64))  # (int, long)
else:
    text_type = str
    string_types = (str,)
    integer_types = (int,)
try:
    # Python 2.7's ElementTree parses in Python, ~7x slower than its C
    # twin: a no-op re-run reads every domain's XML. 3.3+ parses in C
    # anyway (and 3.9 drops cElementTree).
    from xml.etree import cElementTree as parsing_etree
except ImportError:
    parsing_etree = ET


def to_text(value):
    """value as text: bytes are decoded as UTF-8, exceptions and other
    objects rendered without ever raising UnicodeError."""
    if isinstance(value, text_type):
        return value
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    if not PY2:
        return str(value)
    try:
        return text_type(value)
    except UnicodeError:
        try:
            return to_text(str(value))  # bytes on 2.7: decoded as UTF-8
        except UnicodeError:
            return to_text(repr(value))


def to_native(text):
    """Text as the interpreter's str (UTF-8 bytes on 2.7), for libraries
    such as libvirt-python that want a char *."""
    if PY2 and isinstance(text, text_type):
        return text.encode('utf-8')
    return text


# --- values rendered the way Python 3 prints them, on both interpreters --

_ESCAPES = {'\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t'}
_UNPRINTABLE = ('Cc', 'Cf', 'Cs', 'Co', 'Cn', 'Zl', 'Zp', 'Zs')


def _char_repr(char):
    if char in _ESCAPES:
        return _ESCAPES[char]
    if char == ' ' or unicodedata.category(char) not in _UNPRINTABLE:
        return char
    code = ord(char)
    if code < 0x100:
        return '\\x%02x' % code
    return '\\u%04x' % code if code < 0x10000 else '\\U%08x' % code


def shown(text, limit=80):
    """A value's text fit for a log line: control and other unprintable
    characters escaped (no value can forge a line), and cut after limit
    characters with its full length said."""
    text = to_text(text)
    body = ''.join(_char_repr(char) for char in text[:limit])
    if len(text) > limit:
        body += '... (%d characters)' % len(text)
    return body


def text_repr(text):
    """repr() of a text as Python 3 writes it: no u prefix on 2.7."""
    text = to_text(text)
    if not PY2:
        return repr(text)
    quote = '"' if "'" in text and '"' not in text else "'"
    body = ''.join(('\\' + char) if char == quote else _char_repr(char)
                   for char in text)
    return quote + body + quote


def py3_repr(value):
    """repr() of YAML-like values as Python 3 prints them: no u'' and no L
    on Python 2.7, so messages read the same under both interpreters.
    Containers are formatted here, in their own order."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, integer_types):
        return '%d' % value
    if isinstance(value, string_types):
        return text_repr(value)
    if isinstance(value, dict):
        return '{%s}' % ', '.join('%s: %s' % (py3_repr(k), py3_repr(v))
                                  for k, v in value.items())
    if isinstance(value, list):
        return '[%s]' % ', '.join(py3_repr(item) for item in value)
    if isinstance(value, tuple) and hasattr(value, '_fields'):
        return '%s(%s)' % (type(value).__name__, ', '.join(
            '%s=%s' % (name, py3_repr(item)) for name, item in zip(value._fields, value)))
    if isinstance(value, tuple):
        inner = ', '.join(py3_repr(item) for item in value)
        return '(%s,)' % inner if len(value) == 1 else '(%s)' % inner
    return to_text(repr(value))


def write_line(text, stream=None):
    """print() for text that may not fit the locale's encoding (LC_ALL=C:
    ASCII on Python 2.7 pipes and on Python 3.4/3.5): UTF-8 then."""
    stream = stream or sys.stdout
    line = to_text(text) + u'\n'
    if PY2:
        stream.write(line.encode('utf-8'))
        return
    try:
        stream.write(line)
    except UnicodeEncodeError:
        stream.flush()
        raw = getattr(stream, 'buffer', None)
        if raw is None:
            stream.write(line.encode('ascii', 'backslashreplace').decode('ascii'))
            return
        raw.write(line.encode('utf-8'))
        raw.flush()


# --- threads, commands, files -----------------------------------------

def parallel_map(func, items, parallel):
    """[func(item) for item in items] with up to `parallel` threads at once.
    Results in the order of items; every item runs, then the first
    exception (in item order) is raised."""
    items = list(items)
    results, errors = [None] * len(items), [None] * len(items)
    pending = list(range(len(items)))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                index = pending.pop(0)
            try:
                results[index] = func(items[index])
            except Exception as error:
                errors[index] = error
    threads = [threading.Thread(target=worker)
               for _ in range(max(1, min(parallel, len(items))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results


class Timeout(Exception):
    """A command did not finish in time; its process group was killed."""


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass  # the group is gone already


def run_command(args, timeout):
    """(exit status, stdout bytes, stderr bytes). The command runs in a new
    process group (session); a watchdog kills the whole group after
    `timeout` seconds (Timeout), and whatever the command left running in
    its group is killed when it returns. OSError when it cannot start."""
    import subprocess  # here: a run with nothing to do starts no command
    if PY2:
        session = {'preexec_fn': os.setsid}
    else:
        session = {'start_new_session': True}
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               close_fds=True, **session)
    expired = []

    def watchdog():
        expired.append(True)
        _kill_group(process.pid)
    timer = threading.Timer(timeout, watchdog)
    timer.daemon = True
    timer.start()
    try:
        out, err = process.communicate()
    finally:
        timer.cancel()
        timer.join()  # none left running: 2.7 warns at exit otherwise
        _kill_group(process.pid)
    if expired:
        raise Timeout('%s: no answer after %s s' % (' '.join(args), timeout))
    return process.returncode, out, err


def cpu_count():
    # sysconf first: importing multiprocessing costs ~10 ms.
    try:
        return max(1, os.sysconf('SC_NPROCESSORS_ONLN'))
    except (AttributeError, ValueError, OSError):
        pass
    import multiprocessing
    try:
        return multiprocessing.cpu_count()
    except NotImplementedError:
        return 1


def makedirs(path, mode=0o777):
    """os.makedirs that accepts an existing directory (makedirs(exist_ok)
    is Python 3.2+); parallel guests may create it at the same time."""
    try:
        os.makedirs(path, mode)
    except OSError as error:
        if error.errno != errno.EEXIST or not os.path.isdir(path):
            raise


def xml_text(element):
    """An ElementTree element as text (encoding='unicode' is 3.x only)."""
    return ET.tostring(element, encoding='utf-8').decode('utf-8')


class LineHandler(logging.StreamHandler):
    """A logging StreamHandler that writes through write_line: log lines
    with any text, under any locale, on both interpreters."""

    def emit(self, record):
        try:
            write_line(self.format(record), self.stream)
            self.flush()
        except Exception:  # logging's own contract: report, never raise
            self.handleError(record)

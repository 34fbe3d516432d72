"""The few things Python 2.7 and 3.4+ do differently, written once.

A stock Fuel 8.0/9.0 master has python 2.7.5 and PyYAML 3.10, and no
python3; elsewhere this package runs under python3. The other modules are
written for both through these helpers: text types and py3-style reprs,
shell quoting, an IPv4/prefix parser (the master has `ipaddr`, not
`ipaddress`), and commands with a timeout that kills the whole process group.
"""
from __future__ import absolute_import, division, print_function

import errno
import logging
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import unicodedata

try:
    from shlex import quote  # novermin (3.3+; pipes.quote on 2.7)
except ImportError:  # Python 2.7
    from pipes import quote  # noqa: F401

PY2 = sys.version_info[0] == 2
if PY2:
    text_type = unicode  # noqa: F821
    string_types = (str, unicode)  # noqa: F821
    integer_types = (int, type(2 ** 64))  # (int, long)
else:
    text_type = str
    string_types = (str,)
    integer_types = (int,)


# --- text -------------------------------------------------------------

def to_text(value):
    """value as text: bytes decoded as UTF-8 ('replace'); exceptions and
    other objects rendered without ever raising UnicodeError."""
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
            return to_text(str(value))
        except UnicodeError:
            return to_text(repr(value))


def to_bytes(value):
    """Text (or anything) as UTF-8 bytes: argv for exec under any locale."""
    if isinstance(value, bytes):
        return value
    return to_text(value).encode('utf-8')


def to_native(text):
    """Text as the interpreter's str: UTF-8 bytes on 2.7, text on 3."""
    if PY2 and isinstance(text, text_type):
        return text.encode('utf-8')
    return text


def write_line(text, stream=None):
    """print() in UTF-8 whatever the locale, on both interpreters (LC_ALL=C
    gives ASCII streams on 2.7 and on 3.4-3.6), so a line reads the same."""
    stream = stream or sys.stdout
    line = to_text(text) + u'\n'
    raw = stream if PY2 else getattr(stream, 'buffer', None)
    stream.flush()
    if raw is None:  # a text-only stream (tests): it takes text
        stream.write(line)
    else:
        raw.write(line.encode('utf-8'))
        raw.flush()


class LineHandler(logging.StreamHandler):
    """A logging StreamHandler that writes through write_line."""

    def emit(self, record):
        try:
            write_line(self.format(record), self.stream)
        except Exception:  # logging's own contract: report, never raise
            self.handleError(record)


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


def text_repr(text):
    """repr() of a text as Python 3 writes it: no u prefix on 2.7."""
    text = to_text(text)
    if not PY2:
        return repr(text)
    quote_char = '"' if "'" in text and '"' not in text else "'"
    body = u''.join((u'\\' + char) if char == quote_char else _char_repr(char)
                    for char in text)
    return quote_char + body + quote_char


def cut(text, limit=80):
    """text, cut after limit characters with its length said: a 10 MB value
    is not echoed whole in a message."""
    if len(text) <= limit:
        return text
    return u'%s... (%d characters)' % (text[:limit], len(text))


def py3_repr(value):
    """repr() of YAML-like values as Python 3 prints them (no u'' and no L
    on 2.7), so messages read the same under both interpreters. Mappings
    are shown with their keys sorted: 2.7 keeps no order of its own."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, integer_types):
        return '%d' % value
    if isinstance(value, string_types):
        return text_repr(value)
    if isinstance(value, dict):
        items = sorted((py3_repr(k), py3_repr(v)) for k, v in value.items())
        return u'{%s}' % u', '.join(u'%s: %s' % item for item in items)
    if isinstance(value, list):
        return u'[%s]' % u', '.join(py3_repr(item) for item in value)
    if isinstance(value, tuple):
        inner = u', '.join(py3_repr(item) for item in value)
        return u'(%s,)' % inner if len(value) == 1 else u'(%s)' % inner
    return to_text(repr(value))


# --- IPv4 addresses and prefixes (instead of ipaddress) -----------------

_DOTTED = re.compile(r'^[0-9]{1,3}(\.[0-9]{1,3}){3}$')
_PREFIX = re.compile(r'^/?[0-9]{1,2}$')


def parse_ipv4(text):
    """'10.20.0.2' -> its 32-bit number. Four decimal octets only (no
    '10.1', no hex, no leading zeros, as ipaddress); ValueError otherwise."""
    text = to_text(text).strip()
    if not _DOTTED.match(text):
        raise ValueError('not an IPv4 address')
    octets = text.split('.')
    if any(len(o) > 1 and o.startswith('0') or int(o) > 255 for o in octets):
        raise ValueError('not an IPv4 address')
    return struct.unpack('!I', socket.inet_aton(str(text)))[0]


def ipv4_text(number):
    return to_text(socket.inet_ntoa(struct.pack('!I', number)))


def normalize_ipv4(text):
    return ipv4_text(parse_ipv4(text))


def prefix_length(netmask):
    """'255.255.255.0', '24' or '/24' -> 24 (1..32); ValueError for
    anything else, including a non-contiguous mask."""
    text = to_text(netmask).strip()
    if _PREFIX.match(text):
        length = int(text.lstrip('/'))
        if 0 < length <= 32:
            return length
        raise ValueError('prefix length out of range')
    mask = parse_ipv4(text)
    inverted = ~mask & 0xFFFFFFFF
    if mask == 0 or inverted & (inverted + 1):
        raise ValueError('not a contiguous netmask')
    return 32 - bin(inverted).count('1')


def _mask(prefix):
    return (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF


def network_text(address, prefix):
    """('10.20.0.2', 24) -> '10.20.0.0/24'."""
    return u'%s/%d' % (ipv4_text(parse_ipv4(address) & _mask(prefix)), prefix)


def host_bits(address, prefix):
    """The part of address below the prefix: 0 is the network's address,
    all ones its broadcast address."""
    return parse_ipv4(address) & ~_mask(prefix) & 0xFFFFFFFF


def in_network(address, network_address, prefix):
    """True when address is in network_address/prefix (host bits of the
    network address are ignored, as ipaddress with strict=False)."""
    mask = _mask(prefix)
    return parse_ipv4(address) & mask == parse_ipv4(network_address) & mask


# --- commands with a timeout ---------------------------------------------

def _new_session():
    if PY2:
        return {'preexec_fn': os.setsid}
    return {'start_new_session': True}


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass  # the group is gone already


def popen_group(argv, stdin, env):
    """Popen(argv) in a new session (its pid is its process group), stdout
    and stderr piped. stdin: subprocess.PIPE or None for /dev/null.
    Arguments are given as UTF-8 bytes, so any text runs under any locale."""
    devnull = None if stdin is not None else open(os.devnull, 'rb')
    try:
        kwargs = _new_session()
        return subprocess.Popen(
            [to_bytes(a) for a in argv], stdin=stdin or devnull,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            close_fds=True, **kwargs)
    finally:
        if devnull is not None:
            devnull.close()


def kill_and_reap(proc):
    """Kill the process group of proc and reap proc; close its pipes."""
    kill_group(proc.pid)
    while True:
        try:
            proc.wait()
            break
        except OSError as exc:  # EINTR on 2.7
            if exc.errno != errno.EINTR:
                raise
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            try:
                pipe.close()
            except (IOError, OSError):
                pass


class Watchdog(object):
    """Kills a process group after `timeout` seconds, from its own thread;
    `expired` tells whether it did. Use as a context manager around the
    wait for the process."""

    def __init__(self, pgid, timeout):
        self.pgid, self.expired = pgid, False
        self.timer = threading.Timer(timeout, self._fire)
        self.timer.daemon = True

    def _fire(self):
        self.expired = True
        kill_group(self.pgid)

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc_info):
        self.timer.cancel()
        self.timer.join()  # none left running: 2.7 warns at exit otherwise
        return False


def communicate(argv, timeout, input_bytes=None, env=None):
    """Run argv to its end: (proc, stdout bytes, stderr bytes, expired).
    On timeout the whole process group is killed (expired True). On any
    exception in this thread (KeyboardInterrupt, a signal handler's error)
    the group is killed and reaped before the exception goes on."""
    stdin = subprocess.PIPE if input_bytes is not None else None
    return finish(popen_group(argv, stdin, env), timeout, input_bytes)


def finish(proc, timeout, input_bytes=None):
    """communicate's end for a started proc (popen_group): its input
    given, stdin closed, waited for; killed as communicate says."""
    try:
        with Watchdog(proc.pid, timeout) as watchdog:
            out, err = proc.communicate(input_bytes)
    except BaseException:
        kill_and_reap(proc)
        raise
    return proc, out, err, watchdog.expired


def feed(proc, chunks, timeout):
    """finish() for an input too big to hold: the byte strings of the
    iterable `chunks` written to the started proc's stdin as they come.
    A child that left early (EPIPE) fails by its exit status instead."""
    try:
        with Watchdog(proc.pid, timeout) as watchdog:
            try:
                for chunk in chunks:
                    proc.stdin.write(chunk)
            except (IOError, OSError) as exc:
                if exc.errno != errno.EPIPE:
                    raise
            out, err = proc.communicate()
    except BaseException:
        kill_and_reap(proc)
        raise
    return proc, out, err, watchdog.expired


def read_chunk(fd, size=65536):
    """os.read that retries on EINTR (Python 2.7 does not)."""
    while True:
        try:
            return os.read(fd, size)
        except OSError as exc:
            if exc.errno != errno.EINTR:
                raise


def select_readable(fd, timeout):
    """True when fd is readable within timeout seconds; EINTR is retried
    (the signal handler has run by then and may have raised)."""
    import select
    while True:
        try:
            ready = select.select([fd], [], [], timeout)[0]
            return bool(ready)
        except (OSError, select.error) as exc:  # select.error on 2.7
            if exc.args[0] != errno.EINTR:
                raise

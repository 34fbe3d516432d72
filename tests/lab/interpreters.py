"""The two Pythons the shipped code must run with, and PATHs that offer
exactly one of them, the way a Fuel machine does.

- PYTHON27: the Python 2.7 of .venv27 (tools/setup test: Debian 11's
  python2.7 with PyYAML, jsonschema 2.x and libvirt-python). A stock Fuel
  8.0/9.0 master and its Ubuntu 14.04 nodes have only Python 2.7.
- PYTHON3: the system python3 with Debian's python3-yaml, -jsonschema and
  -libvirt (a later Ubuntu or Debian node).

only_python(kind, folder) fills folder with links to every program of the
system's bin folders except the Pythons, plus the chosen one under its usual
names, and returns it as a PATH: with it, `python3` is not found on a
Python 2.7 "machine", and `python2.7` not on a Python 3 one.
"""
import os
import sys

from lab.paths import REPO
PYTHON27 = os.path.join(REPO, '.venv27', 'bin', 'python2.7')
PYTHON3 = '/usr/bin/python3'
SYSTEM_BIN = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin')
KINDS = ('python2.7', 'python3')
NAMES = {'python2.7': ('python', 'python2', 'python2.7'), 'python3': ('python3',)}


def interpreter(kind):
    return {'python2.7': PYTHON27, 'python3': PYTHON3}[kind]


def available(kind):
    return os.access(interpreter(kind), os.X_OK)


def missing_reason(kind):
    return ('%s is missing: `tools/setup test` installs it (%s)'
            % (interpreter(kind), kind))


def _is_python(name):
    return name == 'python' or name.startswith(('python2', 'python3', 'pydoc', 'pip'))


def link_system_programs(folder):
    seen = set()
    for directory in SYSTEM_BIN:  # in PATH order: the first name wins
        real = os.path.realpath(directory)
        if real in seen or not os.path.isdir(real):
            continue  # /bin is /usr/bin on a merged-/usr Debian
        seen.add(real)
        for name in os.listdir(real):
            link = os.path.join(folder, name)
            if not _is_python(name) and not os.path.lexists(link):
                os.symlink(os.path.join(directory, name), link)


def only_python(kind, folder, system_programs=True):
    """A PATH (one folder) with every system program (or, without
    system_programs, none: ~1 ms a link on this disk) and one Python."""
    folder = str(folder)
    if not os.path.isdir(folder):
        os.makedirs(folder)
    if system_programs:
        link_system_programs(folder)
    for name in NAMES[kind]:
        wrapper = os.path.join(folder, name)
        # A wrapper, not a link: Python 2.7 finds its venv from the path it
        # was started by, and a link to a link would lose it.
        with open(wrapper, 'w') as handle:
            handle.write('#!/bin/sh\nexec %s "$@"\n' % interpreter(kind))
        os.chmod(wrapper, 0o755)
    return folder


def stock_fuel_path(folder):
    """The PATH of a stock Fuel 8.0/9.0 master or node: Python 2.7 is its
    only Python. These suites must run under it, so a missing .venv27 is a
    failure, not a skip."""
    assert available('python2.7'), missing_reason('python2.7')
    return only_python('python2.7', folder)


def version_of(path_value, name):
    """The version a PATH's `name` reports, e.g. '2.7.18' (for asserts)."""
    import subprocess
    out = subprocess.check_output(
        [name, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'],
        env=dict(os.environ, PATH=path_value))
    return out.decode().strip()


if __name__ == '__main__':
    sys.stdout.write(only_python(sys.argv[1], sys.argv[2]) + '\n')

"""The last astute.yaml that validated, and the Spec built from it, so that
a re-run on the same bytes skips YAML parsing and schema validation (and
never imports yaml or jsonschema).

The entry is keyed by the SHA-256 of the input's bytes, of the code that
validates it (spec.py and the modules it imports: VALIDATING_CODE, and
rf_common's SHARED_VALIDATING_CODE) and of the Python version: a changed
byte, plugin or interpreter means a full validation. The file is root's
(or the running user's) alone, mode 0600 in a 0700 folder; one that is
unreadable, corrupt, of another owner or writable by others is ignored,
never trusted. `check` always validates.
"""
from __future__ import absolute_import, division, print_function

import collections
import hashlib
import json
import os
import stat
import sys

import rf_common
from rf_common.text import PY2, text_type

from . import astute
from .safefile import makedirs
from . import spec as specs
from .yamlvalues import Unreadable

DEFAULT_CACHE = '/var/cache/virt-guests/input.json'
FORMAT = 1
VALIDATING_CODE = ('spec.py', 'astute.py', 'yamlload.py', 'yamlvalues.py', 'hostvalues.py',
                   'safefile.py')
SHARED_VALIDATING_CODE = ('text.py',)  # rf_common's modules that those import


def cache_path():
    return os.environ.get('RF_VIRT_GUESTS_CACHE') or DEFAULT_CACHE


def _code_digest():
    digest = hashlib.sha256(sys.version.encode('utf-8'))
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.path.dirname(os.path.abspath(rf_common.__file__))
    paths = ([os.path.join(here, name) for name in VALIDATING_CODE]
             + [os.path.join(shared, name) for name in SHARED_VALIDATING_CODE])
    for path in paths:
        with open(path, 'rb') as source:
            digest.update(source.read())
    return digest.hexdigest()


def input_key(data):
    """The cache key of astute.yaml's bytes under this code and Python."""
    return hashlib.sha256(data).hexdigest() + '/' + _code_digest()


def encode(spec):
    """A Spec as JSON-ready lists (namedtuples keep their field order)."""
    node = spec.node
    return {'node': [node.uid, node.fqdn, list(node.roles),
                     list(node.scheme_bridges.items())],
            'settings': list(spec.settings),
            'guests': [list(guest) for guest in spec.guests],
            'warnings': list(spec.warnings)}


def _as_yaml_gives(value):
    """JSON's texts as PyYAML gives them: on Python 2.7, str where ASCII
    (uuid5 and others mix them with bytes), unicode otherwise."""
    if isinstance(value, list):
        return [_as_yaml_gives(item) for item in value]
    if isinstance(value, dict):
        return dict((_as_yaml_gives(k), _as_yaml_gives(v)) for k, v in value.items())
    if PY2 and isinstance(value, text_type):
        try:
            return value.encode('ascii')
        except UnicodeError:
            return value
    return value


def decode(entry):
    """The Spec of an encoded entry; ValueError/TypeError when malformed."""
    uid, fqdn, roles, bridges = entry['node']
    node = specs.Node(uid, fqdn, tuple(roles), collections.OrderedDict(
        (name, kind) for name, kind in bridges))
    settings = specs.Settings(*entry['settings'])
    settings = settings._replace(bridges=tuple(settings.bridges),
                                 ovs_bridges=tuple(settings.ovs_bridges))
    guests = tuple(specs.Guest(*guest) for guest in entry['guests'])
    warnings = list(entry['warnings'])
    return specs.Spec(node, settings, guests, warnings)


def _trusted(fd):
    info = os.fstat(fd)
    return (stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid()
            and not info.st_mode & 0o022)


def lookup(key, path=None):
    """The cached Spec for key, or None (no entry, another input, or a
    file that is not to be trusted or read)."""
    try:
        with open(path or cache_path(), 'rb') as stream:
            if not _trusted(stream.fileno()):
                return None
            entry = json.loads(stream.read().decode('utf-8'))
        if entry.get('format') != FORMAT or entry.get('key') != key:
            return None
        return decode(_as_yaml_gives(entry['spec']))
    except (IOError, OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def store(key, spec, path=None):
    """Keep spec as the entry for key; False when it cannot be written."""
    path = path or cache_path()
    text = json.dumps({'format': FORMAT, 'key': key, 'spec': encode(spec)})
    temporary = '%s.%d' % (path, os.getpid())
    try:
        makedirs(os.path.dirname(path), 0o700)
        if os.path.lexists(temporary):
            os.remove(temporary)  # left by a killed run of the same pid
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, text.encode('utf-8'))
        finally:
            os.close(fd)
        os.rename(temporary, path)
    except (IOError, OSError):
        return False
    return True


def _key_of(path):
    try:
        return input_key(astute.read_bytes(path))
    except Unreadable:
        return None  # spec.load_spec says why


def load_spec(path, cached=True):
    """spec.load_spec(path), answered from the cache when the input's bytes
    are those that validated last; a validated input is cached."""
    key = _key_of(path)
    spec = lookup(key) if cached and key else None
    if spec is None:
        spec = specs.load_spec(path)
        if key and _key_of(path) == key:  # not rewritten while validating
            store(key, spec)
    return spec

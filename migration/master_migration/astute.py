"""The admin network of the master, read from Fuel's /etc/fuel/astute.yaml."""
from __future__ import absolute_import, division, print_function

import collections
import re
import sys

from rf_common.text import cut, py3_repr, to_text

from master_migration import ipv4

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the master's packages
    yaml = None

AdminNetwork = collections.namedtuple(
    'AdminNetwork', 'interface ipaddress netmask mac')

ADMIN_KEYS = ('interface', 'ipaddress', 'netmask', 'mac')


class AstuteError(Exception):
    pass


def missing_yaml_advice(version_info=None):
    """How to get PyYAML for the Python running this: a Fuel master
    (CentOS 7) has it for its python 2.7 as the PyYAML package."""
    major = (version_info or sys.version_info)[0]
    if major == 2:
        return ('PyYAML is missing for python2 on this host; install it '
                '(yum install PyYAML on a Fuel master or CentOS, apt-get '
                'install python-yaml on Debian/Ubuntu)')
    return ('PyYAML is missing for python3 on this host; install it '
            '(apt-get install python3-yaml, or yum install python3-pyyaml)')


def _libyaml_loader():
    """SafeLoader's composer and constructor on libyaml's parser, where
    PyYAML has the binding (a Fuel master's does): CSafeLoader's own
    composer recurses in C without a limit (deep nesting crashes PyYAML
    3.10)."""
    try:
        from yaml.cyaml import CParser
    except ImportError:
        return None

    class Loader(yaml.composer.Composer, CParser, yaml.constructor.SafeConstructor,
                 yaml.resolver.Resolver):
        def __init__(self, stream):
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
    return Loader


LIBYAML = _libyaml_loader() if yaml is not None else None
# Where libyaml 0.2 reads otherwise than PyYAML (tabs, "\/", [] and {}, tags):
# the pure loader alone. Fuel writes this file in block style without them.
_LIBYAML_DIFFERS = re.compile(u'[\t[{!]|\\\\/')


def load_yaml_text(text, path):
    if yaml is None:
        raise AstuteError('%s: %s' % (path, missing_yaml_advice()))
    try:
        if LIBYAML is not None and not _LIBYAML_DIFFERS.search(text):
            return yaml.load(text, Loader=LIBYAML)
    except yaml.YAMLError:
        pass  # PyYAML's own words, below
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AstuteError('%s: not valid YAML: %s' % (path, to_text(exc)))


def parse_astute(text, path='astute.yaml'):
    """Return the AdminNetwork from astute.yaml text; fields it lacks are
    None so that the operator can give them as options instead."""
    data = load_yaml_text(text, path)
    if not isinstance(data, dict):
        raise AstuteError('%s: expected a mapping at the top' % path)
    admin = data.get('ADMIN_NETWORK')
    if admin is None:
        return AdminNetwork(None, None, None, None)
    if not isinstance(admin, dict):
        raise AstuteError('%s: ADMIN_NETWORK must be a mapping, got %s'
                          % (path, cut(py3_repr(admin))))
    values = []
    for key in ADMIN_KEYS:
        value = admin.get(key)
        values.append(None if value is None else to_text(value).strip())
    return AdminNetwork(*values)


def load_astute(path):
    """The AdminNetwork of the astute.yaml at path: only a regular file (a
    FIFO would block), at most 16 MiB; AstuteError otherwise."""
    from master_migration import configfile
    try:
        text = configfile.decode(configfile.read_regular(path, 16 << 20))
    except configfile.Refused as exc:
        raise AstuteError('%s: %s' % (path, to_text(exc)))
    return parse_astute(text, path)


def prefix_length(netmask):
    """'255.255.255.0' or '24' -> 24."""
    return ipv4.prefix_length(netmask)

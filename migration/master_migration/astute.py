"""The admin network of the master, read from Fuel's /etc/fuel/astute.yaml."""
from __future__ import absolute_import, division, print_function

import collections
import sys

from master_migration import compat
from master_migration.compat import cut, py3_repr, to_text

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


def load_yaml_text(text, path):
    if yaml is None:
        raise AstuteError('%s: %s' % (path, missing_yaml_advice()))
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
    return compat.prefix_length(netmask)

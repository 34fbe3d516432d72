"""The admin network of the master, read from Fuel's /etc/fuel/astute.yaml."""
import collections
import ipaddress

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the master's packages
    yaml = None

AdminNetwork = collections.namedtuple(
    'AdminNetwork', 'interface ipaddress netmask mac')

ADMIN_KEYS = ('interface', 'ipaddress', 'netmask', 'mac')


class AstuteError(Exception):
    pass


def load_yaml_text(text, path):
    if yaml is None:
        raise AstuteError('%s: PyYAML is missing for python3 on this host; '
                          'install it (yum install python34-PyYAML or '
                          'apt-get install python3-yaml)' % path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AstuteError('%s: not valid YAML: %s' % (path, exc))


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
        raise AstuteError('%s: ADMIN_NETWORK must be a mapping, got %r'
                          % (path, admin))
    values = []
    for key in ADMIN_KEYS:
        value = admin.get(key)
        values.append(None if value is None else str(value).strip())
    return AdminNetwork(*values)


def load_astute(path):
    try:
        with open(path, 'rb') as handle:
            text = handle.read().decode('utf-8')
    except (IOError, OSError) as exc:
        raise AstuteError('%s: cannot read: %s' % (path, exc.strerror or exc))
    return parse_astute(text, path)


def prefix_length(netmask):
    """'255.255.255.0' or '24' -> 24."""
    text = str(netmask).strip().lstrip('/')
    if text.isdigit():
        length = int(text)
        if 0 < length <= 32:
            return length
        raise ValueError('prefix length out of range')
    return ipaddress.IPv4Network('0.0.0.0/' + text).prefixlen

"""Parameters: command line > config YAML > astute.yaml > defaults.

Every problem is collected with the field, the value, where it came from and
how to fix it; nothing acts until all of them are fixed.
"""
from __future__ import absolute_import, division, print_function

import os
import re
import xml.etree.ElementTree as ElementTree

from rf_common.text import cut, py3_repr, string_types, text_repr, to_text

from master_migration import astute as astute_mod
from master_migration import units
from master_migration.ipv4 import host_bits, in_network, network_text, normalize_ipv4

DEFAULT_EXCLUDES = ['/proc/*', '/sys/*', '/dev/*', '/run/*', '/tmp/*',
                    '/mnt/*', '/media/*', '/lost+found']
# Anchored at the true end (\Z): `$` would also match before a final
# newline, and a name with a newline would reach remote commands.
MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}\Z')
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z')
PATH_RE = re.compile(r'^/[A-Za-z0-9_./+-]*\Z')
IFACE_RE = re.compile(r'^[A-Za-z0-9_.:-]{1,15}\Z')
DIGITS_RE = re.compile(r'^[0-9]{1,18}\Z')  # longer: no count is meant
# A host name or an address: no leading '-' (ssh would read an option), no
# blank or control character.
HOST_RE = re.compile(r'^[A-Za-z0-9_.:\[\]%-]{1,253}\Z')
# The folders a work_dir (state, lock, log) must not be, or be below.
SYSTEM_TREES = ('/proc', '/sys', '/dev', '/etc', '/boot', '/usr', '/bin',
                '/sbin', '/lib', '/lib64', '/run')
SYSTEM_DIRS = ('/', '/var', '/var/lib', '/var/log', '/tmp', '/home', '/root')


class ParamError(Exception):
    def __init__(self, problems):
        Exception.__init__(self, '\n'.join(problems))
        self.problems = problems


def _int_range(low, high):
    def convert(value):
        if isinstance(value, bool) or not DIGITS_RE.match(
                to_text(value).strip()):
            raise ValueError('not a whole number; use e.g. %d' % low)
        number = int(value)
        if not low <= number <= high:
            raise ValueError('out of range %d..%d' % (low, high))
        return number
    return convert


def _size(minimum, example, maximum):
    def convert(value):
        try:
            number = units.parse_size_default_mib(value)
        except ValueError:
            raise ValueError('not a size; use e.g. %s' % example)
        if number < minimum:
            raise ValueError('too small: at least %s'
                             % units.human_bytes(minimum))
        if number > maximum:
            raise ValueError('too large: at most %s'
                             % units.human_bytes(maximum))
        return number
    return convert


def _choice(*allowed):
    def convert(value):
        if value not in allowed:
            raise ValueError('must be one of %s' % ', '.join(allowed))
        return value
    return convert


def _abs_path(value):
    if not isinstance(value, string_types) or not value.startswith('/'):
        raise ValueError('must be an absolute path')
    if '..' in value.split('/'):
        raise ValueError('must not contain "..": give the path it means')
    return os.path.normpath(value)


def work_dir(value):
    """An absolute path that is no system folder (state, lock and log are
    written there)."""
    path = _abs_path(value)
    if path in SYSTEM_DIRS or any(path == top or path.startswith(top + '/')
                                  for top in SYSTEM_TREES):
        raise ValueError('a system folder; use e.g. /var/lib/rf-migrate-master')
    return path


def _dest_path(value):
    value = _abs_path(value)
    if not PATH_RE.match(value):
        raise ValueError('only letters, digits and _ . / + - are allowed '
                         '(it is used in the guest XML and remote commands)')
    return value


def _destination(value):
    text = to_text(value)
    if text.startswith('-') or not HOST_RE.match(text) or (
            '%' in text and ':' not in text):  # a zone only in IPv6
        raise ValueError('give the virt node as a host name or IPv4 address: '
                         'letters, digits, . - _ : only, not starting with '
                         '"-" (ssh would read it as an option)')
    return text


def _excludes(value):
    """The default excludes always stay: copying /proc is never right."""
    from master_migration import manifest_walk
    patterns = list(DEFAULT_EXCLUDES)
    for pattern in _string_list(value):
        problem = manifest_walk.pattern_problem(pattern)
        if problem:
            raise ValueError('%s: %s' % (cut(py3_repr(pattern)), problem))
        if pattern not in patterns:
            patterns.append(pattern)
    return patterns


def _opt_path(value):
    return None if value in (None, '') else _abs_path(value)


def _name(value):
    if not isinstance(value, string_types) or not NAME_RE.match(value):
        raise ValueError('use letters, digits, _ . - (max 63)')
    return value


def _iface(value):
    if not isinstance(value, string_types) or not IFACE_RE.match(value):
        raise ValueError('not an interface name (max 15 characters)')
    if value.startswith('-') or value in ('.', '..'):
        raise ValueError('not an interface name: it may not begin with "-" (a '
                         'command would read an option) nor be "." or ".."')
    return value


def _ipv4(value):
    try:
        return normalize_ipv4(value)
    except ValueError:
        raise ValueError('not an IPv4 address')


def _netmask(value):
    try:
        return astute_mod.prefix_length(value)
    except ValueError:
        raise ValueError('not a netmask; use 255.255.255.0 or 24')


def _mac(value):
    text = to_text(value).strip().lower()
    if not MAC_RE.match(text):
        raise ValueError('not a MAC address (aa:bb:cc:dd:ee:ff)')
    return text


def _xml_fragment(value):
    text = u'' if value is None else to_text(value)
    if text.strip():
        try:
            ElementTree.fromstring((u'<interface>%s</interface>' % text)
                                   .encode('utf-8'))
        except ElementTree.ParseError as exc:
            raise ValueError('not well-formed XML: %s' % to_text(exc))
    return text


def _string_list(value):
    if isinstance(value, string_types):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, string_types)
                                              for v in value):
        raise ValueError('must be a list of strings')
    return list(value)


def _argv_list(value):
    """A list of commands; each command an argv list (or one string that is
    split on blanks)."""
    if not isinstance(value, list):
        raise ValueError('must be a list of commands (argv lists)')
    commands = []
    for item in value:
        if isinstance(item, string_types):
            item = item.split()
        if not item or not all(isinstance(a, string_types) for a in item):
            raise ValueError('each command must be a non-empty argv list')
        commands.append(list(item))
    return commands


def _bool(value):
    if isinstance(value, bool):
        return value
    raise ValueError('must be true or false')


def _nics(value):
    if not isinstance(value, list):
        raise ValueError('must be a list of {interface, bridge, mac?, '
                         'extra_xml?}')
    nics = []
    for index, item in enumerate(value):
        if isinstance(item, string_types):
            if '=' not in item:
                raise ValueError('item %d: %s: use IFACE=BRIDGE'
                                 % (index, py3_repr(item)))
            iface, bridge = item.split('=', 1)
            item = {'interface': iface, 'bridge': bridge}
        if not isinstance(item, dict) or set(item) - {
                'interface', 'bridge', 'mac', 'extra_xml'}:
            raise ValueError('item %d: keys are interface, bridge, mac, '
                             'extra_xml' % index)
        try:
            nics.append({'interface': _iface(item.get('interface')),
                         'bridge': _iface(item.get('bridge')),
                         'mac': _mac(item['mac']) if item.get('mac') else None,
                         'extra_xml': _xml_fragment(item.get('extra_xml'))})
        except ValueError as exc:
            raise ValueError('item %d: %s' % (index, to_text(exc)))
    return nics


# (key, default, converter, help). The CLI option is --key-with-dashes.
FIELDS = [
    ('destination', None, _destination, 'virt node name or address'),
    ('source_root', '/', _abs_path, 'root of the tree to copy'),
    ('astute', None, _opt_path, 'astute.yaml (default SOURCE_ROOT/etc/fuel/'
                                'astute.yaml)'),
    ('name', 'fuel_master', _name, 'guest name'),
    ('vcpus', 2, _int_range(1, 64), 'guest vCPUs'),
    ('virt_type', 'kvm', _choice('kvm', 'qemu'), 'libvirt domain type (qemu:'
                                                 ' no hardware virtualization)'),
    ('memory', '4G', _size(256 * units.MIB, '4G', 1 << 44), 'guest memory'),
    ('disk_size', '100G', _size(512 * units.MIB, '100G', 1 << 50),
     'guest disk size'),
    ('swap_size', '0', _size(0, '2G', 1 << 44), 'swap partition size (0: '
     'none)'),
    ('disk_dir', '/var/lib/nova', _dest_path, 'disk folder on the virt node'),
    ('admin_bridge', 'br-fw-admin', _iface, 'bridge for the admin NIC'),
    ('admin_nic_xml', '', _xml_fragment, 'extra XML in the admin NIC'),
    ('nics', [], _nics, 'other NICs: IFACE=BRIDGE'),
    ('admin_interface', None, _iface, 'admin interface of the master'),
    ('admin_address', None, _ipv4, 'admin address of the master'),
    ('admin_netmask', None, _netmask, 'admin netmask (255.255.255.0) or '
                                      'prefix length (24)'),
    ('admin_mac', None, _mac, 'admin MAC of the master'),
    ('interim_address', None, _ipv4, 'free admin-network address the old '
                                     'master uses after the switch-over'),
    ('api_port', 8000, _int_range(1, 65535), 'master API port to wait for'),
    ('ssh_port', 22, _int_range(1, 65535), 'ssh port of the virt node'),
    ('ssh_user', 'root', _name, 'ssh user on the virt node'),
    ('ssh_identity', None, _opt_path, 'ssh private key'),
    ('ssh_known_hosts', None, _opt_path, 'known_hosts file'),
    ('exclude', DEFAULT_EXCLUDES, _excludes, 'rsync exclude patterns '
     '(added to the defaults)'),
    ('services', 'auto', _choice('auto', 'systemd', 'docker', 'commands'),
     'how to stop the master services'),
    ('stop_commands', [], _argv_list, 'stop commands (services: commands)'),
    ('start_commands', [], _argv_list, 'start commands'),
    ('systemd_units', None, _string_list, 'Fuel 9 units, stop order'),
    ('docker_containers', None, _string_list, 'Fuel 8 containers, stop '
                                              'order'),
    ('docker_vg', 'auto', _choice('auto', 'carry', 'leave'), 'docker volume '
     'group (Fuel 8.0 thin pool): auto carries it when docker uses it'),
    ('boot_loader', 'auto', _choice('auto', 'none'), 'install GRUB 2'),
    ('verify', 'checksum', _choice('checksum', 'none'), 'verification pass'),
    ('boot_timeout', 900, _int_range(5, 86400), 'seconds to wait for the '
                                                'guest'),
    ('sync_timeout', 14400, _int_range(10, 604800), 'seconds per sync'),
    ('rsync_options', [], _string_list, 'extra rsync options'),
    ('space_margin', '1G', _size(0, '1G', 1 << 50), 'free space kept on '
     'the virt node'),
    ('work_dir', '/var/lib/rf-migrate-master', work_dir, 'state, lock, '
     'log'),
    ('poweroff', True, _bool, 'power off the old master at the end'),
    ('poweroff_command', [['poweroff']], _argv_list, 'how to power off'),
    ('replace', False, _bool, 'replace an existing stopped guest'),
    ('remove_disk', False, _bool, 'rollback removes the disk image too'),
]
FIELD_NAMES = [f[0] for f in FIELDS]
ADMIN_FROM_ASTUTE = {'admin_interface': 'interface',
                     'admin_address': 'ipaddress',
                     'admin_netmask': 'netmask', 'admin_mac': 'mac'}
CONFIG_ONLY = ('destination',)
# The operator's key (option, config) -> the name inside: a netmask is kept
# as its prefix length.
INTERNAL_NAMES = {'admin_netmask': 'admin_prefix'}


class Params(object):
    """Plain, validated parameters; sizes in bytes/MiB as the names say."""

    def __init__(self, values):
        # a state file of an earlier version still says admin_netmask
        self.__dict__.update((INTERNAL_NAMES.get(k, k), v)
                             for k, v in values.items())

    def as_dict(self):
        return dict(self.__dict__)

    @property
    def memory_mib(self):
        return self.memory // units.MIB

    @property
    def astute_path(self):
        if self.astute:
            return self.astute
        return os.path.join(self.source_root, 'etc/fuel/astute.yaml')


def load_config(path):
    """The --config mapping; ParamError names the file and the fault."""
    from master_migration import configfile
    if astute_mod.yaml is None:
        raise ParamError(['--config %s: %s' % (path, astute_mod.missing_yaml_advice())])
    try:
        text = configfile.decode(configfile.read_regular(path))
        data = configfile.parse(text, astute_mod.yaml)
    except configfile.Refused as exc:
        raise ParamError(['--config %s: %s' % (path, to_text(exc))])
    except astute_mod.yaml.YAMLError as exc:
        raise ParamError(['--config %s: not valid YAML: %s' % (path, to_text(exc))])
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamError(['--config %s: expected a mapping of option: value'
                          % path])
    unknown = sorted(cut(text_repr(k)[1:-1]) for k in data if k not in FIELD_NAMES)
    if unknown:
        raise ParamError(['--config %s: unknown key(s) %s; known keys: %s'
                          % (path, ', '.join(unknown), ', '.join(FIELD_NAMES))])
    return data


def _raw_values(cli, config, config_path):
    """Pick each raw value and say where it came from."""
    raw = {}
    for key, default, _, _ in FIELDS:
        if cli.get(key) is not None:
            raw[key] = (cli[key], '--' + key.replace('_', '-'))
        elif key in config:
            raw[key] = (config[key], 'config %s' % config_path)
        else:
            raw[key] = (default, 'default')
    return raw


def _fill_from_astute(raw, problems):
    missing = [k for k in FIELD_NAMES  # in field order on both Pythons
               if k in ADMIN_FROM_ASTUTE and raw[k][0] is None]
    if not missing:
        return
    source_root = raw['source_root'][0] or '/'
    path = raw['astute'][0] or os.path.join(source_root,
                                            'etc/fuel/astute.yaml')
    try:
        admin = astute_mod.load_astute(path)
    except astute_mod.AstuteError as exc:
        problems.append('%s; needed for %s (or give --%s)' % (
            exc, ', '.join(missing),
            ' --'.join(k.replace('_', '-') for k in missing)))
        return
    for key in missing:
        value = getattr(admin, ADMIN_FROM_ASTUTE[key])
        if value is not None:
            raw[key] = (value, '%s ADMIN_NETWORK.%s'
                        % (path, ADMIN_FROM_ASTUTE[key]))


def _convert(raw, problems):
    values = {}
    for key, _, convert, _ in FIELDS:
        value, origin = raw[key]
        if value is None:
            values[key] = None
            continue
        try:
            values[key] = convert(value)
        except (ValueError, TypeError) as exc:
            problems.append('%s: %s (from %s): %s' % (
                key, cut(py3_repr(value)), origin, to_text(exc)))
    return values


def _check_required(values, raw, problems):
    fixes = {'destination': 'give the virt node as the first argument',
             'interim_address': 'give --interim-address, a free address in '
                                'the admin network',
             'admin_interface': 'give --admin-interface',
             'admin_address': 'give --admin-address',
             'admin_netmask': 'give --admin-netmask',
             'admin_mac': 'give --admin-mac'}
    for key, fix in sorted(fixes.items()):
        if raw[key][0] is None:
            problems.append('%s: not set: %s' % (key, fix))


def _not_a_host(address, prefix):
    """'network' or 'broadcast' when address is one of those of its subnet
    (a /31 or /32 has neither), else None."""
    bits = host_bits(address, prefix)
    if prefix >= 31 or 0 < bits < (1 << (32 - prefix)) - 1:
        return None
    return 'network' if bits == 0 else 'broadcast'


def _check_relations(values, problems):
    address, prefix = values.get('admin_address'), values.get('admin_netmask')
    if None in (address, prefix, values.get('interim_address')):
        return
    interim = values['interim_address']
    if not in_network(interim, address, prefix):
        problems.append('interim_address: %s is not in the admin network %s; '
                        'pick a free address there' % (
                            interim, network_text(address, prefix)))
    elif _not_a_host(interim, prefix):
        problems.append('interim_address: %s is the %s address of %s, not a '
                        'host; pick a free address there' % (
                            interim, _not_a_host(interim, prefix),
                            network_text(address, prefix)))
    elif interim == address:
        problems.append('interim_address: %s is the admin address itself; '
                        'pick another free address' % interim)
    if values.get('services') == 'commands' and not values.get(
            'stop_commands'):
        problems.append('stop_commands: empty while services is "commands"; '
                        'list the commands that stop the master services')
    disk, swap = values.get('disk_size'), values.get('swap_size')
    if disk and swap is not None and swap >= disk - 512 * units.MIB:
        problems.append('swap_size: %s leaves less than 512 MiB of the %s '
                        'disk for the root file system' % (
                            units.human_bytes(swap), units.human_bytes(disk)))


def build_params(cli, config=None, config_path=None):
    """cli: dict of option values (None = not given). Returns Params or
    raises ParamError listing every problem."""
    config = config or {}
    problems = []
    raw = _raw_values(cli, config, config_path)
    _fill_from_astute(raw, problems)
    values = _convert(raw, problems)
    _check_required(values, raw, problems)
    _check_relations(values, problems)
    if problems:
        raise ParamError(problems)
    return Params(values)

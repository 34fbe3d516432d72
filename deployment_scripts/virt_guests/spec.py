"""astute.yaml -> plain objects, after validation.

Every problem is collected with its path, the bad value and what would be
accepted, so an operator fixes them all in one go. Nothing here touches the
host.
"""
from __future__ import absolute_import, division, print_function

import collections
import os
import re

from rf_common.text import integer_types, py3_repr, shown, string_types, to_text

from . import astute
from . import hostvalues
from .astute import describe_value, path_key
from .yamlvalues import Unreadable

SECTION = 'reduced-footprint'
# At most 20 digits: a longer string would cost Python 2.7 minutes to convert
# (and Python 3.11 refuses it), and no disk is that large anyway.
SIZE_PATTERN = r'^[0-9]{1,20}[bkKMGT]?\Z'
SIZE_UNIT_BYTES = {'': 1, 'b': 1, 'k': 1024, 'K': 1024, 'M': 1024 ** 2,
                   'G': 1024 ** 3, 'T': 1024 ** 4}
MIN_DISK_BYTES = 1024 ** 2
MAX_DISK_BYTES = 1024 ** 5  # 1 PiB
MIN_MEM_MIB = 64
MAX_MEM_GIB = 16384  # 16 TiB: more than any node this plugin targets
MAX_CPU = 1024
GIB = 1024 ** 3

Settings = collections.namedtuple('Settings', [
    'default_cpu', 'default_mem_gib', 'default_disk_size', 'disk_dir',
    'disk_format', 'disk_cache', 'cpu_model', 'bridges', 'ovs_bridges',
    'vnc_listen', 'host_reserved_mem_gib', 'allow_mem_overcommit',
    'remove_undeclared', 'domain_template', 'strict_disk_space'])
Node = collections.namedtuple('Node', 'uid fqdn roles scheme_bridges')
Guest = collections.namedtuple('Guest', [
    'id', 'name', 'cpu', 'mem_mib', 'disk_size', 'disk_bytes', 'disk_path'])
Spec = collections.namedtuple('Spec', 'node settings guests warnings')
Problem = collections.namedtuple('Problem', 'path value accepted')

# The values environment_config.yaml ships; used when astute.yaml has no
# plugin section (the tests check both stay the same).
DEFAULT_SETTINGS = {
    'guest_default_cpu': '2',
    'guest_default_mem_gib': '2',
    'guest_default_disk_size': '70G',
    'guest_disk_dir': '/var/lib/nova',
    'guest_disk_format': 'qcow2',
    'guest_disk_cache': 'none',
    'guest_cpu_model': 'host-model',
    'guest_bridges': 'br-fw-admin,br-ex,br-storage,br-mgmt,br-mesh',
    'guest_ovs_bridges': '',
    'guest_vnc_listen': '127.0.0.1',
    'host_reserved_mem_gib': '2',
    'allow_mem_overcommit': False,
    'remove_undeclared_guests': False,
    'guest_domain_template': '',
    'strict_disk_space': False,
}

# \Z, not $: $ also matches before a final newline (jsonschema uses re.search).
END = r'\Z'
BRIDGE_LIST = '[A-Za-z0-9_.-]{1,15}(,[A-Za-z0-9_.-]{1,15})*'
IPV4 = r'((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])'


def _count(minimum, maximum):
    """A whole number given as text (Fuel's text fields) or as a number;
    the text no longer than the maximum (setting_problems checks its value)."""
    width = len(str(maximum)) - 1
    digits = (r'^[1-9][0-9]{0,%d}\Z' % width) if minimum else r'^[0-9]{1,%d}\Z' % (width + 1)
    return {'anyOf': [{'type': 'string', 'pattern': digits},
                      {'type': 'integer', 'minimum': minimum, 'maximum': maximum}]}


SETTING_SCHEMAS = {
    'guest_default_cpu': _count(1, MAX_CPU),
    'guest_default_mem_gib': _count(1, MAX_MEM_GIB),
    'guest_default_disk_size': {'type': 'string', 'pattern': SIZE_PATTERN},
    'guest_disk_dir': {'type': 'string', 'pattern': r'^/[A-Za-z0-9._/-]*\Z'},
    'guest_disk_format': {'enum': ['qcow2', 'raw']},
    'guest_disk_cache': {'enum': ['none', 'writethrough', 'writeback',
                                  'directsync', 'unsafe', 'default']},
    'guest_cpu_model': {'enum': ['host-model', 'host-passthrough',
                                 'hypervisor-default']},
    'guest_bridges': {'type': 'string', 'pattern': '^' + BRIDGE_LIST + END},
    'guest_ovs_bridges': {'type': 'string',
                          'pattern': '^(' + BRIDGE_LIST + ')?' + END},
    'guest_vnc_listen': {'type': 'string', 'pattern': '^' + IPV4 + END},
    'host_reserved_mem_gib': _count(0, MAX_MEM_GIB),
    'allow_mem_overcommit': {'type': 'boolean'},
    'remove_undeclared_guests': {'type': 'boolean'},
    'strict_disk_space': {'type': 'boolean'},
    'guest_domain_template': {'type': 'string',
                              'pattern': r'^(/[A-Za-z0-9._/-]*)?\Z'},
}

VM_SCHEMA = {
    'type': 'object',
    'required': ['id'],
    'properties': {
        'id': {'type': 'integer', 'minimum': 1},
        'cpu': {'type': 'integer', 'minimum': 1, 'maximum': MAX_CPU},
        'mem': {'type': 'integer', 'minimum': 1, 'maximum': MAX_MEM_GIB},
        'ram': {'type': 'integer', 'minimum': 1, 'maximum': MAX_MEM_GIB},
        'mem_mib': {'type': 'integer', 'minimum': MIN_MEM_MIB,
                    'maximum': MAX_MEM_GIB * 1024},
        'vda_size': {'type': 'string', 'pattern': SIZE_PATTERN},
        'created': {'type': 'boolean'},
    },
}

ASTUTE_SCHEMA = {
    'type': 'object',
    'required': ['uid'],
    'properties': {
        'uid': {'anyOf': [{'type': 'string', 'pattern': r'^[0-9]+\Z'},
                          {'type': 'integer', 'minimum': 0}]},
        'fqdn': {'type': 'string'},
        'roles': {'type': 'array', 'items': {'type': 'string'}},
        'vms_conf': {'type': ['array', 'null'], 'items': VM_SCHEMA},
        'network_scheme': {'type': 'object', 'properties': {
            'transformations': {'type': ['array', 'null']}}},
        SECTION: {'type': 'object', 'properties': SETTING_SCHEMAS},
    },
}

SIZE_TEXT = ('a size from 1M to 1024T: digits with an optional unit b, k/K, M, '
             'G or T, e.g. "70G"')
ACCEPTED = {
    'uid': 'the node id nailgun writes, digits such as "5"',
    'fqdn': 'a host name',
    'roles': 'a list of role names',
    'vms_conf': 'a list of guests such as [{"id": 1, "mem": 2, "cpu": 2}]',
    'network_scheme': 'a mapping (nailgun writes it)',
    'transformations': 'a list of transformations (nailgun writes it)',
    SECTION: "a mapping of the plugin's settings",
    'id': 'a whole number >= 1, unique on this node, e.g. 1',
    'cpu': 'a whole number of vCPUs from 1 to %d, e.g. 2' % MAX_CPU,
    'mem': 'a whole number of GiB from 1 to %d, e.g. 2' % MAX_MEM_GIB,
    'ram': 'a whole number of GiB from 1 to %d (better written as "mem")' % MAX_MEM_GIB,
    'mem_mib': 'a whole number of MiB from %d to %d, instead of "mem" (small lab '
               'and test guests)' % (MIN_MEM_MIB, MAX_MEM_GIB * 1024),
    'vda_size': SIZE_TEXT,
    'created': 'true or false (nailgun sets it)',
    'guest_default_cpu': 'a whole number of vCPUs from 1 to %d, e.g. "2"' % MAX_CPU,
    'guest_default_mem_gib': 'a whole number of GiB from 1 to %d, e.g. "2"' % MAX_MEM_GIB,
    'guest_default_disk_size': SIZE_TEXT,
    'guest_disk_dir': 'an absolute path of letters, digits, ".", "_", "-" '
                      'and "/" without "..", not a system folder (/, /etc, /usr, '
                      '/var, ...), e.g. "/var/lib/nova"',
    'guest_disk_format': 'one of "qcow2", "raw"',
    'guest_disk_cache': 'one of "none", "writethrough", "writeback", '
                        '"directsync", "unsafe", "default"',
    'guest_cpu_model': 'one of "host-model", "host-passthrough", '
                       '"hypervisor-default"',
    'guest_bridges': 'distinct bridge names (1 to 15 letters, digits, "_", '
                     '"." or "-", not beginning with "-", not "." or "..") '
                     'separated by commas, e.g. "br-fw-admin,br-ex"',
    'guest_ovs_bridges': 'bridge names (as in guest_bridges) separated by commas, '
                         'or empty',
    'guest_vnc_listen': 'an IPv4 address such as 127.0.0.1',
    'host_reserved_mem_gib': 'a whole number of GiB from 0 to %d, e.g. "2"' % MAX_MEM_GIB,
    'allow_mem_overcommit': 'true or false',
    'remove_undeclared_guests': 'true or false',
    'strict_disk_space': 'true or false',
    'guest_domain_template': 'an absolute path to a readable file, or empty',
}


class InvalidInput(Exception):
    """astute.yaml cannot be used; carries every problem found."""

    def __init__(self, problems):
        Exception.__init__(self, '%d problem(s) in the input' % len(problems))
        self.problems = problems


def format_problem(problem):
    return '%s: got %s; accepted: %s' % (problem.path, problem.value,
                                         problem.accepted)


def _item_label(doc, index):
    """vms_conf[1] plus the guest id when that item has a usable one."""
    label = 'vms_conf[%d]' % index
    items = doc.get('vms_conf') or []
    item = items[index] if index < len(items) else None
    if isinstance(item, dict) and _is_count(item.get('id'), 1):
        label += ' (guest %d)' % item['id']
    return label


def _is_count(value, minimum):
    return (isinstance(value, integer_types) and not isinstance(value, bool)
            and value >= minimum)


def _path_label(doc, path):
    parts = list(path)
    if len(parts) >= 2 and parts[0] == 'vms_conf':
        text = _item_label(doc, parts[1])
        rest = parts[2:]
    else:
        text, rest = '', parts
    for part in rest:
        text += ('[%d]' % part) if isinstance(part, integer_types) else '.' + to_text(part)
    return text.lstrip('.') or '(top level)'


def schema_problems(doc):
    """Every jsonschema error of the document, as Problems, ordered by
    path (jsonschema's own order follows dict order: not the same on 2.7)."""
    import jsonschema  # here: a run on a cached input never validates
    found = []
    for error in jsonschema.Draft4Validator(ASTUTE_SCHEMA).iter_errors(doc):
        path = list(error.path)
        if error.validator == 'required':
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    found.append((path_key(path + [name]), Problem(
                        _path_label(doc, path + [name]), 'missing',
                        ACCEPTED.get(name, name))))
            continue
        found.append((path_key(path), Problem(_path_label(doc, path),
                                              describe_value(error.instance),
                                              _accepted(path, error))))
    return [problem for _, problem in sorted(found)]


def _accepted(path, error):
    name = path[-1] if path else None
    if isinstance(name, string_types) and name in ACCEPTED:
        return ACCEPTED[name]
    if path[:1] == ['vms_conf'] and isinstance(name, integer_types):
        return 'a mapping such as {"id": 1, "mem": 2, "cpu": 2}'
    return _schema_text(error)


def _schema_text(error):
    """What the schema asks for, without jsonschema's u'' on 2.7."""
    return 'a value matching the schema %s' % py3_repr(error.schema)


def parse_size_default_bytes(text):
    """'70G' -> bytes, with qemu-img's binary units (k = 1024); a bare
    number is bytes, as qemu-img takes it."""
    unit = text[-1] if text[-1:] in SIZE_UNIT_BYTES else ''
    number = text[:-1] if unit else text
    return int(number) * SIZE_UNIT_BYTES[unit]


def _settings_section(doc):
    section = doc.get(SECTION)
    merged = dict(DEFAULT_SETTINGS)
    if isinstance(section, dict):
        merged.update((k, v) for k, v in section.items() if k in merged)
    return merged


def _split(text):
    return tuple(name for name in text.split(',') if name)


def setting_problems(values):
    """Checks the schema cannot express (sizes, duplicate names, '..')."""
    problems = []
    label = SECTION + '.'
    size = values['guest_default_disk_size']
    if _setting_valid('guest_default_disk_size', size) and not _size_in_range(size):
        problems.append(Problem(label + 'guest_default_disk_size',
                                describe_value(size), SIZE_TEXT))
    for key, top in (('guest_default_cpu', MAX_CPU), ('guest_default_mem_gib', MAX_MEM_GIB),
                     ('host_reserved_mem_gib', MAX_MEM_GIB)):
        if _setting_valid(key, values[key]) and int(values[key]) > top:
            problems.append(Problem(label + key, describe_value(values[key]), ACCEPTED[key]))
    text = values['guest_bridges']
    if _setting_valid('guest_bridges', text) and len(set(_split(text))) != len(_split(text)):
        problems.append(Problem(label + 'guest_bridges', describe_value(text),
                                ACCEPTED['guest_bridges']))
    for key in ('guest_bridges', 'guest_ovs_bridges'):
        bad = [name for name in _split(values[key]) if not hostvalues.bridge_name_ok(name)]
        if _setting_valid(key, values[key]) and bad:
            problems.append(Problem(label + key, '%s: %s%s' % (
                describe_value(values[key]), ', '.join('"%s"' % name for name in bad),
                hostvalues.BAD_BRIDGE), ACCEPTED[key]))
    disk_dir = values['guest_disk_dir']
    if _setting_valid('guest_disk_dir', disk_dir) and hostvalues.is_system(disk_dir):
        problems.append(Problem(label + 'guest_disk_dir', describe_value(disk_dir) +
                                ': a system folder', ACCEPTED['guest_disk_dir']))
    for key in ('guest_disk_dir', 'guest_domain_template'):
        if _setting_valid(key, values[key]) and '..' in values[key].split('/'):
            problems.append(Problem(label + key, describe_value(values[key]),
                                    ACCEPTED[key]))
    return problems


def _setting_valid(key, value):
    import jsonschema
    return jsonschema.Draft4Validator(SETTING_SCHEMAS[key]).is_valid(value)


def build_settings(values):
    return Settings(
        default_cpu=int(values['guest_default_cpu']),
        default_mem_gib=int(values['guest_default_mem_gib']),
        default_disk_size=values['guest_default_disk_size'],
        disk_dir=os.path.normpath(values['guest_disk_dir']),
        disk_format=values['guest_disk_format'],
        disk_cache=values['guest_disk_cache'],
        cpu_model=values['guest_cpu_model'],
        bridges=_split(values['guest_bridges']),
        ovs_bridges=_split(values['guest_ovs_bridges']),
        vnc_listen=values['guest_vnc_listen'],
        host_reserved_mem_gib=int(values['host_reserved_mem_gib']),
        allow_mem_overcommit=values['allow_mem_overcommit'],
        remove_undeclared=values['remove_undeclared_guests'],
        domain_template=values['guest_domain_template'],
        strict_disk_space=values['strict_disk_space'])


def scheme_bridges(doc):
    """{bridge: provider} from network_scheme's add-br transformations."""
    found = collections.OrderedDict()
    scheme = doc.get('network_scheme') or {}
    for step in scheme.get('transformations') or []:
        if isinstance(step, dict) and step.get('action') == 'add-br':
            found[to_text(step.get('name'))] = to_text(step.get('provider', 'lnx'))
    return found


def guest_problems(doc, items):
    """Duplicate ids, disk sizes below 1M, mem and ram both given."""
    problems = []
    seen = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue  # reported by the schema
        label = _item_label(doc, index)
        vm_id = item.get('id')
        if _is_count(vm_id, 1):
            if vm_id in seen:
                problems.append(Problem(
                    label + '.id', '%d (also in vms_conf[%d])' % (vm_id, seen[vm_id]),
                    'an id not used by another guest of this node'))
            seen.setdefault(vm_id, index)
        size = item.get('vda_size')
        if (isinstance(size, string_types) and _matches_size(size)
                and not _size_in_range(size)):
            problems.append(Problem(label + '.vda_size', describe_value(size), SIZE_TEXT))
        if 'mem_mib' in item and ('mem' in item or 'ram' in item):
            problems.append(Problem(label + '.mem_mib', describe_value(item['mem_mib']),
                                    'either "mem_mib" or "mem", not both'))
        if 'mem' in item and 'ram' in item and item['mem'] != item['ram']:
            problems.append(Problem(label + '.ram', describe_value(item['ram']),
                                    'no "ram" next to "mem" (%s), or the same value'
                                    % py3_repr(item['mem'])))
    return problems


def removal_problems(doc, values):
    """With removal on, no vms_conf is not taken to mean "remove them all"."""
    if values['remove_undeclared_guests'] is not True or doc.get('vms_conf') is not None:
        return []
    return [Problem('vms_conf', 'missing' if 'vms_conf' not in doc else 'nothing (null)',
                    'a list while %s.remove_undeclared_guests is on: give an explicit '
                    'empty list `vms_conf: []` to remove all never-provisioned guests '
                    'of this node' % SECTION)]


def _size_in_range(text):
    return MIN_DISK_BYTES <= parse_size_default_bytes(text) <= MAX_DISK_BYTES


def _matches_size(text):
    return re.match(SIZE_PATTERN, text) is not None


# Keys nailgun writes that the plugin does not use: accepted silently.
NAILGUN_KEYS = ('cluster_id',)


def unknown_key_warnings(doc, items):
    """A warning per unknown key of a guest entry, with the nearest known key."""
    known = sorted(VM_SCHEMA['properties'])
    listed = [k for k in known if k != 'ram']
    warnings = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        label = 'vms_conf[%d]' % index
        if _is_count(item.get('id'), 1):
            label = 'guest %d (%s)' % (item['id'], label)
        for key in sorted(to_text(k) for k in item):
            if key in known or key in NAILGUN_KEYS:
                continue
            import difflib  # here: only an unknown key needs it
            near = difflib.get_close_matches(key, known, 1)
            hint = ('did you mean "%s"?' % near[0]) if near else (
                'known keys: %s' % ', '.join(listed))
            warnings.append('%s: unknown key "%s" ignored; %s' % (label, shown(key), hint))
    return warnings


def build_guest(item, settings, warnings):
    vm_id = item['id']
    mem = item.get('mem')
    if mem is None and 'ram' in item:
        mem = item['ram']
        warnings.append('guest %d: "ram" read as "mem" (%d GiB); nailgun '
                        'writes "mem"' % (vm_id, mem))
    mem_mib = (settings.default_mem_gib if mem is None else mem) * 1024
    size = item.get('vda_size', settings.default_disk_size)
    name = '%d_vm' % vm_id
    return Guest(id=vm_id, name=name,
                 cpu=item.get('cpu', settings.default_cpu),
                 mem_mib=item.get('mem_mib', mem_mib),
                 disk_size=size, disk_bytes=parse_size_default_bytes(size),
                 disk_path=os.path.join(settings.disk_dir, name + '.img'))


def build_spec(doc):
    """Validated astute.yaml mapping -> Spec; raises InvalidInput."""
    if not isinstance(doc, dict):
        raise InvalidInput([Problem('(top level)', describe_value(doc),
                                    'a mapping: the node\'s astute.yaml')])
    problems = schema_problems(doc)
    values = _settings_section(doc)
    items = doc.get('vms_conf') or []
    if not isinstance(items, list):
        items = []
    problems += setting_problems(values)
    problems += guest_problems(doc, items)
    problems += removal_problems(doc, values)
    if problems:
        raise InvalidInput(problems)
    warnings = []
    if not isinstance(doc.get(SECTION), dict):
        warnings.append('no "%s" section in astute.yaml: using the plugin\'s '
                        'default settings' % SECTION)
    settings = build_settings(values)
    bridges = scheme_bridges(doc)
    ovs = set(settings.ovs_bridges)
    ovs.update(b for b in settings.bridges if bridges.get(b) == 'ovs')
    settings = settings._replace(ovs_bridges=tuple(b for b in settings.bridges if b in ovs))
    for name in set(_split(values['guest_ovs_bridges'])) - set(settings.bridges):
        warnings.append('guest_ovs_bridges: %s is not in guest_bridges, ignored' % name)
    node = Node(uid=str(doc['uid']), fqdn=doc.get('fqdn', ''),
                roles=tuple(doc.get('roles') or ()), scheme_bridges=bridges)
    warnings += unknown_key_warnings(doc, items)
    guests = tuple(build_guest(item, settings, warnings) for item in items)
    return Spec(node=node, settings=settings, guests=guests, warnings=warnings)


# The top-level keys read: the rest of what nailgun writes (network_metadata
# above all, most of the file) is checked as YAML but not built.
USED_KEYS = frozenset(ASTUTE_SCHEMA['properties'])


def load_spec(path):
    """Read and validate astute.yaml at path; raises InvalidInput."""
    try:
        doc = astute.load(path, USED_KEYS)
    except Unreadable as error:
        raise InvalidInput([Problem(to_text(path), error.found, error.accepted)])
    return build_spec(doc)

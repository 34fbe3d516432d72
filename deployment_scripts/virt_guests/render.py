"""Guest objects <-> libvirt domain XML. No libvirt import, no policy.

The desired shape of a guest (DomainWant) is computed once here and used
both to render the XML and by the planner to compare with what libvirt has.
A disk's and a NIC's fields are declared once (DISK_XML, NIC_XML): render
writes and parse_domain reads them through the same table.
MACs and UUIDs derive from the node uid and guest id, so they survive
re-runs and redefinitions: Fuel identifies a node by its MACs.
"""
from __future__ import absolute_import, division, print_function

import binascii
import collections
import copy
import hashlib
import os
import xml.etree.ElementTree as ET

from rf_common.text import to_native

from . import safefile

NS = 'https://github.com/openstack/fuel-plugin-reduced-footprint/guest/1.0'
ET.register_namespace('rf', NS)
UUID_NAMESPACE = binascii.unhexlify('5d3c9e2a8f0e4c619a597c0f3b1f2e41')
DEFAULT_TEMPLATE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    'templates', 'guest-domain.xml')
ANY_BRIDGE = '*'
MAX_TEMPLATE_BYTES = 1 << 20
KIB_PER_GIB = 1024 * 1024
try:
    # Python 2.7's ElementTree parses in Python, ~7x slower than its C
    # twin: a no-op re-run reads every domain's XML. 3.3+ parses in C
    # anyway (and 3.9 drops cElementTree).
    from xml.etree import cElementTree as parsing_etree
except ImportError:
    parsing_etree = ET


def xml_text(element):
    """An ElementTree element as text (encoding='unicode' is 3.x only)."""
    return ET.tostring(element, encoding='utf-8').decode('utf-8')


DomainWant = collections.namedtuple('DomainWant', [
    'name', 'uuid', 'vcpu', 'memory_kib', 'nics', 'disk_path', 'disk_format',
    'guest_id', 'node_uid'])
Nic = collections.namedtuple('Nic', 'mac bridge')
DomainFacts = collections.namedtuple('DomainFacts', [
    'name', 'uuid', 'vcpu', 'memory_kib', 'nics', 'disks', 'guest_id',
    'node_uid'])
DiskRef = collections.namedtuple('DiskRef', 'path format')
# One field of a record <-> one attribute of a child element (attribute
# None: the child's text). parse/format: XML text <-> value (parse None:
# the text as it is). alone: writing drops the child's other attributes.
# index: where a missing child is inserted (None: last).
XmlField = collections.namedtuple('XmlField', 'field child attribute parse format alone index')


def xml_field(field, child, attribute=None, parse=None, format=str, alone=False, index=None):
    return XmlField(field, child, attribute, parse, format, alone, index)


# <disk device='disk'>: written by _fill_disk, read by _disks.
DISK_XML = (xml_field('path', 'source', 'file', alone=True),
            xml_field('format', 'driver', 'type'))
# <interface>: written by _nic_element, read by _nics.
NIC_XML = (xml_field('mac', 'mac', 'address', alone=True, index=0),
           xml_field('bridge', 'source', 'bridge', alone=True))


class TemplateError(Exception):
    """The domain template cannot be used; the message says why."""


def guest_mac(node_uid, guest_id, nic_index):
    """Locally administered unicast MAC (first octet 02), stable per NIC."""
    seed = 'reduced-footprint/%s/%d/%d' % (node_uid, guest_id, nic_index)
    digest = bytearray(hashlib.sha256(seed.encode('ascii')).digest())
    return ':'.join('%02x' % octet for octet in bytearray([0x02]) + digest[:5])


def guest_uuid(node_uid, guest_id):
    """uuid.uuid5(UUID_NAMESPACE, name), RFC 4122 section 4.3, without
    importing uuid (~15 ms under Python 2.7: it loads ctypes)."""
    name = 'reduced-footprint/%s/%d' % (node_uid, guest_id)
    digest = bytearray(hashlib.sha1(UUID_NAMESPACE + name.encode('utf-8')).digest()[:16])
    digest[6] = digest[6] & 0x0f | 0x50  # version 5
    digest[8] = digest[8] & 0x3f | 0x80  # variant RFC 4122
    text = binascii.hexlify(bytes(digest)).decode('ascii')
    return '-'.join((text[:8], text[8:12], text[12:16], text[16:20], text[20:]))


def want(guest, node, settings):
    """The desired shape of one guest's domain."""
    nics = tuple(Nic(guest_mac(node.uid, guest.id, index), bridge)
                 for index, bridge in enumerate(settings.bridges))
    return DomainWant(
        name=guest.name, uuid=guest_uuid(node.uid, guest.id),
        vcpu=guest.cpu, memory_kib=guest.mem_mib * 1024, nics=nics,
        disk_path=guest.disk_path, disk_format=settings.disk_format,
        guest_id=guest.id, node_uid=node.uid)


def load_template(path=None):
    """Parsed template root; TemplateError names the file and the fault."""
    path = path or DEFAULT_TEMPLATE
    try:
        root = ET.fromstring(safefile.read_input(path, MAX_TEMPLATE_BYTES))
    except safefile.NotRegular as error:
        raise TemplateError('domain template %s is %s, not a regular file'
                            % (path, error.what))
    except safefile.TooLarge:
        raise TemplateError('domain template %s is larger than %d KiB'
                            % (path, MAX_TEMPLATE_BYTES >> 10))
    except (IOError, OSError) as error:
        raise TemplateError('domain template %s: %s' % (path, error.strerror))
    except ET.ParseError as error:
        raise TemplateError('domain template %s is not XML: %s' % (path, error))
    if root.tag != 'domain' or root.find('devices') is None:
        raise TemplateError('domain template %s: needs <domain> with <devices>' % path)
    if root.find("devices/disk[@device='disk']") is None:
        raise TemplateError('domain template %s: needs a <disk device="disk">' % path)
    if _interface_prototypes(root).get(ANY_BRIDGE) is None:
        raise TemplateError("domain template %s: needs an <interface> with "
                            "<source bridge='*'/> to clone per bridge" % path)
    return root


def _interface_prototypes(root):
    found = {}
    for iface in root.findall('devices/interface'):
        source = iface.find('source')
        if source is not None and source.get('bridge'):
            found.setdefault(source.get('bridge'), iface)
    return found


def _child(parent, tag, index=None):
    """The child element tag, created (at index, if given) when missing."""
    element = parent.find(tag)
    if element is None:
        element = ET.Element(tag)
        if index is None:
            parent.append(element)
        else:
            parent.insert(index, element)
    return element


def write_fields(element, fields, record):
    """Set each declared field of record in element's children."""
    for field in fields:
        child = _child(element, field.child, field.index)
        text = field.format(getattr(record, field.field))
        if field.attribute is None:
            child.text = text
        elif field.alone:
            child.attrib = {field.attribute: text}
        else:
            child.set(field.attribute, text)


def read_fields(element, fields, record_type):
    """record_type from element's children; None for what is missing."""
    values = {}
    for field in fields:
        child = element.find(field.child)
        text = None if child is None else (
            child.text if field.attribute is None else child.get(field.attribute))
        values[field.field] = (field.parse(text) if field.parse and text is not None
                               else text)
    return record_type(**values)


def _remove_all(parent, tag):
    for element in parent.findall(tag):
        parent.remove(element)


def _set_boot_order(device, order):
    _remove_all(device, 'boot')
    if order:
        ET.SubElement(device, 'boot', order=str(order))


def _fill_basics(root, domain_want, settings):
    _child(root, 'name', 0).text = domain_want.name
    _child(root, 'uuid', 1).text = domain_want.uuid
    for tag in ('memory', 'currentMemory'):
        element = _child(root, tag)
        element.text = str(domain_want.memory_kib)
        element.set('unit', 'KiB')
    _child(root, 'vcpu').text = str(domain_want.vcpu)
    # Per-device boot order below; libvirt refuses it next to <os><boot>.
    _remove_all(_child(root, 'os'), 'boot')
    _remove_all(root, 'cpu')
    if settings.cpu_model != 'hypervisor-default':
        ET.SubElement(root, 'cpu', mode=settings.cpu_model)


def _fill_disk(root, domain_want, settings):
    disk = root.find("devices/disk[@device='disk']")
    write_fields(disk, DISK_XML, DiskRef(domain_want.disk_path, domain_want.disk_format))
    driver = disk.find('driver')
    driver.set('name', 'qemu')
    if settings.disk_cache == 'default':
        driver.attrib.pop('cache', None)
    else:
        driver.set('cache', settings.disk_cache)
    _set_boot_order(disk, 2)


def _nic_element(prototype, nic, is_ovs, boot_order):
    iface = copy.deepcopy(prototype)
    iface.set('type', 'bridge')
    write_fields(iface, NIC_XML, nic)
    if is_ovs and iface.find('virtualport') is None:
        ET.SubElement(iface, 'virtualport', type='openvswitch')
    _set_boot_order(iface, boot_order)
    return iface


def _fill_nics(root, domain_want, settings):
    devices = root.find('devices')
    prototypes = _interface_prototypes(root)
    position = list(devices).index(devices.find('interface'))
    _remove_all(devices, 'interface')
    for index, nic in enumerate(domain_want.nics):
        prototype = prototypes.get(nic.bridge, prototypes[ANY_BRIDGE])
        # The admin NIC (first) PXE-boots; the others stay out of the boot.
        element = _nic_element(prototype, nic, nic.bridge in settings.ovs_bridges,
                               1 if index == 0 else None)
        devices.insert(position + index, element)


def _fill_vnc(root, settings):
    for graphics in root.findall("devices/graphics[@type='vnc']"):
        graphics.set('listen', settings.vnc_listen)
        _remove_all(graphics, 'listen')
        ET.SubElement(graphics, 'listen', type='address', address=settings.vnc_listen)


def _fill_metadata(root, domain_want):
    _remove_all(root, 'metadata')
    metadata = ET.Element('metadata')
    root.insert(2, metadata)
    guest = ET.SubElement(metadata, '{%s}guest' % NS)
    ET.SubElement(guest, '{%s}id' % NS).text = str(domain_want.guest_id)
    ET.SubElement(guest, '{%s}node-uid' % NS).text = domain_want.node_uid


def _indent(element, level=0):
    """Two-space indentation, for operators reading `plan --xml`."""
    pad = '\n' + '  ' * level
    children = list(element)
    if children:
        element.text = pad + '  '
        for child in children:
            _indent(child, level + 1)
            child.tail = pad + '  '
        children[-1].tail = pad
    elif element.text is not None:
        element.text = element.text.strip()


def render(template_root, domain_want, settings):
    """Domain XML text for one guest, from a copy of the template."""
    root = copy.deepcopy(template_root)
    _fill_basics(root, domain_want, settings)
    _fill_disk(root, domain_want, settings)
    _fill_nics(root, domain_want, settings)
    _fill_vnc(root, settings)
    _fill_metadata(root, domain_want)
    _indent(root)
    return xml_text(root) + '\n'


def _int_text(root, tag):
    element = root.find(tag)
    try:
        return int(element.text)
    except (AttributeError, TypeError, ValueError):
        return None


def _memory_kib(root):
    units = {'KiB': 1, 'k': 1, 'K': 1, 'MiB': 1024, 'M': 1024, 'GiB': KIB_PER_GIB,
             'G': KIB_PER_GIB, 'b': None, 'bytes': None}
    element = root.find('memory')
    if element is None:
        return None
    factor = units.get(element.get('unit', 'KiB'))
    value = int(element.text)
    return value // 1024 if factor is None else value * factor


def _nics(root):
    return tuple(read_fields(iface, NIC_XML, Nic)
                 for iface in root.findall('devices/interface'))


def _disks(root):
    return tuple(read_fields(disk, DISK_XML, DiskRef)
                 for disk in root.findall("devices/disk[@device='disk']"))


def parse_domain(xml_text):
    """The facts of a domain XML that planning compares; ours or not."""
    root = parsing_etree.fromstring(to_native(xml_text))  # 2.7's expat wants bytes
    guest = root.find('metadata/{%s}guest' % NS)
    meta = {}
    if guest is not None:
        for key in ('id', 'node-uid'):
            element = guest.find('{%s}%s' % (NS, key))
            meta[key] = element.text if element is not None else None
    guest_id = meta.get('id')
    return DomainFacts(
        name=root.findtext('name'), uuid=root.findtext('uuid'),
        vcpu=_int_text(root, 'vcpu'), memory_kib=_memory_kib(root),
        nics=_nics(root), disks=_disks(root),
        guest_id=int(guest_id) if guest_id and guest_id.isdigit() else None,
        node_uid=meta.get('node-uid'))

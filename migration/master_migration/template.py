"""The guest's domain XML, built with ElementTree from one declaration per
element or attribute (virtinst's XMLProperty style: the same declaration
writes the XML and reads it back). Renders only: no libvirt, no policy."""
from __future__ import absolute_import, division, print_function

import re
import xml.etree.ElementTree as ET

from rf_common.text import to_bytes, to_text
from master_migration.dockerpool import GUEST_DEVICE

NAMESPACE = 'http://fuel-plugin-reduced-footprint/xmlns/rf-migrate-master/1'
ET.register_namespace('rfm', NAMESPACE)
MIGRATION = 'metadata/{%s}migration/{%s}' % (NAMESPACE, NAMESPACE)
ROOT_DEVICE = 'vda'  # the copied root: the first disk, the one that boots
STEP = re.compile(r'(?:\{[^}]*\})?[^/{]+')  # a tag, its {namespace} may hold /


class Prop(object):
    """Where one field lives, e.g. 'devices/disk/source@file' (an
    attribute) or 'memory' (the element's text). `field` names the value
    (None: the fixed `value`); `kind` reads it back from its text."""

    def __init__(self, path, field=None, value=None, kind=to_text):
        self.path, _, self.attribute = path.partition('@')
        self.field, self.value, self.kind = field, value, kind

    def write(self, root, values):
        element = root
        for tag in STEP.findall(self.path):
            child = element.find(tag)
            element = ET.SubElement(element, tag) if child is None else child
        if self.field is None and self.value is None:
            return  # the element alone, like <acpi/>
        text = to_text(values[self.field] if self.field else self.value)
        if self.attribute:
            element.set(self.attribute, text)
        else:
            element.text = text

    def read(self, root):
        element = root.find(self.path) if self.path else root
        text = element.get(self.attribute) if self.attribute else element.text
        return self.kind(text)


def raw_disk(element, path_field, device_field):
    """A raw image file as a virtio disk, below `element` ('' for the
    <disk> itself): the copied root and the docker PV are both one."""
    def at(relative):
        if not element:
            return relative
        return element + ('' if relative.startswith('@') else '/') + relative
    return [Prop(at('@type'), value='file'), Prop(at('@device'), value='disk'),
            Prop(at('driver@name'), value='qemu'), Prop(at('driver@type'), value='raw'),
            Prop(at('source@file'), path_field), Prop(at('target@dev'), device_field),
            Prop(at('target@bus'), value='virtio')]


# In document order. A field's value comes from guest_values(); the NICs
# (INTERFACE, one element each) go between the disk and the serial port.
DOMAIN = [
    Prop('@type', 'virt_type'),
    Prop('name', 'name'),
    Prop('uuid', 'uuid'),
    Prop('description', value='Fuel master migrated by rf-migrate-master'),
    Prop(MIGRATION + 'source-address', 'admin_address'),
    Prop(MIGRATION + 'root-uuid', 'root_uuid'),
    Prop('memory@unit', value='MiB'),
    Prop('memory', 'memory_mib', kind=int),
    Prop('currentMemory@unit', value='MiB'),
    Prop('currentMemory', 'memory_mib', kind=int),
    Prop('vcpu@placement', value='static'),
    Prop('vcpu', 'vcpus', kind=int),
    Prop('os/type@arch', value='x86_64'),
    Prop('os/type@machine', value='pc'),
    Prop('os/type', value='hvm'),
    Prop('features/acpi'),
    Prop('features/apic'),
    Prop('clock@offset', value='utc'),
    Prop('on_poweroff', value='destroy'),
    Prop('on_reboot', value='restart'),
    Prop('on_crash', value='restart'),
] + raw_disk('devices/disk', 'disk_path', 'disk_device') + [
    Prop('devices/disk/boot@order', value='1'),
]
# Fuel 8.0's docker PV, block for block (dockerpool): a second disk that
# lvm finds by its label; no boot order, the first disk boots.
PV_DISK = raw_disk('', 'path', 'device')
INTERFACE = [
    Prop('@type', value='bridge'),
    Prop('mac@address', 'mac'),
    Prop('source@bridge', 'bridge'),
    Prop('model@type', value='virtio'),
]
AFTER_INTERFACES = [
    Prop('devices/serial@type', value='pty'),
    Prop('devices/serial/target@port', value='0'),
    Prop('devices/console@type', value='pty'),
    Prop('devices/console/target@type', value='serial'),
    Prop('devices/console/target@port', value='0'),
    # VNC on the virt node's loopback only: the console holds root's login.
    Prop('devices/graphics@type', value='vnc'),
    Prop('devices/graphics@port', value='-1'),
    Prop('devices/graphics@autoport', value='yes'),
    Prop('devices/graphics@listen', value='127.0.0.1'),
    Prop('devices/graphics/listen@type', value='address'),
    Prop('devices/graphics/listen@address', value='127.0.0.1'),
]


def guest_nics(params, facts):
    """Admin NIC first (it becomes eth0 in the guest), then the others in
    the order given: each with the old master's MAC."""
    nics = [{'interface': params.admin_interface, 'mac': params.admin_mac,
             'bridge': params.admin_bridge,
             'extra_xml': params.admin_nic_xml}]
    return nics + list(facts.nics)


def guest_values(params, facts):
    return {'virt_type': getattr(params, 'virt_type', 'kvm'),
            'name': params.name, 'uuid': facts.domain_uuid,
            'admin_address': params.admin_address,
            'root_uuid': facts.root_uuid, 'memory_mib': params.memory_mib,
            'vcpus': params.vcpus, 'disk_path': facts.image,
            'disk_device': ROOT_DEVICE}


def interface_element(nic):
    """One <interface>; the operator's extra XML (params: well-formed)
    goes after the declared children."""
    element = ET.Element('interface')
    for prop in INTERFACE:
        prop.write(element, nic)
    extra = (nic.get('extra_xml') or u'').strip()
    if extra:
        element.extend(list(ET.fromstring(to_bytes(
            u'<interface>%s</interface>' % extra))))
    return element


def render_domain(params, facts):
    root = ET.Element('domain')
    values = guest_values(params, facts)
    for prop in DOMAIN:
        prop.write(root, values)
    devices = root.find('devices')
    docker = getattr(facts, 'docker_vg', None) or {}
    if docker.get('action') == 'carry':
        disk = ET.SubElement(devices, 'disk')
        for prop in PV_DISK:
            prop.write(disk, {'path': facts.docker_image,
                              'device': GUEST_DEVICE})
    for nic in guest_nics(params, facts):
        devices.append(interface_element(nic))
    for prop in AFTER_INTERFACES:
        prop.write(root, values)
    indent(root)
    return ET.tostring(root, encoding='utf-8').decode('utf-8') + u'\n'


def read_domain(xml_text):
    """The fields back from a domain XML: what guest_values() gave, plus
    'nics' as (mac, bridge) pairs in order."""
    root = ET.fromstring(to_bytes(xml_text))
    values = dict((p.field, p.read(root)) for p in DOMAIN if p.field)
    values['nics'] = [tuple(p.read(element) for p in INTERFACE if p.field)
                      for element in root.findall('devices/interface')]
    values['extra_disks'] = [tuple(p.read(element) for p in PV_DISK
                                   if p.field)
                             for element in root.findall('devices/disk')[1:]]
    return values


def indent(element, depth=1):
    """Two spaces a level, for whoever reads the file on the virt node."""
    children = list(element)
    if not children:
        return
    element.text = u'\n' + u'  ' * depth
    for child in children:
        indent(child, depth + 1)
        child.tail = element.text
    children[-1].tail = u'\n' + u'  ' * (depth - 1)

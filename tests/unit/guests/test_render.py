"""Domain XML from guest objects: compared structurally with what libvirt
should get, and parsed back the same. (Checked against libvirt's own schema
in tests/guests/test_render_schema.py.)"""
from __future__ import absolute_import, division, print_function

import os
import xml.etree.ElementTree as ET

import pytest

from nodes import astute_doc
from virt_guests import render, spec

EXPECTED = """
<domain type='kvm' xmlns:rf='{ns}'>
  <name>7_vm</name>
  <uuid>{uuid}</uuid>
  <metadata>
    <rf:guest><rf:id>7</rf:id><rf:node-uid>12</rf:node-uid></rf:guest>
  </metadata>
  <memory unit='KiB'>3145728</memory>
  <currentMemory unit='KiB'>3145728</currentMemory>
  <vcpu placement='static'>3</vcpu>
  <os><type arch='x86_64'>hvm</type><bootmenu enable='no'/></os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='writeback'/>
      <source file='/srv/vms/7_vm.img'/>
      <target dev='vda' bus='virtio'/>
      <boot order='2'/>
    </disk>
    <interface type='bridge'>
      <mac address='{mac0}'/><source bridge='br-fw-admin'/>
      <model type='virtio'/><boot order='1'/>
    </interface>
    <interface type='bridge'>
      <mac address='{mac1}'/><source bridge='br-prv'/>
      <model type='virtio'/><virtualport type='openvswitch'/>
    </interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <input type='tablet' bus='usb'/>
    <graphics type='vnc' port='-1' autoport='yes' listen='10.20.0.5'>
      <listen type='address' address='10.20.0.5'/>
    </graphics>
    <video><model type='cirrus'/></video>
    <memballoon model='virtio'/>
  </devices>
  <cpu mode='host-passthrough'/>
</domain>
"""


def canonical(element):
    """Tag, attributes, text and children, ignoring whitespace and order
    of siblings with different tags (libvirt's schema interleaves them)."""
    children = sorted((canonical(child) for child in element), key=repr)
    return (element.tag, sorted(element.attrib.items()),
            (element.text or '').strip(), children)


def xml_same(left, right):
    return canonical(ET.fromstring(left)) == canonical(ET.fromstring(right))


def make_spec(settings=None, guests=None, bridges=('br-fw-admin', 'br-prv')):
    doc = astute_doc(guests or [{'id': 7, 'cpu': 3, 'mem': 3, 'vda_size': '20G'}],
                     settings=settings, uid='12', bridges=bridges)
    return spec.build_spec(doc)


SETTINGS = {'guest_disk_dir': '/srv/vms', 'guest_disk_format': 'raw',
            'guest_disk_cache': 'writeback', 'guest_cpu_model': 'host-passthrough',
            'guest_ovs_bridges': 'br-prv', 'guest_vnc_listen': '10.20.0.5'}


def rendered(settings=SETTINGS, template=None, **kwargs):
    result = make_spec(settings, **kwargs)
    want = render.want(result.guests[0], result.node, result.settings)
    template = render.load_template() if template is None else template
    return want, render.render(template, want, result.settings)


def test_rendered_domain_is_the_expected_xml():
    _, xml = rendered()
    expected = EXPECTED.format(
        ns=render.NS, uuid=render.guest_uuid('12', 7),
        mac0=render.guest_mac('12', 7, 0), mac1=render.guest_mac('12', 7, 1))
    assert xml_same(xml, expected), xml


def test_no_emulator_and_no_os_boot_entries():
    _, xml = rendered()
    root = ET.fromstring(xml)
    assert root.find('devices/emulator') is None
    assert root.find('os/boot') is None


def test_hypervisor_default_cpu_and_default_cache_leave_them_out():
    _, xml = rendered(dict(SETTINGS, guest_cpu_model='hypervisor-default',
                           guest_disk_cache='default'))
    root = ET.fromstring(xml)
    assert root.find('cpu') is None
    assert 'cache' not in root.find('devices/disk/driver').attrib


def test_parse_gives_back_the_desired_shape():
    want, xml = rendered()
    facts = render.parse_domain(xml)
    assert (facts.name, facts.uuid, facts.vcpu, facts.memory_kib) == (
        want.name, want.uuid, want.vcpu, want.memory_kib)
    assert facts.nics == want.nics
    assert facts.disks == (render.DiskRef(want.disk_path, want.disk_format),)
    assert (facts.guest_id, facts.node_uid) == (7, '12')


def test_disks_and_nics_read_back_as_they_were_written():
    """render writes and parse_domain reads them through one declaration each."""
    want, xml = rendered(dict(SETTINGS, guest_disk_format='qcow2'),
                         bridges=('br-fw-admin', 'br-prv', 'br-ex'))
    facts = render.parse_domain(xml)
    assert facts.disks == (render.DiskRef('/srv/vms/7_vm.img', 'qcow2'),)
    assert facts.nics == want.nics and len(facts.nics) == 3
    assert [nic.bridge for nic in facts.nics] == ['br-fw-admin', 'br-prv', 'br-ex']


def test_a_changed_declaration_changes_the_writer_and_the_reader(monkeypatch):
    """Declare the disk path as <source dev> and the MAC in capitals: the
    XML changes, and what is read back stays the desired shape."""
    monkeypatch.setattr(render, 'DISK_XML', (
        render.xml_field('path', 'source', 'dev', alone=True),
        render.xml_field('format', 'driver', 'type')))
    monkeypatch.setattr(render, 'NIC_XML', (
        render.xml_field('mac', 'mac', 'address', alone=True, index=0,
                         format=lambda mac: mac.upper(), parse=lambda text: text.lower()),
        render.xml_field('bridge', 'source', 'bridge', alone=True)))
    want, xml = rendered()
    root = ET.fromstring(xml)
    assert root.find('devices/disk/source').attrib == {'dev': '/srv/vms/7_vm.img'}
    macs = [iface.find('mac').get('address') for iface in root.findall('devices/interface')]
    assert macs == [nic.mac.upper() for nic in want.nics] and macs[0] != want.nics[0].mac
    facts = render.parse_domain(xml)
    assert facts.disks == (render.DiskRef(want.disk_path, want.disk_format),)
    assert facts.nics == want.nics


def test_round_trip_renders_the_same_xml():
    """objects -> XML -> objects -> XML gives the same domain."""
    want, xml = rendered()
    facts = render.parse_domain(xml)
    (disk,) = facts.disks
    again_want = render.DomainWant(
        name=facts.name, uuid=facts.uuid, vcpu=facts.vcpu, memory_kib=facts.memory_kib,
        nics=facts.nics, disk_path=disk.path, disk_format=disk.format,
        guest_id=facts.guest_id, node_uid=facts.node_uid)
    assert again_want == want
    again = render.render(render.load_template(), again_want, make_spec(SETTINGS).settings)
    assert xml_same(xml, again)


# Node 12's guest 7 as every release since 1.0 defined it: Fuel knows the
# guest as a node by these MACs, libvirt knows the domain by this UUID.
KNOWN_MACS = ['02:0d:c8:78:45:a9', '02:9a:a5:f4:cf:09']
KNOWN_UUID = '01a8d22b-b38e-5485-9e75-9ebd114616a9'


def test_the_same_guest_gets_the_same_macs_and_uuid_in_every_run():
    """Derived from the node uid and guest id alone: not from anything
    that changes between processes (PYTHONHASHSEED, object ids) or
    between Pythons, or a redefined guest would be a new node to Fuel."""
    _, xml = rendered()
    root = ET.fromstring(xml)
    assert [iface.find('mac').get('address')
            for iface in root.findall('devices/interface')] == KNOWN_MACS
    assert root.find('uuid').text == KNOWN_UUID


def test_guest_uuids_are_rfc_4122_version_5_of_node_and_guest():
    """As uuid.uuid5 gives them (earlier releases called it), for every
    node and guest, not only the one above."""
    import uuid
    namespace = uuid.UUID(bytes=render.UUID_NAMESPACE)
    for uid in ('5', '12', '97'):
        for guest_id in range(1, 6):
            assert render.guest_uuid(uid, guest_id) == str(uuid.uuid5(
                namespace, 'reduced-footprint/%s/%d' % (uid, guest_id)))


def test_foreign_domain_parses_without_metadata():
    facts = render.parse_domain("<domain type='kvm'><name>other</name>"
                                "<memory unit='MiB'>512</memory></domain>")
    assert (facts.guest_id, facts.node_uid, facts.memory_kib) == (None, None, 512 * 1024)


def test_macs_are_stable_unicast_locally_administered_and_distinct():
    macs = [render.guest_mac(uid, guest_id, nic)
            for uid in ('1', '2') for guest_id in (1, 2, 3) for nic in range(5)]
    assert len(set(macs)) == len(macs)
    for mac in macs:
        first = int(mac.split(':')[0], 16)
        assert first & 0x02 and not first & 0x01
    assert render.guest_mac('1', 1, 0) == render.guest_mac('1', 1, 0)
    assert render.guest_uuid('1', 1) != render.guest_uuid('2', 1)


def test_named_interface_prototype_is_used_for_its_bridge(tmp_path):
    template = render.load_template()
    devices = template.find('devices')
    tagged = ET.fromstring("<interface type='bridge'><source bridge='br-prv'/>"
                           "<vlan><tag id='1000'/></vlan><model type='e1000'/></interface>")
    devices.insert(2, tagged)
    _, xml = rendered(dict(SETTINGS, guest_ovs_bridges=''), template=template)
    admin, private = ET.fromstring(xml).findall('devices/interface')
    assert admin.find('model').get('type') == 'virtio' and admin.find('vlan') is None
    assert private.find('model').get('type') == 'e1000'
    assert private.find('vlan/tag').get('id') == '1000'
    assert private.find('mac') is not None


@pytest.mark.parametrize('text,fault', [
    ('<domain', 'is not XML'),
    ('<domain type="kvm"><name>x</name></domain>', 'needs <domain> with <devices>'),
    ('<domain><devices><interface type="bridge"><source bridge="*"/></interface>'
     '</devices></domain>', 'needs a <disk'),
    ('<domain><devices><disk device="disk"/></devices></domain>', "source bridge='*'"),
])
def test_unusable_template_is_refused_with_the_reason(tmp_path, text, fault):
    path = os.path.join(str(tmp_path), 'template.xml')
    with open(path, 'w') as stream:
        stream.write(text)
    with pytest.raises(render.TemplateError) as caught:
        render.load_template(path)
    assert fault in str(caught.value) and path in str(caught.value)


def test_a_domain_with_the_spec_hash_of_earlier_releases_parses_the_same():
    """Releases before 1.0 wrote <rf:spec-hash>; nothing reads it now."""
    _, xml = rendered()
    root = ET.fromstring(xml)
    ET.SubElement(root.find('metadata/{%s}guest' % render.NS),
                  '{%s}spec-hash' % render.NS).text = 'e62b9f189f780182'
    assert render.parse_domain(ET.tostring(root)) == render.parse_domain(xml)


def test_the_domain_xml_is_indented_for_the_operator_reading_plan_xml():
    _, xml = rendered()
    assert xml.splitlines()[1:7] == [
        '  <name>7_vm</name>', '  <uuid>%s</uuid>' % KNOWN_UUID, '  <metadata>',
        '    <rf:guest>', '      <rf:id>7</rf:id>', '      <rf:node-uid>12</rf:node-uid>']
    assert xml.endswith('  <cpu mode="host-passthrough" />\n</domain>\n')


@pytest.mark.parametrize('memory', [
    "<memory>2097152</memory>", "<memory unit='KiB'>2097152</memory>",
    "<memory unit='k'>2097152</memory>", "<memory unit='K'>2097152</memory>",
    "<memory unit='MiB'>2048</memory>", "<memory unit='M'>2048</memory>",
    "<memory unit='GiB'>2</memory>", "<memory unit='G'>2</memory>",
    "<memory unit='b'>2147484160</memory>", "<memory unit='bytes'>2147483648</memory>"])
def test_memory_in_each_unit_libvirt_accepts_is_read_as_whole_kib(memory):
    """A domain defined by hand may say its memory in any unit: drift is
    judged in KiB (bytes: whole KiB, rounded down)."""
    facts = render.parse_domain("<domain type='kvm'><name>x</name>%s</domain>" % memory)
    assert facts.memory_kib == 2097152 and isinstance(facts.memory_kib, int)


def test_a_bare_template_gets_every_field_and_one_nic_per_bridge(tmp_path):
    """A custom template with only the devices: name, UUID, memory and
    vCPUs are added; an interface without a <source> (user networking)
    does not stop it: the NICs are the guest's bridges'."""
    path = os.path.join(str(tmp_path), 'template.xml')
    with open(path, 'w') as stream:
        stream.write("<domain type='kvm'><devices><disk type='file' device='disk'/>"
                     "<interface type='bridge'><source bridge='*'/></interface>"
                     "<interface type='user'/></devices></domain>")
    want, xml = rendered(template=render.load_template(path))
    facts = render.parse_domain(xml)
    assert (facts.name, facts.uuid, facts.vcpu, facts.memory_kib) == (
        want.name, want.uuid, want.vcpu, want.memory_kib)
    assert facts.nics == want.nics


def test_a_template_keeps_its_driver_options_and_loses_stale_source_and_mac_ones(tmp_path):
    """The driver's other options (io, discard) are the operator's and
    stay; the disk's <source> and the interface's <mac> and <source>
    carry only what the plugin writes, or libvirt would get two sources
    (a file and a block device) or the template's own MAC type."""
    path = os.path.join(str(tmp_path), 'template.xml')
    with open(path, 'w') as stream:
        stream.write(
            "<domain type='kvm'><devices><disk type='file' device='disk'>"
            "<driver name='qemu' type='qcow2' io='native' discard='unmap'/>"
            "<source dev='/dev/vg/old'/></disk>"
            "<interface type='bridge'><mac address='52:54:00:00:00:01' type='static'/>"
            "<source bridge='*' network='default'/></interface></devices></domain>")
    want, xml = rendered(template=render.load_template(path))
    root = ET.fromstring(xml)
    disk = root.find("devices/disk[@device='disk']")
    assert disk.find('source').attrib == {'file': want.disk_path}
    assert (disk.find('driver').get('io'), disk.find('driver').get('discard')) == (
        'native', 'unmap')
    for iface, nic in zip(root.findall('devices/interface'), want.nics):
        assert iface.find('mac').attrib == {'address': nic.mac}
        assert iface.find('source').attrib == {'bridge': nic.bridge}

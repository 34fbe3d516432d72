"""The domain XML the plugin writes by default uses only what libvirt 1.2.9
(MOS, Fuel 8.0/9.0 nodes) knows, and every element and attribute of it is
listed in docs/domain-xml.md with the libvirt release that introduced it.
The guest code calls nothing newer than libvirt-python 1.2.2."""
import itertools
import os
import re
import xml.etree.ElementTree as ET

import pytest

from lab.paths import MIGRATION, REPO, SCRIPTS, put_on_sys_path
put_on_sys_path(SCRIPTS, MIGRATION)

from virt_guests import render, spec  # noqa: E402

DOC = os.path.join(REPO, 'docs', 'domain-xml.md')
NEWEST_ALLOWED = (1, 2, 9)
ROW = re.compile(r'^\| `([^`]+)` \| ([0-9.x]+) \|')
# What hypervisor.py may call: all in libvirt-python 1.2.2.
LIBVIRT_CALLS = set([
    'open', 'registerErrorHandler', 'listAllDomains', 'defineXML',
    'lookupByName', 'lookupByUUIDString', 'XMLDesc', 'isActive', 'autostart', 'setAutostart',
    'create', 'destroy', 'undefine', 'state', 'name', 'ID', 'get_error_message',
    # Paused starts: virDomainCreateWithFlags and START_PAUSED are 0.8.2.
    'createWithFlags', 'resume',
    # Names that libvirt shares with os.close and LOG.info (both 0.x anyway).
    'close', 'info'])


def documented():
    """{path: (major, minor, micro)} from the tables of docs/domain-xml.md."""
    found = {}
    with open(DOC) as stream:
        for line in stream:
            match = ROW.match(line)
            if match:
                since = match.group(2)
                found[match.group(1)] = (0,) if since == '0.x' else tuple(
                    int(part) for part in since.split('.'))
    return found


def xml_paths(xml_text):
    """Paths such as devices/disk/driver@cache; the plugin's own metadata
    namespaces are libvirt's business only up to <metadata>."""
    found = set()

    def walk(element, path):
        if element.tag.startswith('{'):
            return
        found.add(path)
        for name in element.attrib:
            found.add(path + '@' + name)
        for child in element:
            walk(child, child.tag if path == 'domain' else path + '/' + child.tag)
    root = ET.fromstring(xml_text)
    walk(root, 'domain')
    found.discard('domain')
    return found


def guest_xml(**settings):
    section = {'guest_bridges': 'br-fw-admin,br-ex,br-prv',
               'guest_ovs_bridges': 'br-prv'}
    section.update(settings)
    doc = {'uid': '5', 'vms_conf': [{'id': 1}], 'reduced-footprint': section}
    node_spec = spec.build_spec(doc)
    want = render.want(node_spec.guests[0], node_spec.node, node_spec.settings)
    return render.render(render.load_template(), want, node_spec.settings)


GUEST_VARIANTS = [dict(guest_disk_cache=cache, guest_cpu_model=cpu)
                  for cache, cpu in itertools.product(
                      ['none', 'writethrough', 'writeback', 'directsync',
                       'unsafe', 'default'],
                      ['host-model', 'host-passthrough', 'hypervisor-default'])]


def check(paths):
    table = documented()
    unlisted = sorted(p for p in paths if p not in table)
    newer = sorted('%s (%s)' % (p, '.'.join(str(n) for n in table[p]))
                   for p in paths if p in table and table[p] > NEWEST_ALLOWED)
    assert not unlisted, 'not in docs/domain-xml.md: %s' % ', '.join(unlisted)
    assert not newer, 'newer than libvirt 1.2.9: %s' % ', '.join(newer)


def test_the_table_is_read():
    table = documented()
    assert table['metadata'] == (0, 9, 10)
    assert table['devices/interface/virtualport@type'] == (0, 9, 11)
    assert len(table) > 60


@pytest.mark.parametrize('settings', GUEST_VARIANTS,
                         ids=['%(guest_disk_cache)s-%(guest_cpu_model)s' % v
                              for v in GUEST_VARIANTS])
def test_guest_xml_uses_only_listed_features_of_libvirt_1_2_9(settings):
    paths = xml_paths(guest_xml(**settings))
    assert 'devices/interface/virtualport@type' in paths  # br-prv is OVS
    check(paths)


def test_a_feature_missing_from_the_table_is_caught():
    # The check is only worth something if it flags what is not listed.
    xml = guest_xml().replace('<devices>', '<devices><rng model="virtio"/>')
    with pytest.raises(AssertionError) as caught:
        check(xml_paths(xml))
    assert 'devices/rng' in str(caught.value)


def test_migrated_master_xml_uses_only_listed_features():
    from master_migration import template
    from master_migration.facts import Facts

    class Params(object):
        name, admin_address, memory_mib, vcpus = 'fuel_master', '10.20.0.2', 2048, 2
        virt_type, admin_interface, admin_mac = 'kvm', 'eth0', '52:54:00:12:34:56'
        admin_bridge, admin_nic_xml = 'br-fw-admin', ''
    facts = Facts({'domain_uuid': '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
                   'root_uuid': '1b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
                   'image': '/var/lib/nova/fuel_master.img',
                   'nics': [{'interface': 'eth1', 'mac': '52:54:00:12:34:57',
                             'bridge': 'br-ex', 'extra_xml': ''}]})
    check(xml_paths(template.render_domain(Params(), facts)))


def test_guest_code_calls_only_libvirt_python_1_2_2_api():
    libvirt = pytest.importorskip('libvirt')
    api = set(dir(libvirt.virConnect)) | set(dir(libvirt.virDomain)) | set(
        dir(libvirt)) | set(['get_error_message'])
    with open(os.path.join(REPO, 'deployment_scripts', 'virt_guests',
                           'hypervisor.py')) as stream:
        source = stream.read()
    called = set(re.findall(r'\.([A-Za-z_]+)\(', source)) & api
    constants = set(re.findall(r'libvirt\.(VIR_[A-Z_]+)', source))
    assert called - LIBVIRT_CALLS == set()
    # The domain states of libvirt 0.9.11 (PMSUSPENDED is the newest).
    states = set('VIR_DOMAIN_' + name for name in (
        'NOSTATE', 'RUNNING', 'BLOCKED', 'PAUSED', 'SHUTDOWN', 'SHUTOFF',
        'CRASHED', 'PMSUSPENDED'))
    # listAllDomains' filters of libvirt 0.9.13.
    listing = set('VIR_CONNECT_LIST_DOMAINS_' + name for name in ('ACTIVE', 'AUTOSTART'))
    # START_PAUSED: 0.8.2; INVALID_ARG (a driver without the flag): 0.x.
    other = set(['VIR_DOMAIN_START_PAUSED', 'VIR_ERR_INVALID_ARG'])
    assert constants <= states | listing | other, constants - states - listing - other

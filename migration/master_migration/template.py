"""Guest domain XML from the template shipped in the package. Renders only:
no libvirt, no policy."""
from __future__ import absolute_import, division, print_function

import pkgutil
import string
from xml.sax.saxutils import escape, quoteattr

NAMESPACE = 'http://fuel-plugin-reduced-footprint/xmlns/rf-migrate-master/1'

INTERFACE = """    <interface type='bridge'>
      <mac address=%(mac)s/>
      <source bridge=%(bridge)s/>
      <model type='virtio'/>%(extra)s
    </interface>"""


def load_template():
    return pkgutil.get_data('master_migration',
                            'domain.xml.in').decode('utf-8')


def render_interface(mac, bridge, extra_xml=''):
    extra = ('\n      ' + extra_xml.strip()) if extra_xml.strip() else ''
    return INTERFACE % {'mac': quoteattr(mac), 'bridge': quoteattr(bridge),
                        'extra': extra}


def guest_nics(params, facts):
    """Admin NIC first (it becomes eth0 in the guest), then the others in
    the order given: each with the old master's MAC."""
    nics = [{'interface': params.admin_interface, 'mac': params.admin_mac,
             'bridge': params.admin_bridge,
             'extra_xml': params.admin_nic_xml}]
    return nics + list(facts.nics)


def render_domain(params, facts):
    interfaces = '\n'.join(
        render_interface(n['mac'], n['bridge'], n.get('extra_xml') or '')
        for n in guest_nics(params, facts))
    values = {'name': escape(params.name), 'uuid': facts.domain_uuid,
              'virt_type': getattr(params, 'virt_type', 'kvm'),
              'namespace': NAMESPACE,
              'admin_address': escape(params.admin_address),
              'root_uuid': facts.root_uuid,
              'memory_mib': params.memory_mib, 'vcpus': params.vcpus,
              'disk_path': escape(facts.image), 'interfaces': interfaces}
    return string.Template(load_template()).substitute(values)

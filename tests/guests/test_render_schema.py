"""The domain XML the guest package renders passes libvirt's own schema
(virt-xml-validate, from libvirt-clients). The rest of render is unit-tested
in tests/unit/guests/test_render.py."""
import shutil
import subprocess

import pytest

from guestlib import astute_doc
from virt_guests import render, spec

SETTINGS = {'guest_disk_dir': '/srv/vms', 'guest_disk_format': 'raw',
            'guest_disk_cache': 'writeback', 'guest_cpu_model': 'host-passthrough',
            'guest_ovs_bridges': 'br-prv', 'guest_vnc_listen': '10.20.0.5'}


def rendered_xml(settings):
    doc = astute_doc([{'id': 7, 'cpu': 3, 'mem': 3, 'vda_size': '20G'}],
                     settings=settings, uid='12', bridges=('br-fw-admin', 'br-prv'))
    result = spec.build_spec(doc)
    want = render.want(result.guests[0], result.node, result.settings)
    return render.render(render.load_template(), want, result.settings)


@pytest.mark.skipif(not shutil.which('virt-xml-validate'), reason='needs libvirt-clients')
@pytest.mark.parametrize('settings', [
    SETTINGS, {}, dict(SETTINGS, guest_cpu_model='hypervisor-default')])
def test_rendered_xml_passes_libvirt_schema(tmp_path, settings):
    path = tmp_path / 'domain.xml'
    path.write_text(rendered_xml(settings))
    check = subprocess.run(['virt-xml-validate', str(path), 'domain'],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
    assert check.returncode == 0, check.stdout

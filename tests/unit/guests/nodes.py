"""astute.yaml documents of a test virt node, as nailgun writes them.
Python 2.7 and 3: used by the unit tests here and by tests/guests."""
from __future__ import absolute_import, division, print_function

from lab.paths import REPO, SCRIPTS  # noqa: F401 (REPO: for the suites)
TEST_NODE_UID = '97'


def astute_doc(guests, settings=None, uid=TEST_NODE_UID, bridges=('rfg-adm',)):
    """An astute.yaml mapping as nailgun writes it for a virt node."""
    section = {'metadata': {'enabled': True, 'label': 'Reduced footprint'},
               'guest_bridges': ','.join(bridges), 'host_reserved_mem_gib': '0'}
    section.update(settings or {})
    return {
        'uid': uid, 'fqdn': 'node-%s.test.domain.local' % uid, 'roles': ['virt'],
        'vms_conf': guests, 'reduced-footprint': section,
        'network_scheme': {'transformations': [
            {'action': 'add-br', 'name': name} for name in bridges]},
    }

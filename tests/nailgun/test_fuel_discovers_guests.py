"""Discovered by Fuel, end to end (docs/discovery-proof.md).

The real nailgun 9.0, with the plugin installed by `fuel plugins --install`,
answers on the lab's admin network (lab/discovery_lab.py). The plugin's tasks
run on the lab's virt node (this host) from the astute.yaml nailgun
serializes for it; the guests PXE-boot the lab's bootstrap (Debian's kernel,
ruby and ohai, Fuel's real nailgun-agent: lab/bootstrap_image.py) and the
agent reports each one to nailgun. Each must be listed by GET /api/nodes as a
new unallocated node with the admin MAC the plugin gave it and the vCPUs,
memory and disk of its vms_conf entry, within DISCOVERY_SECONDS of the guest
task's start, and take the controller role. Then a guest removed and added
again comes back as the same node, while a guest whose admin bridge is not
the PXE network never appears and is the one `virt-guests status` lists
with a MAC nailgun does not know.

Guests run under TCG (domain type 'qemu' through the operator's template
override, as tests/guests/test_discovery.py explains)."""
import os
import uuid

import libvirt
import pytest

from discovery_flow import GIB, GUESTS, URI, Consoles, VirtNode, nodes_by_mac, wait_listed
from nailgun_suite import start_nailgun

from lab import bootstrap_image, discovery_lab

pytestmark = [pytest.mark.kvm, pytest.mark.slow]

# Under TCG on two shared cores: PXE, the kernel and a 50 MB initramfs over
# HTTP, ohai, and the agent's own random sleep of up to 30 s before it
# reports. Measured 87-175 s per guest here, 266 s for the re-added one,
# with another engineer's 20 guests on the same cores (docs/discovery-proof.md).
DISCOVERY_SECONDS = int(os.environ.get('RFD_DISCOVERY_SECONDS', 480))
ISOLATED = {'id': 9773, 'cpu': 1, 'mem': 1, 'vda_size': '1G'}


@pytest.fixture(scope='module')
def fuel(tmp_path_factory, postgres, rf_virt_rpm):
    """nailgun 9.0 with the rf-virt package installed, as on a master."""
    server = start_nailgun('9.0', tmp_path_factory, postgres, name='discovery')
    result = server.fuel('plugins', '--install', rf_virt_rpm)
    assert result.returncode == 0, result.stdout + result.stderr
    yield server
    server.stop()


@pytest.fixture(scope='module')
def lab(fuel, tmp_path_factory, system_libvirt):
    """The admin network with nailgun on it, the bootstrap, a disk folder."""
    why = bootstrap_image.unavailable()
    if why:
        pytest.skip(why)
    bootstrap, _ = bootstrap_image.cached_bootstrap()
    tmp = tmp_path_factory.mktemp('discovery')
    disk_dir = '/var/lib/libvirt/images/rfd-{0}'.format(uuid.uuid4().hex[:8])
    conn = libvirt.open(URI)
    discovery_lab.remove_guests(conn)
    network = discovery_lab.AdminNetwork(tmp / 'master', bootstrap, fuel.port)
    (tmp / 'master').mkdir()
    try:
        network.start().wait_ready()
        yield tmp, disk_dir
    finally:
        discovery_lab.remove_guests(conn, disk_dir)
        conn.close()
        network.stop()


@pytest.fixture(scope='module')
def discovered(fuel, lab):
    """The virt node's guests made from nailgun's astute.yaml, and the
    seconds from the guest task's start until nailgun listed each."""
    tmp, disk_dir = lab
    node = VirtNode(fuel, disk_dir, tmp)
    before = set(nodes_by_mac(fuel))
    started = node.run_tasks()
    consoles = Consoles(tmp)
    for guest in GUESTS:
        consoles.follow('{0}_vm'.format(guest['id']))
    macs = [node.mac(g) for g in GUESTS]
    seen = wait_listed(fuel, macs, started, DISCOVERY_SECONDS)
    print('seconds from the guest task start until nailgun lists the guest: %s' % dict(
        ('{0}_vm'.format(g['id']), round(seen[node.mac(g)], 1))
        for g in GUESTS if node.mac(g) in seen))
    node.consoles, node.seen, node.before = consoles, seen, before
    return node


def test_each_guest_is_a_new_unallocated_node_with_its_vms_conf(fuel, discovered):
    node = discovered
    macs = [node.mac(g) for g in GUESTS]
    assert not set(macs) & node.before
    assert len(node.seen) == len(macs), (
        'not listed by nailgun within {0} s: {1}\nseen: {2}\n{3}'.format(
            DISCOVERY_SECONDS, sorted(set(macs) - set(node.seen)), node.seen,
            node.consoles.tail()))
    listed = nodes_by_mac(fuel)
    assert len(listed) == len(node.before) + len(GUESTS)
    for guest in GUESTS:
        found = listed[node.mac(guest)]
        assert found['status'] == 'discover' and found['cluster'] is None
        assert found['pending_addition'] is False and found['roles'] == []
        meta = found['meta']
        assert meta['cpu']['total'] == guest['cpu'], meta['cpu']
        assert meta['memory']['total'] == guest['mem'] * GIB, meta['memory']
        assert [d['size'] for d in meta['disks']] == [int(guest['vda_size'][:-1]) * GIB], \
            meta['disks']
        # One NIC per guest bridge, the admin one first.
        assert sorted(i['mac'].lower() for i in meta['interfaces']) == sorted(
            node.mac(guest, n) for n in range(2)), meta['interfaces']


def test_the_controller_role_can_be_given_to_each_guest(fuel, discovered):
    node = discovered
    listed = nodes_by_mac(fuel)
    for guest in GUESTS:
        found = listed.get(node.mac(guest))
        assert found, 'guest {0} was not discovered'.format(guest['id'])
        node.env.assign(found['id'], ['controller'])
        assigned = fuel.get('/api/nodes/{0}'.format(found['id']))
        assert assigned['cluster'] == node.env.id
        assert assigned['pending_roles'] == ['controller'] and assigned['pending_addition']


def test_a_readded_guest_is_the_same_node_and_one_off_the_pxe_network_never_appears(
        fuel, discovered):
    node = discovered
    back, kept = GUESTS[1], GUESTS[0]
    listed = nodes_by_mac(fuel)
    assert node.mac(back) in listed, 'guest {0} was not discovered'.format(back['id'])
    old = listed[node.mac(back)]
    # The operator takes the guest out of vms_conf; nailgun's assassin marks
    # a node that stopped reporting offline (the lab has no assassind).
    node.env.set_vms_conf(node.id, [kept, ISOLATED])
    # ... and, by mistake, the first guest bridge is not the admin network.
    node.env.set_plugin(guest_bridges='{0},{1}'.format(discovery_lab.ISOLATED,
                                                       discovery_lab.OTHER))
    node.run_tasks()
    conn = libvirt.open(URI)
    try:
        names = [d.name() for d in conn.listAllDomains(0)]
    finally:
        conn.close()
    assert '{0}_vm'.format(back['id']) not in names and '9773_vm' in names
    fuel.put('/api/nodes/', [{'id': old['id'], 'online': False}])
    # The guest comes back: the bridges right again, vms_conf as before.
    node.env.set_plugin(guest_bridges='{0},{1}'.format(discovery_lab.ADMIN,
                                                       discovery_lab.OTHER))
    node.env.set_vms_conf(node.id, GUESTS + [ISOLATED])
    started = node.run_tasks()
    node.consoles.follow('{0}_vm'.format(back['id']))
    seen = wait_listed(fuel, [node.mac(back)], started, DISCOVERY_SECONDS,
                       ready=lambda n: n['online'])
    print('seconds from the guest task start until the re-added guest is back online: %s'
          % seen)
    assert seen, 'the re-added guest did not report within {0} s\n{1}'.format(
        DISCOVERY_SECONDS, node.consoles.tail())
    now = nodes_by_mac(fuel)
    again = now[node.mac(back)]
    assert again['id'] == old['id'] and again['pending_roles'] == ['controller']
    assert len(now) == len(listed)
    # The guest on the wrong bridge booted as long as the one that came
    # back, and longer than any guest took to appear: nailgun never saw it.
    isolated_mac = node.mac(ISOLATED)
    assert isolated_mac not in now
    # What the operator compares (docs/guests.md): the admin MACs of
    # `virt-guests status` with the MACs of `fuel node list`.
    status = node.status()
    line = [s for s in status.splitlines() if s.startswith('9773_vm')]
    assert line and isolated_mac in line[0], status

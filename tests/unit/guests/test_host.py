"""Host checks over facts: each refusal says what is short and by how much.
(fix_kvm on a device file needs root: tests/guests/test_host_root.py.)"""
from __future__ import absolute_import, division, print_function

import os

import pytest

from nodes import astute_doc
from virt_guests import host, spec

GIB_KIB = 1024 * 1024


def facts(**changes):
    good = host.HostFacts(
        kvm=host.KvmFacts(True, 'kvm', 0o660), qemu_user='libvirt-qemu',
        qemu_groups=frozenset(['kvm', 'libvirt-qemu']),
        bridges={'br-fw-admin': host.LINUX, 'br-prv': host.OVS},
        mem_total_kib=16 * GIB_KIB, cpu_count=8, disk_free_bytes=500 * 1024 ** 3)
    return good._replace(**changes)


def node_spec(guests=None, **settings):
    values = {'guest_bridges': 'br-fw-admin,br-prv', 'guest_ovs_bridges': 'br-prv',
              'host_reserved_mem_gib': '2'}
    values.update(settings)
    doc = astute_doc(guests or [{'id': 1, 'mem': 4, 'cpu': 2}, {'id': 2, 'mem': 4}],
                     settings=values, bridges=('br-fw-admin',))
    return spec.build_spec(doc)


def test_a_node_that_fits_passes():
    assert host.check_host(node_spec(), facts(), [70 * 1024 ** 3] * 2) == []


def test_missing_kvm_is_refused():
    (problem,) = host.check_host(node_spec(), facts(kvm=host.KvmFacts(False, None, 0)), [])
    assert 'no /dev/kvm' in problem and 'VT-x' in problem


def test_root_only_kvm_is_refused_for_an_unprivileged_qemu():
    (problem,) = host.check_host(node_spec(), facts(kvm=host.KvmFacts(True, 'root', 0o600)), [])
    assert 'group root mode 0600' in problem and 'libvirt-qemu' in problem


def test_qemu_user_outside_the_kvm_group_is_refused():
    (problem,) = host.check_host(node_spec(), facts(qemu_groups=frozenset(['libvirt-qemu'])), [])
    assert 'libvirt-qemu in group kvm' in problem


def test_qemu_as_root_needs_no_group():
    result = host.check_host(node_spec(), facts(kvm=host.KvmFacts(True, 'root', 0o600),
                                                qemu_user='root'), [])
    assert result == []


def test_missing_bridge_is_refused_with_a_hint():
    problems = host.check_host(node_spec(), facts(bridges={'br-fw-admin': host.LINUX}), [])
    assert problems == ['bridge br-prv is missing on this node (not in network_scheme '
                        'either: fix guest_bridges)']
    problems = host.check_host(node_spec(), facts(bridges={'br-prv': host.OVS}), [])
    assert problems == ['bridge br-fw-admin is missing on this node (network_scheme '
                        'has it: did netconfig run?)']


def test_bridge_kind_must_match_the_ovs_setting():
    problems = host.check_host(node_spec(guest_ovs_bridges=''), facts(), [])
    assert problems == ['bridge br-prv is an Open vSwitch bridge: add it to guest_ovs_bridges']
    problems = host.check_host(node_spec(), facts(bridges={'br-fw-admin': host.LINUX,
                                                           'br-prv': host.LINUX}), [])
    assert 'br-prv is listed in guest_ovs_bridges but is a Linux bridge' in problems[0]


def test_memory_short_by_is_reported():
    # 4 + 4 GiB of guests + 2 GiB reserve on a 9 GiB node: 1 GiB short.
    (problem,) = host.check_host(node_spec(), facts(mem_total_kib=9 * GIB_KIB), [])
    assert problem.startswith('memory: guests need 8.0 GiB plus 2.0 GiB kept for the '
                              'host, the node has 9.0 GiB: short by 1.0 GiB')


def test_memory_overcommit_setting_lifts_the_limit():
    result = host.check_host(node_spec(allow_mem_overcommit=True),
                             facts(mem_total_kib=1 * GIB_KIB), [])
    assert result == []


def test_guest_larger_than_the_host_cpus_is_refused():
    (problem,) = host.check_host(node_spec([{'id': 1, 'cpu': 12}]), facts(), [])
    assert problem == 'guest 1_vm: 12 vCPUs, the node has 8: short by 4'


def test_vcpus_of_several_guests_may_share_host_cpus():
    guests = [{'id': i, 'cpu': 8, 'mem': 1} for i in (1, 2, 3)]
    assert host.check_host(node_spec(guests), facts(), []) == []


TEN_10G = [10 * 1024 ** 3] * 10
FREE_77G = 77 * 1024 ** 3


def test_raw_disks_count_at_full_size():
    (problem,) = host.check_host(node_spec(guest_disk_format='raw'),
                                 facts(disk_free_bytes=FREE_77G), TEN_10G)
    assert problem == ('disk space in /var/lib/nova: new raw images need 100.0 GiB '
                       '(full size), 77.0 GiB free: short by 23.0 GiB')


def test_thin_qcow2_disks_pass_with_the_over_commit_as_a_warning():
    """Ten 10G qcow2 guests on 77 GiB free: allowed, the figure is told."""
    wanted, found = node_spec(), facts(disk_free_bytes=FREE_77G)
    assert host.check_host(wanted, found, TEN_10G) == []
    assert host.disk_warnings(wanted, found, TEN_10G) == [
        'disk space in /var/lib/nova: qcow2 images may grow to 100.0 GiB, 77.0 GiB '
        'free: over-committed by 23.0 GiB (guests pause if the disk fills; '
        'strict_disk_space refuses this)']


def test_qcow2_that_fits_at_full_size_gives_no_warning():
    found = facts(disk_free_bytes=101 * 1024 ** 3)
    assert host.disk_warnings(node_spec(), found, TEN_10G) == []


def test_strict_disk_space_refuses_the_qcow2_over_commit():
    wanted = node_spec(strict_disk_space=True)
    (problem,) = host.check_host(wanted, facts(disk_free_bytes=FREE_77G), TEN_10G)
    assert problem == ('disk space in /var/lib/nova: new qcow2 images need 100.0 GiB '
                       '(full size, strict_disk_space is on), 77.0 GiB free: short by 23.0 GiB')
    assert host.disk_warnings(wanted, facts(disk_free_bytes=FREE_77G), TEN_10G) == []


def test_qcow2_still_needs_its_metadata_and_a_margin_now():
    """Ten new qcow2 images on 0.5 GiB free: 10 MiB now plus 1 GiB margin."""
    (problem,) = host.check_host(node_spec(), facts(disk_free_bytes=512 * 1024 ** 2),
                                 TEN_10G)
    assert problem == ('disk space in /var/lib/nova: new qcow2 images need 0.0 GiB now '
                       '(10 MiB of metadata) plus 1.0 GiB to grow, 0.5 GiB free: '
                       'short by 0.5 GiB')


def test_all_problems_are_reported_together():
    bad = facts(kvm=host.KvmFacts(False, None, 0), bridges={}, mem_total_kib=GIB_KIB,
                cpu_count=1, disk_free_bytes=0)
    assert len(host.check_host(node_spec(), bad, [1])) == 7


@pytest.mark.parametrize('text,expected', [
    ('MemTotal:       24531556 kB\nMemFree: 1 kB\n', 24531556),
    ('MemFree: 1 kB\n', None)])
def test_parse_meminfo(text, expected):
    assert host.parse_meminfo(text) == expected


@pytest.mark.parametrize('text,expected', [
    ('#user = "root"\n', 'libvirt-qemu'),
    ('user = "qemu"\ngroup = "kvm"\n', 'qemu'),
    ('  user="root"\n', 'root')])
def test_parse_qemu_user(text, expected):
    assert host.parse_qemu_user(text) == expected


def test_free_bytes_looks_at_the_nearest_existing_parent(tmp_path):
    assert host.free_bytes(os.path.join(str(tmp_path), 'not', 'yet')) > 0

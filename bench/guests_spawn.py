#!/usr/bin/env python3
"""Spawn N small KVM guests with `virt-guests apply` (N = 1, 5, 10, 20) and
print the wall time until all are running, with the default parallelism and
with --parallel 1 in the same run (ratio), and the time of a no-op re-run.
Each size runs under both Pythons the shipped code supports, each alone on
PATH as on a Fuel node (Python 2.7: a stock 8.0/9.0 node; python3: later
systems), and the last column is python2.7's time over python3's.

Run as root on a machine prepared by `tools/setup test`:
    .venv/bin/python bench/guests_spawn.py [N ...]
Guests: 128 MiB, 1 vCPU, 1M qcow2, on a bridge rfg-bench; ids 9001-9020.
Everything it creates is removed at the end, also on failure.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import libvirt
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests'))
from lab import interpreters, kvm  # noqa: E402
URI = 'qemu:///system'
BRIDGE = 'rfg-bench'
NS = 'https://github.com/openstack/fuel-plugin-reduced-footprint/guest/1.0'


def astute(count, disk_dir):
    guests = [{'id': 9001 + i, 'cpu': 1, 'mem_mib': 128, 'vda_size': '1M'}
              for i in range(count)]
    return {'uid': '98', 'roles': ['virt'], 'vms_conf': guests,
            'reduced-footprint': {'guest_bridges': BRIDGE, 'guest_disk_dir': disk_dir,
                                  'guest_disk_cache': 'unsafe',
                                  'guest_cpu_model': kvm.guest_cpu_model(URI),
                                  'host_reserved_mem_gib': '0'}}


def timed_apply(workdir, node_path, extra=()):
    env = dict(os.environ, PATH=node_path,
               RF_ASTUTE_YAML=os.path.join(workdir, 'astute.yaml'),
               RF_VIRT_GUESTS_LOG=os.path.join(workdir, 'virt-guests.log'))
    start = time.time()
    result = subprocess.run(['sh', 'virt-guests', 'apply'] + list(extra),
                            cwd=os.path.join(workdir, 'plugin'), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    elapsed = time.time() - start
    if result.returncode != 0:
        raise SystemExit('apply failed:\n' + result.stdout)
    return elapsed, result.stdout


def bench_domains(conn):
    found = []
    for domain in conn.listAllDomains(0):
        name = domain.name()
        if name.endswith('_vm') and name[:-3].isdigit() and 9001 <= int(name[:-3]) <= 9099:
            if ET.fromstring(domain.XMLDesc(0)).find('metadata/{%s}guest' % NS) is not None:
                found.append(domain)
    return found


def remove_guests(conn, disk_dir):
    for domain in bench_domains(conn):
        if domain.isActive():
            domain.destroy()
        domain.undefine()
    shutil.rmtree(disk_dir, ignore_errors=True)


def running_count(conn):
    return sum(1 for d in bench_domains(conn) if d.isActive())


def one_size(conn, workdir, disk_dir, count, node_path):
    with open(os.path.join(workdir, 'astute.yaml'), 'w') as stream:
        yaml.safe_dump(astute(count, disk_dir), stream)
    parallel, _ = timed_apply(workdir, node_path)
    assert running_count(conn) == count
    noop, out = timed_apply(workdir, node_path)
    assert 'nothing to do' in out, out
    remove_guests(conn, disk_dir)
    serial, _ = timed_apply(workdir, node_path, ['--parallel', '1'])
    assert running_count(conn) == count
    remove_guests(conn, disk_dir)
    return parallel, serial, noop


def node_paths(workdir):
    """{kind: PATH offering only that Python}, for the kinds installed."""
    paths = {}
    for kind in interpreters.KINDS:
        if interpreters.available(kind):
            paths[kind] = interpreters.only_python(kind, os.path.join(workdir, kind))
        else:
            print('skipped: ' + interpreters.missing_reason(kind))
    return paths


def main(sizes):
    conn = libvirt.open(URI)
    workdir = tempfile.mkdtemp(prefix='rfg-bench-')
    disk_dir = '/var/lib/libvirt/images/rfg-bench-%d' % os.getpid()
    shutil.copytree(os.path.join(REPO, 'deployment_scripts'), os.path.join(workdir, 'plugin'))
    subprocess.run(['ip', 'link', 'add', BRIDGE, 'type', 'bridge'], check=True)
    subprocess.run(['ip', 'link', 'set', BRIDGE, 'up'], check=True)
    try:
        paths = node_paths(workdir)
        for path in paths.values():  # warm-up: libvirt's first qemu start is slow
            one_size(conn, workdir, disk_dir, 1, path)
        print('%4s %-10s %14s %14s %8s %10s %14s' % (
            'N', 'python', 'parallel 4 s', 'parallel 1 s', 'ratio', 'no-op s',
            '2.7/3 spawn'))
        for count in sizes:
            spawn = {}
            for kind in interpreters.KINDS:
                if kind not in paths:
                    continue
                parallel, serial, noop = one_size(conn, workdir, disk_dir, count,
                                                  paths[kind])
                spawn[kind] = parallel
                versus = ('%.2f' % (spawn['python2.7'] / spawn['python3'])
                          if len(spawn) == 2 else '')
                print('%4d %-10s %14.2f %14.2f %8.2f %10.2f %14s' % (
                    count, kind, parallel, serial, serial / parallel, noop, versus))
                sys.stdout.flush()
    finally:
        remove_guests(conn, disk_dir)
        subprocess.run(['ip', 'link', 'del', BRIDGE])
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main([int(n) for n in sys.argv[1:]] or [1, 5, 10, 20])

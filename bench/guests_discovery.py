#!/usr/bin/env python3
"""Seconds from the start of the guest task until the real nailgun lists
each guest (GET /api/nodes), the whole discovery path of
docs/discovery-proof.md: the plugin's tasks from nailgun's astute.yaml,
PXE, the lab's bootstrap, the real nailgun-agent. With --core-script, in
the same run and after the plugin's guests are gone, Fuel's own
generate_vms.sh (fuel-library files/fuel-misc/generate_vms.sh, not in this
repository: give its path) starts guests of the same shape (the plugin's
domain XML, as bench/guests_spawn.py gives it to the script) and its
seconds are printed beside the plugin's.

Guests: 2, as in the test (1 and 2 vCPUs, 1 GiB, 2G and 3G disks), under
TCG; the core script's guests are ids 9774-9775 (nailgun knows 9771-9772's
MACs by then). Everything is named rfd-* and removed at the end, also on
failure. Run as root after `tools/setup test`:
    .venv/bin/python bench/guests_discovery.py [--core-script PATH]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'nailgun'))
import libvirt  # noqa: E402
import pathlib  # noqa: E402
import yaml  # noqa: E402

import discovery_flow  # noqa: E402
import nailgun_lab  # noqa: E402
from lab import bootstrap_image, discovery_lab, plugin_rpm  # noqa: E402
import results  # noqa: E402  (bench/results.py: bench/RESULTS.md)

TIMEOUT = 600
CORE_IDS = {9771: 9774, 9772: 9775}


def core_templates(node, template_dir):
    """<name>.xml for the core script: the plugin's domain XML of
    each guest, renumbered, with the disk size on <source> where the script
    reads it."""
    guests = [dict(g, id=CORE_IDS[g['id']]) for g in discovery_flow.GUESTS]
    astute = yaml.safe_load(open(node.task_env['RF_ASTUTE_YAML']))
    astute['vms_conf'] = guests
    path = os.path.join(template_dir, '..', 'astute-core.yaml')
    with open(path, 'w') as stream:
        yaml.safe_dump(astute, stream)
    env = dict(node.task_env, RF_ASTUTE_YAML=path, RF_VIRT_GUESTS_LOG='')
    out = subprocess.run(['sh', 'virt-guests', 'plan', '--xml'], cwd=str(node.plugin_dir),
                         env=env, check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    sizes = dict(('%d_vm' % g['id'], g['vda_size']) for g in guests)
    for text in re.findall(r'^<domain .*?^</domain>$', out, re.M | re.S):
        name = re.search(r'<name>(.*)</name>', text).group(1)
        text = re.sub(r'(<source file="[^"]*")', r'\1 size="%s"' % sizes[name], text, 1)
        # This script takes the domain's name from the file's name.
        with open(os.path.join(template_dir, '%s.xml' % name), 'w') as stream:
            stream.write(text + '\n')
    return guests


def run(args, tmp):
    postgres = nailgun_lab.Postgres().start()
    fuel = network = None
    disk_dir = '/var/lib/libvirt/images/rfd-bench-%s' % uuid.uuid4().hex[:8]
    conn = libvirt.open(discovery_flow.URI)
    try:
        (tmp / 'rpm').mkdir()
        rpm = plugin_rpm.build(tmp / 'rpm', '--role', 'rf-virt')
        fuel = nailgun_lab.Nailgun('9.0', tmp / 'nailgun', postgres).start()
        assert fuel.fuel('plugins', '--install', rpm).returncode == 0
        bootstrap, built = bootstrap_image.cached_bootstrap()
        print('bootstrap: %s (%s)' % (bootstrap, 'built in %.0f s' % built if built else 'cached'))
        discovery_lab.remove_guests(conn)
        (tmp / 'master').mkdir()
        network = discovery_lab.AdminNetwork(tmp / 'master', bootstrap, fuel.port).start()
        network.wait_ready()
        node = discovery_flow.VirtNode(fuel, disk_dir, tmp)
        started = node.run_tasks()
        macs = [node.mac(g) for g in discovery_flow.GUESTS]
        plugin = discovery_flow.wait_listed(fuel, macs, started, TIMEOUT)
        print('plugin: %s' % dict((g['id'], plugin.get(node.mac(g)))
                                  for g in discovery_flow.GUESTS), flush=True)
        core = {}
        if args.core_script:
            discovery_lab.remove_guests(conn)
            top = pathlib.Path(tempfile.mkdtemp(prefix='rfd-core-', dir=str(tmp)))
            (top / 'libvirt' / 'autostart').mkdir(parents=True)
            (top / 'templates').mkdir()
            guests = core_templates(node, str(top / 'templates'))
            env = dict(os.environ, LIBVIRT_DEFAULT_URI=discovery_flow.URI)
            started = time.time()
            result = subprocess.run(['bash', args.core_script, str(top / 'libvirt'),
                                     str(top / 'templates')], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    universal_newlines=True)
            if result.returncode != 0:
                raise SystemExit('the core script failed (exit %d):\n%s'
                                 % (result.returncode, result.stdout))
            core_macs = [node.mac(g) for g in guests]
            found = discovery_flow.wait_listed(fuel, core_macs, started, TIMEOUT)
            core = dict((g['id'], found.get(node.mac(c)))
                        for g, c in zip(discovery_flow.GUESTS, guests))
        print('seconds from the guest task start until nailgun lists the guest '
              '(TCG, 2 guests, timeout %d s)' % TIMEOUT)
        header = ('guest', 'vcpu', 'GiB', 'disk', 'plugin', 'generate_vms.sh')
        print('%-8s %-5s %-4s %-5s %10s %16s' % header)
        for guest in discovery_flow.GUESTS:
            mine = plugin.get(node.mac(guest))
            theirs = core.get(guest['id'])
            print('%-8s %-5s %-4s %-5s %10s %16s' % (
                guest['id'], guest['cpu'], guest['mem'], guest['vda_size'],
                '%.1f' % mine if mine else 'not seen',
                ('%.1f' % theirs if theirs else 'not seen') if args.core_script else '-'))
        return 0 if len(plugin) == len(macs) else 1
    finally:
        discovery_lab.remove_guests(conn, disk_dir)
        conn.close()
        if network:
            network.stop()
        if fuel:
            fuel.stop()
        postgres.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--core-script', metavar='PATH',
                        help="Fuel's generate_vms.sh (fuel-library files/fuel-misc/)")
    args = parser.parse_args()
    if args.core_script and not os.path.isfile(args.core_script):
        parser.error('--core-script %s: no such file' % args.core_script)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix='rfd-bench-'))
    started = time.time()
    try:
        return run(args, tmp)
    finally:
        shutil.rmtree(str(tmp), ignore_errors=True)
        print('total %.0f s' % (time.time() - started))


if __name__ == '__main__':
    sys.exit(results.run_and_record('guests_discovery', main))

#!/usr/bin/env python3
"""The astute.yaml that the real nailgun (8.0, 9.0) serializes for a virt
node, for bench/guests_check.py: made once with the nailgun lab and cached
outside git (generated files are never committed), keyed by the nailgun
archive, the plugin's settings and this file.

The environment is a usual two-server one grown to a small cloud: the virt
node (rf-virt + compute) with 20 guests, three controllers and `computes`
computes (every node's addresses and roles are in each node's
network_metadata: 2 computes make 9.0's file 80 KB, 8 make it larger than
the largest upstream fixture, fuel-noop-fixtures' 89 KB).

    .venv/bin/python tests/nailgun/astute_samples.py [RELEASE[:COMPUTES] ...]

prints the cached file of each (made first when missing; default 8.0 and 9.0
with 2 computes).
"""
import hashlib
import os
import pathlib
import shutil
import sys
import tempfile

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import nailgun_lab  # noqa: E402
from lab_env import Environment  # noqa: E402

CACHE = pathlib.Path(os.environ.get('RF_TEST_CACHE', '/var/cache/reduced-footprint-tests'))
GUESTS = [{'id': n, 'cpu': 2, 'mem': 4, 'vda_size': '100G'} for n in range(1, 21)]
KEYED = ('environment_config.yaml', 'metadata.yaml', 'node_roles.yaml',
         'deployment_tasks.yaml', 'volumes.yaml')


def key(release, computes):
    digest = hashlib.sha1(str(computes).encode())
    archive = nailgun_lab.UPSTREAM / 'fuel-web-{0}-nailgun.tar.gz'.format(release)
    for path in [archive, pathlib.Path(__file__)] + [nailgun_lab.REPO / k for k in KEYED]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cached(release, computes=2):
    """The path of the cached astute.yaml of `release` (made when missing),
    or None with the reason when the lab is not set up."""
    why = nailgun_lab.unavailable(release)
    if why:
        return None, why
    name = 'rfy-astute-{0}-{1}-{2}.yaml'.format(release, computes, key(release, computes))
    path = CACHE / name
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        doc = generate(release, computes)
        tmp = path.with_suffix('.tmp')
        tmp.write_text(yaml.safe_dump(doc, default_flow_style=False))
        tmp.rename(path)
    return path, None


def generate(release, computes):
    from lab import plugin_rpm
    work = pathlib.Path(tempfile.mkdtemp(prefix='rfy-astute-'))
    postgres = nailgun_lab.Postgres().start()
    server = None
    try:
        rpm = plugin_rpm.build(work / 'rpm', '--role', 'rf-virt')
        server = nailgun_lab.Nailgun(release, work / 'nailgun', postgres).start()
        result = server.fuel('plugins', '--install', rpm)
        assert result.returncode == 0, result.stdout + result.stderr
        env = Environment.create(server, 'rfy-bench')
        env.set_plugin(enabled=True)
        virt = env.add_node(['rf-virt', 'compute'])
        others = [env.add_node(['controller']) for _ in range(3)]
        others += [env.add_node(['compute']) for _ in range(computes)]
        env.set_vms_conf(virt, GUESTS)
        env.provisioned(virt, *others)
        docs = env.astute_yaml(virt)
        # 8.0 serializes one per role: the rf-virt one is what our tasks read.
        return [d for d in docs if d.get('role', 'rf-virt') == 'rf-virt'][0]
    finally:
        if server:
            server.stop()
        postgres.stop()
        shutil.rmtree(str(work), ignore_errors=True)


def main(args):
    for arg in args or sorted(nailgun_lab.RELEASES):
        release, _, computes = arg.partition(':')
        path, why = cached(release, int(computes or 2))
        print(path or 'skipped: ' + why)


if __name__ == '__main__':
    sys.path.insert(0, str(nailgun_lab.REPO / 'tests'))
    main(sys.argv[1:])

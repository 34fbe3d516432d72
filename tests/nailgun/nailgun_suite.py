"""Helpers of the nailgun suite that its tests import (conftest.py is not
importable by name when several suites run together)."""
import json
import subprocess
import sys

import pytest
import yaml

import nailgun_lab
from lab import shipped

# The guest suites' task environment: one Python on PATH, the node's files.
sys.path.insert(0, str(nailgun_lab.REPO / 'tests' / 'guests'))
from guestlib import task_env  # noqa: E402


def start_nailgun(release, tmp_path_factory, postgres, name='nailgun'):
    why = nailgun_lab.unavailable(release)
    if why:
        pytest.skip(why)
    root = tmp_path_factory.mktemp('{0}-{1}'.format(name, release))
    return nailgun_lab.Nailgun(release, root, postgres).start()


def run_check(astute, tmp_path):
    """`virt-guests check` on an astute.yaml that nailgun serialized, as on a
    node whose Python is python3 with PyYAML and jsonschema."""
    path = tmp_path / 'astute.yaml'
    path.write_text(yaml.safe_dump(astute))
    plugin = tmp_path / 'deployment_scripts'  # as on the node, with rf_common
    if not plugin.exists():
        shipped.node_scripts(plugin)
    env = task_env(path, tmp_path / 'virt-guests.log')
    return subprocess.run(['sh', str(plugin / 'virt-guests'), 'check'], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120)


def dump(value):
    return json.dumps(value, indent=1, sort_keys=True)[:3000]

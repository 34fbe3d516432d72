"""What a re-run of the deployment task (`virt-guests apply` with nothing
else on the command line, the input unchanged) loads before it asks
libvirt: nothing that only another command line or a first run needs."""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys
import uuid

import yaml

from nodes import SCRIPTS, astute_doc
from virt_guests import cli, render

HEAVY = ('argparse', 'uuid', 'yaml', 'jsonschema')


def loaded_by_apply(tmpdir):
    """The HEAVY modules in sys.modules once `apply` has read its input."""
    path = str(tmpdir.join('astute.yaml'))
    with open(path, 'w') as stream:
        yaml.safe_dump(astute_doc([{'id': 1}, {'id': 2}]), stream)
    code = ('import sys; from virt_guests import cli; args = cli.parse_args(["apply"]); '
            'assert [w.name for w, _ in cli.load_desired(args.astute).wants] == '
            '["1_vm", "2_vm"]; '
            'print(" ".join(m for m in %r if m in sys.modules))' % (HEAVY,))
    env = dict(os.environ, PYTHONPATH=SCRIPTS, RF_ASTUTE_YAML=path,
               RF_VIRT_GUESTS_CACHE=str(tmpdir.join('cache')))
    out = subprocess.check_output([sys.executable, '-c', code], env=env)
    return out.decode('ascii').split()


def test_a_re_run_of_apply_loads_neither_argparse_nor_uuid(tmpdir):
    assert loaded_by_apply(tmpdir) == ['yaml', 'jsonschema']  # first run: validates
    assert loaded_by_apply(tmpdir) == []


def test_apply_alone_gives_the_arguments_argparse_gives(monkeypatch):
    monkeypatch.setenv('RF_ASTUTE_YAML', '/tmp/a.yaml')
    monkeypatch.setenv('RF_LIBVIRT_URI', 'test:///default')
    monkeypatch.delenv('RF_VIRT_GUESTS_LOG', raising=False)
    fast = vars(cli.parse_args(['apply']))
    # --parallel 4 is the default: it only makes the command line longer.
    full = vars(cli.parse_args(['apply', '--parallel', '4']))
    assert fast == full
    assert fast['astute'] == '/tmp/a.yaml' and fast['connect'] == 'test:///default'
    assert fast['log_file'] == cli.DEFAULT_LOG and fast['command'] == 'apply'


def test_guest_uuids_are_rfc_4122_name_based_sha1():
    """The same UUIDs as uuid.uuid5 (releases before 1.0 used it): a guest
    keeps its UUID across an upgrade."""
    for node_uid, guest_id in (('12', 7), ('1', 1), ('250', 9020)):
        name = 'reduced-footprint/%s/%d' % (node_uid, guest_id)
        assert render.guest_uuid(node_uid, guest_id) == str(
            uuid.uuid5(uuid.UUID('5d3c9e2a-8f0e-4c61-9a59-7c0f3b1f2e41'), name))

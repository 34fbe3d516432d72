"""What a re-run of the deployment task (`virt-guests apply` with nothing
else on the command line, the input unchanged) loads before it asks
libvirt: nothing that only another command line or a first run needs."""
from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys
import uuid

import pytest
import yaml

from lab.paths import pythonpath
from lab.shipped import node_scripts
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
    env = dict(os.environ, PYTHONPATH=pythonpath(SCRIPTS), RF_ASTUTE_YAML=path,
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
    assert fast['parallel'] == 4 and fast['dry_run'] is False


@pytest.mark.parametrize('command', ['check', 'plan', 'apply', 'status'])
def test_a_command_alone_gives_what_argparse_gives_for_it(monkeypatch, command):
    """Taken from the same tables without argparse, the values are those the
    parser built from them gives."""
    monkeypatch.setenv('RF_VIRT_GUESTS_LOG', '')
    fast = cli.parse_args([command])
    parsed = cli._parser([command]).parse_args([command], cli.Arguments())
    assert vars(fast) == vars(parsed)
    assert fast.log_file == ''


def test_retire_alone_is_left_to_argparse_which_asks_for_the_name(capsys):
    with pytest.raises(SystemExit) as raised:
        cli.parse_args(['retire'])
    assert raised.value.code == 2
    assert 'NAME' in capsys.readouterr().err


def test_guest_uuids_are_rfc_4122_name_based_sha1():
    """The same UUIDs as uuid.uuid5 (releases before 1.0 used it): a guest
    keeps its UUID across an upgrade."""
    for node_uid, guest_id in (('12', 7), ('1', 1), ('250', 9020)):
        name = 'reduced-footprint/%s/%d' % (node_uid, guest_id)
        assert render.guest_uuid(node_uid, guest_id) == str(
            uuid.uuid5(uuid.UUID('5d3c9e2a-8f0e-4c61-9a59-7c0f3b1f2e41'), name))


def run_module(tmpdir, guests, *command):
    """(exit status, stdout) of `python -m virt_guests COMMAND` on guests,
    stdout a pipe, buffered as on a node."""
    path = str(tmpdir.join('astute.yaml'))
    with open(path, 'w') as stream:
        yaml.safe_dump(astute_doc(guests), stream)
    env = dict(os.environ, PYTHONPATH=pythonpath(SCRIPTS), RF_ASTUTE_YAML=path,
               RF_VIRT_GUESTS_LOG=str(tmpdir.join('virt-guests.log')),
               RF_VIRT_GUESTS_CACHE=str(tmpdir.join('cache')))
    env.pop('PYTHONUNBUFFERED', None)
    process = subprocess.Popen([sys.executable, '-m', 'virt_guests'] + list(command),
                               env=env, stdout=subprocess.PIPE)
    out = process.communicate()[0].decode('utf-8')
    return process.returncode, out


def test_all_output_and_the_status_survive_skipping_the_teardown(tmpdir):
    """__main__ ends with os._exit (no module teardown): what a command
    printed to a pipe is all there, and its exit status too."""
    status, out = run_module(tmpdir, [], 'plan', '--json')
    assert status == 0
    assert json.loads(out) == {'actions': [], 'host_problems': [], 'notes': []}
    status, out = run_module(tmpdir, [{'id': 'x'}], 'check')
    assert status == 2
    assert out.splitlines()[-1].startswith('virt-guests:   vms_conf[0].id: got "x"')


@pytest.mark.parametrize('how', ['absolute', 'relative', 'bare name'])
def test_the_launcher_needs_no_program_but_the_python(tmpdir, how):
    """`sh virt-guests` finds its package however it is called, from any
    folder, and starts no helper (dirname, a subshell's programs) on the
    way: the PATH here holds only the Python."""
    bin_dir = tmpdir.mkdir('bin')
    name = 'python%d' % sys.version_info[0] if sys.version_info[0] == 3 else 'python2.7'
    wrapper = bin_dir.join(name)
    wrapper.write('#!/bin/sh\nexec %s "$@"\n' % sys.executable)
    wrapper.chmod(0o755)
    path = str(tmpdir.join('astute.yaml'))
    with open(path, 'w') as stream:
        yaml.safe_dump(astute_doc([]), stream)
    plugin = node_scripts(tmpdir.join('deployment_scripts'))  # with its rf_common
    launcher, cwd = {'absolute': (os.path.join(plugin, 'virt-guests'), str(tmpdir)),
                     'relative': (os.path.join('deployment_scripts', 'virt-guests'),
                                  str(tmpdir)),
                     'bare name': ('virt-guests', plugin)}[how]
    env = dict(os.environ, PATH=str(bin_dir), RF_ASTUTE_YAML=path,
               RF_VIRT_GUESTS_LOG='', RF_VIRT_GUESTS_CACHE=str(tmpdir.join('cache')))
    env.pop('PYTHONPATH', None)
    process = subprocess.Popen(['/bin/sh', launcher, 'plan', '--json'], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = [text.decode('utf-8') for text in process.communicate()]
    assert process.returncode == 0, err
    assert json.loads(out) == {'actions': [], 'host_problems': [], 'notes': []}

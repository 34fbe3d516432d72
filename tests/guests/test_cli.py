"""The task commands as Astute runs them (system python3, cwd = the plugin
directory, astute.yaml given through RF_ASTUTE_YAML), without real KVM."""
import json
import os
import re
import stat
import subprocess

import pytest

from guestlib import astute_doc, run_cmd, task_env, write_astute

GUESTS = [{'id': 9001, 'cpu': 1, 'mem_mib': 256, 'vda_size': '16M'},
          {'id': 9002, 'cpu': 1, 'mem': 1, 'vda_size': '16M'}]


@pytest.fixture
def node(tmp_path, plugin_dir):
    """(write astute.yaml, run a command) for one test node."""
    astute = tmp_path / 'astute.yaml'
    log = tmp_path / 'log' / 'virt-guests.log'

    def run(cmd, doc=None, **env_extra):
        if doc is not None:
            write_astute(astute, doc)
        env = task_env(astute, log)
        env.update(env_extra)
        return run_cmd(cmd, plugin_dir, env, timeout=120)
    run.log = log
    return run


def doc(guests=GUESTS, **settings):
    values = {'guest_disk_dir': '/var/lib/libvirt/images/rfg-cli-never'}
    values.update(settings)
    return astute_doc(guests, settings=values, bridges=('rfg-cli-adm',))


def test_check_accepts_good_input_and_lists_the_guests(node):
    result = node('python3 virt-guests check', doc())
    assert result.returncode == 0, result.stdout
    assert 'guest 9001_vm: 1 vCPU, 256 MiB, disk 16M (qcow2)' in result.stdout
    assert 'input valid: 2 guest(s)' in result.stdout
    assert 'input valid: 2 guest(s)' in node.log.read_text()


def test_check_refuses_bad_input_listing_every_problem(node):
    bad = [{'id': '1;rm -rf /', 'mem': '2'}, {'id': 5, 'vda_size': '9Q'}, {'id': 5}]
    result = node('python3 virt-guests check', doc(bad, guest_disk_format='vmdk'))
    assert result.returncode == 2
    assert '5 problem(s), nothing was changed' in result.stdout
    for text in ('vms_conf[0].id: got "1;rm -rf /" (text); accepted: a whole number >= 1',
                 'vms_conf[0].mem: got "2" (text)',
                 'vms_conf[1] (guest 5).vda_size: got "9Q"',
                 'vms_conf[2] (guest 5).id: got 5 (also in vms_conf[1])',
                 'reduced-footprint.guest_disk_format: got "vmdk"'):
        assert text in result.stdout
    assert '5 problem(s)' in node.log.read_text()


@pytest.mark.parametrize('command', ['check', 'plan', 'apply', 'status'])
def test_bad_input_changes_nothing_for_any_command(node, command):
    result = node('python3 virt-guests %s' % command, doc([{'id': 0}]),
                  RF_LIBVIRT_URI='test:///nonexistent-so-any-connect-fails')
    assert result.returncode == 2, result.stdout
    assert not os.path.exists('/var/lib/libvirt/images/rfg-cli-never')
    assert 'libvirt' not in result.stdout


@pytest.mark.parametrize('vms_conf', [[], None])
@pytest.mark.parametrize('command', ['check', 'apply', 'plan'])
def test_no_guests_is_a_clean_no_op(node, vms_conf, command):
    result = node('python3 virt-guests %s' % command, doc(vms_conf),
                  RF_LIBVIRT_URI='test:///nonexistent-so-any-connect-fails')
    assert result.returncode == 0, result.stdout
    assert 'no guests in vms_conf of node 97: nothing to do' in result.stdout


def test_unusable_override_template_is_bad_input(node, tmp_path):
    result = node('python3 virt-guests check',
                  doc(guest_domain_template=str(tmp_path / 'missing.xml')))
    assert result.returncode == 2
    assert 'domain template %s' % (tmp_path / 'missing.xml') in result.stdout


def test_plan_json_lists_actions_and_changes_nothing(node, make_bridge):
    make_bridge('rfg-cli-adm')
    result = node('python3 virt-guests plan --json --log-file ""', doc(allow_mem_overcommit=True),
                  RF_LIBVIRT_URI='test:///default')
    assert result.returncode == 0, result.stdout
    body = result.stdout[:result.stdout.rindex('}') + 1]
    plan = json.loads(body[body.index('{'):])
    assert [(a['kind'], a['name']) for a in plan['actions']] == [
        (kind, name) for name in ('9001_vm', '9002_vm')
        for kind in ('create-disk', 'define', 'start', 'autostart')]
    assert plan['host_problems'] == []
    assert not os.path.exists('/var/lib/libvirt/images/rfg-cli-never')


def test_apply_refuses_a_node_without_the_bridge_and_changes_nothing(node):
    result = node('python3 virt-guests apply', doc(allow_mem_overcommit=True),
                  RF_LIBVIRT_URI='test:///default')
    assert result.returncode == 3
    assert ('refused, nothing was changed: bridge rfg-cli-adm is missing on this node '
            '(network_scheme has it: did netconfig run?)') in result.stdout
    assert not os.path.exists('/var/lib/libvirt/images/rfg-cli-never')


def test_apply_dry_run_is_the_plan(node, make_bridge):
    make_bridge('rfg-cli-adm')
    result = node('python3 virt-guests apply --dry-run', doc(allow_mem_overcommit=True),
                  RF_LIBVIRT_URI='test:///default')
    assert result.returncode == 0, result.stdout
    assert 'plan for node 97 (8 change(s))' in result.stdout
    assert not os.path.exists('/var/lib/libvirt/images/rfg-cli-never')


@pytest.fixture
def apt_tripwire(tmp_path):
    """apt-get and apt-cache install nothing here: any call leaves a mark."""
    bin_dir = tmp_path / 'tripwire'
    bin_dir.mkdir()
    mark = tmp_path / 'apt-was-called'
    for name in ('apt-get', 'apt'):
        script = bin_dir / name
        script.write_text('#!/bin/sh\necho "$0 $*" >> %s\nexit 1\n' % mark)
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir, mark


@pytest.mark.parametrize('script,says', [
    ('install-guest-tools.sh', 'python3-jsonschema are installed: nothing to do'),
    ('install-hypervisor.sh', 'KVM, qemu-utils, libvirt and python3-libvirt are installed')])
def test_package_tasks_are_no_ops_where_everything_is_present(node, apt_tripwire, script, says):
    bin_dir, mark = apt_tripwire
    dpkg_status = os.stat('/var/lib/dpkg/status').st_mtime
    result = node('bash %s' % script, doc(),
                  PATH=str(bin_dir) + ':' + task_env('', '')['PATH'])
    assert result.returncode == 0, result.stdout
    assert says in result.stdout
    assert not mark.exists(), mark.read_text()
    assert os.stat('/var/lib/dpkg/status').st_mtime == dpkg_status


def test_help_names_the_commands(node):
    result = node('python3 virt-guests --help', doc())
    assert result.returncode == 0
    for command in ('check', 'plan', 'apply', 'status'):
        assert command in result.stdout


def test_plan_xml_prints_the_domains_it_would_define(node, make_bridge, tmp_path):
    make_bridge('rfg-cli-adm')
    result = node('python3 virt-guests plan --xml --log-file ""', doc(allow_mem_overcommit=True),
                  RF_LIBVIRT_URI='test:///default')
    assert result.returncode == 0, result.stdout
    domains = re.findall(r'<domain .*?</domain>', result.stdout, re.S)
    assert len(domains) == 2
    for text in domains:
        path = tmp_path / 'domain.xml'
        path.write_text(text)
        check = subprocess.run(['virt-xml-validate', str(path), 'domain'],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert check.returncode == 0, check.stdout
    assert '<name>9001_vm</name>' in domains[0] and '<name>9002_vm</name>' in domains[1]

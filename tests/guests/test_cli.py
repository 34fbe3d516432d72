"""The task commands as Astute runs them (cwd = the plugin directory,
astute.yaml given through RF_ASTUTE_YAML, LC_ALL=C), without real KVM, on a
PATH with one Python: python2.7 (stock Fuel 8.0/9.0 node) or python3."""
import json
import os
import re
import stat
import subprocess

import pytest
import yaml

from guestlib import astute_doc, run_cmd, task_env, write_astute
from lab import interpreters

GUESTS = [{'id': 9001, 'cpu': 1, 'mem_mib': 256, 'vda_size': '16M'},
          {'id': 9002, 'cpu': 1, 'mem': 1, 'vda_size': '16M'}]


@pytest.fixture
def node(tmp_path, plugin_dir, node_path, python_kind):
    """(write astute.yaml, run a command) for one test node, once per
    interpreter."""
    astute = tmp_path / 'astute.yaml'
    log = tmp_path / 'log' / 'virt-guests.log'

    def run(cmd, doc=None, **env_extra):
        if doc is not None:
            write_astute(astute, doc)
        env = task_env(astute, log, node_path)
        env.update(env_extra)
        return run_cmd(cmd, plugin_dir, env, timeout=120)
    run.log, run.path, run.kind = log, node_path, python_kind
    return run


def doc(guests=GUESTS, **settings):
    values = {'guest_disk_dir': '/var/lib/libvirt/images/rfg-cli-never'}
    values.update(settings)
    return astute_doc(guests, settings=values, bridges=('rfg-cli-adm',))


def test_check_accepts_good_input_and_lists_the_guests(node):
    result = node('sh virt-guests check', doc())
    assert result.returncode == 0, result.stdout
    assert 'guest 9001_vm: 1 vCPU, 256 MiB, disk 16M (qcow2)' in result.stdout
    assert 'input valid: 2 guest(s)' in result.stdout
    assert 'input valid: 2 guest(s)' in node.log.read_text()


EXPECTED_VERSION = {'python2.7': '2.7.', 'python3': '3.'}


def test_the_launcher_runs_the_only_python_on_the_path(node):
    """install-guest-tools.sh and virt-guests name the interpreter they
    chose, and it is the one the PATH offers."""
    version = interpreters.version_of(str(node.path), node.kind)
    tools = node('bash install-guest-tools.sh', doc())
    assert tools.returncode == 0, tools.stdout
    assert 'install-guest-tools: Python for virt-guests: %s %s (%s/%s)' % (
        node.kind, version, node.path, node.kind) in tools.stdout
    check = node('sh virt-guests check', doc())
    assert check.returncode == 0, check.stdout
    assert 'virt-guests: running under Python %s' % version in check.stdout
    assert version.startswith(EXPECTED_VERSION[node.kind])


def test_non_ascii_values_pass_under_the_c_locale(node, tmp_path):
    """An environment name and fqdn in UTF-8, a bad value with a non-ASCII
    character: the same messages on stdout and in the log, no traceback."""
    bad = doc([{'id': 9001, 'vda_size': u'7\u20acG'}])
    bad['fqdn'] = u'n\u00f6de-97.test'
    bad['environment'] = {'name': u'Umgebung \u00d6st'}
    (tmp_path / 'astute.yaml').write_bytes(yaml.safe_dump(
        bad, allow_unicode=True, default_flow_style=False).encode('utf-8'))
    result = node('sh virt-guests check')
    assert result.returncode == 2, result.stdout
    line = u'vms_conf[0] (guest 9001).vda_size: got "7\u20acG" (text); accepted: a size'
    assert line in result.stdout
    assert line in node.log.read_text(encoding='utf-8')
    assert 'Traceback' not in result.stdout


def test_invalid_utf8_is_bad_input(node, tmp_path):
    (tmp_path / 'astute.yaml').write_bytes(b'uid: "9\xff"\n')
    result = node('sh virt-guests check')
    assert result.returncode == 2, result.stdout
    assert ('got not UTF-8 text (byte 0xff at offset 7); accepted: a YAML mapping '
            'written in UTF-8') in result.stdout
    assert 'Traceback' not in result.stdout


def test_yaml_1_1_surprises_are_refused_by_name(node, tmp_path):
    astute = tmp_path / 'astute.yaml'
    result = node('sh virt-guests check', doc([{'id': 9001, 'mem': 1}]))
    assert result.returncode == 0, result.stdout
    astute.write_text(astute.read_text().replace(
        'mem: 1', 'mem: 010\n  cpu: yes\n  vda_size: 1:30'))
    result = node('sh virt-guests check')
    assert result.returncode == 2, result.stdout
    for text in ('vms_conf[0] (guest 9001).mem: got 010 (YAML 1.1 reads it as the number 8); '
                 'accepted: a whole number of GiB from 1 to 16384, e.g. 2',
                 'vms_conf[0] (guest 9001).cpu: got yes (YAML 1.1 reads it as true)',
                 'vms_conf[0] (guest 9001).vda_size: got 1:30 (YAML 1.1 reads it as '
                 'the number 90)'):
        assert text in result.stdout
    assert '3 problem(s)' in result.stdout


def test_check_refuses_bad_input_listing_every_problem(node):
    bad = [{'id': '1;rm -rf /', 'mem': '2'}, {'id': 5, 'vda_size': '9Q'}, {'id': 5}]
    result = node('sh virt-guests check', doc(bad, guest_disk_format='vmdk'))
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
    result = node('sh virt-guests %s' % command, doc([{'id': 0}]),
                  RF_LIBVIRT_URI='test:///nonexistent-so-any-connect-fails')
    assert result.returncode == 2, result.stdout
    assert not os.path.exists('/var/lib/libvirt/images/rfg-cli-never')
    assert 'libvirt' not in result.stdout


@pytest.mark.parametrize('vms_conf', [[], None])
@pytest.mark.parametrize('command', ['check', 'apply', 'plan'])
def test_no_guests_is_a_clean_no_op(node, vms_conf, command):
    result = node('sh virt-guests %s' % command, doc(vms_conf),
                  RF_LIBVIRT_URI='test:///nonexistent-so-any-connect-fails')
    assert result.returncode == 0, result.stdout
    assert 'no guests in vms_conf of node 97: nothing to do' in result.stdout


def test_unusable_override_template_is_bad_input(node, tmp_path):
    result = node('sh virt-guests check',
                  doc(guest_domain_template=str(tmp_path / 'missing.xml')))
    assert result.returncode == 2
    assert 'domain template %s' % (tmp_path / 'missing.xml') in result.stdout


def test_plan_json_lists_actions_and_changes_nothing(node, make_bridge):
    make_bridge('rfg-cli-adm')
    result = node('sh virt-guests plan --json --log-file ""', doc(allow_mem_overcommit=True),
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
    result = node('sh virt-guests apply', doc(allow_mem_overcommit=True),
                  RF_LIBVIRT_URI='test:///default')
    assert result.returncode == 3
    assert ('refused, nothing was changed: bridge rfg-cli-adm is missing on this node '
            '(network_scheme has it: did netconfig run?)') in result.stdout
    assert not os.path.exists('/var/lib/libvirt/images/rfg-cli-never')


def test_apply_dry_run_is_the_plan(node, make_bridge):
    make_bridge('rfg-cli-adm')
    result = node('sh virt-guests apply --dry-run', doc(allow_mem_overcommit=True),
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
    ('install-guest-tools.sh', 'imports yaml and jsonschema: nothing to do'),
    ('install-hypervisor.sh', 'KVM, qemu-utils, libvirt and %s-libvirt (libvirt for ')])
def test_package_tasks_are_no_ops_where_everything_is_present(node, apt_tripwire, script, says):
    bin_dir, mark = apt_tripwire
    dpkg_status = os.stat('/var/lib/dpkg/status').st_mtime
    result = node('bash %s' % script, doc(), PATH=str(bin_dir) + ':' + str(node.path))
    assert result.returncode == 0, result.stdout
    prefix = 'python' if node.kind == 'python2.7' else 'python3'
    assert (says % prefix if '%s' in says else says) in result.stdout
    assert not mark.exists(), mark.read_text()
    assert os.stat('/var/lib/dpkg/status').st_mtime == dpkg_status


def test_help_names_the_commands(node):
    result = node('sh virt-guests --help', doc())
    assert result.returncode == 0
    for command in ('check', 'plan', 'apply', 'status'):
        assert command in result.stdout


def test_plan_xml_prints_the_domains_it_would_define(node, make_bridge, tmp_path):
    make_bridge('rfg-cli-adm')
    result = node('sh virt-guests plan --xml --log-file ""', doc(allow_mem_overcommit=True),
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


# Issue 9, point 10: apply and retire take a lock; a second run fails fast.
@pytest.fixture
def held_lock(tmp_path):
    """The lock file held by this test process (flock), with a pid in it."""
    import fcntl
    path = tmp_path / 'virt-guests.lock'
    stream = open(str(path), 'w')
    fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    stream.write('4242\n')
    stream.flush()
    yield str(path)
    stream.close()


@pytest.mark.parametrize('command', ['apply', 'retire 9001_vm --confirm 9001_vm'])
def test_a_second_run_is_refused_naming_the_pid_that_holds_the_lock(node, held_lock, command):
    result = node('sh virt-guests %s' % command, doc(),
                  RF_LIBVIRT_URI='test:///nonexistent-so-any-connect-fails',
                  RF_VIRT_GUESTS_LOCK=held_lock)
    assert result.returncode == 3, result.stdout
    assert ('another virt-guests apply or retire is running (pid 4242 holds %s); '
            'nothing was changed' % held_lock) in result.stdout
    assert 'libvirt' not in result.stdout  # refused before connecting
    assert 'Traceback' not in result.stdout


def test_a_lock_file_left_by_a_killed_run_does_not_block(node, tmp_path):
    stale = tmp_path / 'virt-guests.lock'
    stale.write_text(u'4242\n')  # a pid, but no process holds the flock
    result = node('sh virt-guests apply', doc(),
                  RF_LIBVIRT_URI='test:///nonexistent-so-any-connect-fails',
                  RF_VIRT_GUESTS_LOCK=str(stale))
    assert result.returncode == 3, result.stdout
    assert 'another virt-guests' not in result.stdout
    assert 'test:///nonexistent' in result.stdout  # it went on to connect


# Issue 9, point 9: a missing, hanging or garbled qemu-img is a message and exit 3.
def fake_qemu_img(node_path, body):
    """The node's PATH (a folder of links, the test's own) without qemu-img,
    or with a script in its place."""
    script = os.path.join(str(node_path), 'qemu-img')
    if os.path.lexists(script):
        os.remove(script)
    if body is not None:
        with open(script, 'w') as stream:
            stream.write('#!/bin/sh\n' + body + '\n')
        os.chmod(script, 0o755)


@pytest.mark.parametrize('body,says', [
    (None, 'qemu-img info %s: cannot run it: qemu-img: No such file or directory'),
    ('exec sleep 600', 'qemu-img info %s: cannot run it: qemu-img info -U --output=json %s: '
                       'no answer after 2 s'),
    ('echo "this is not JSON"', 'qemu-img info %s gave no JSON'),
], ids=['missing', 'hanging', 'not JSON'])
@pytest.mark.parametrize('command', ['plan', 'apply'])
def test_qemu_img_trouble_is_a_message_and_exit_3(node, tmp_path, body, says, command):
    disks = tmp_path / 'disks'
    disks.mkdir()
    image = disks / '9001_vm.img'
    # A VMDK signature: qcow2 and raw images are read without qemu-img.
    image.write_bytes(b'KDMV' + bytes(508))
    fake_qemu_img(node.path, body)
    result = node('sh virt-guests %s' % command, doc(guest_disk_dir=str(disks)),
                  RF_LIBVIRT_URI='test:///default', RF_QEMU_IMG_TIMEOUT='2')
    assert result.returncode == 3, result.stdout
    assert (says.replace('%s', str(image))) in result.stdout
    assert 'Traceback' not in result.stdout


@pytest.fixture
def small_disk_dir(tmp_path):
    """A 1.5 GiB ext4 loop filesystem (about 1.4 GiB free) as the disk folder."""
    image, mount = tmp_path / 'fs.img', tmp_path / 'disks'
    mount.mkdir()
    subprocess.check_call(['truncate', '-s', '1536M', str(image)])
    subprocess.check_call(['mkfs.ext4', '-q', '-F', str(image)])
    subprocess.check_call(['mount', '-o', 'loop', str(image), str(mount)])
    yield mount
    subprocess.call(['umount', str(mount)])


TWO_1G = [{'id': 9001, 'cpu': 1, 'mem_mib': 256, 'vda_size': '1G'},
          {'id': 9002, 'cpu': 1, 'mem_mib': 256, 'vda_size': '1G'}]


@pytest.mark.parametrize('settings, status, said', [
    ({}, 0, 'warning: disk space in {dir}: qcow2 images may grow to 2.0 GiB, '
            '{free} free: over-committed by'),
    ({'guest_disk_format': 'raw'}, 3, 'refused: disk space in {dir}: new raw images '
                                      'need 2.0 GiB (full size), {free} free'),
    ({'strict_disk_space': True}, 3, 'refused: disk space in {dir}: new qcow2 images '
                                     'need 2.0 GiB (full size, strict_disk_space is on)')])
def test_thin_disks_over_commit_warns_while_raw_and_strict_refuse(
        node, make_bridge, small_disk_dir, settings, status, said):
    """Two 1G guests on a loop filesystem with ~1.4 GiB free."""
    make_bridge('rfg-cli-adm')
    info = os.statvfs(str(small_disk_dir))
    free = '%.1f GiB' % (info.f_bavail * info.f_frsize / float(1024 ** 3))
    result = node('sh virt-guests apply --dry-run', doc(
        TWO_1G, guest_disk_dir=str(small_disk_dir), allow_mem_overcommit=True, **settings),
        RF_LIBVIRT_URI='test:///default')
    assert result.returncode == status, result.stdout
    assert said.format(dir=small_disk_dir, free=free) in result.stdout
    assert os.listdir(str(small_disk_dir)) == ['lost+found']

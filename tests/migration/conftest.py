"""Fixtures of the migration tests (prefix rfm, subnet 10.98.0.0/24)."""
import pathlib
import subprocess
import sys
import uuid

import pytest

import migration_lab as lab
from lab import interpreters, virt
from lab import plugin_rpm as plugin_rpm_build
from lab.paths import MIGRATION, put_on_sys_path

put_on_sys_path(MIGRATION)


@pytest.fixture(scope='session')
def network_lab(system_libvirt, tmp_path_factory):
    """Bridges, the master's netns, the destination's sshd. Torn down even
    when tests fail."""
    lab.make_network()
    sshd = lab.Sshd(tmp_path_factory.mktemp('rfm-sshd'))
    try:
        sshd.start()
        yield sshd
    finally:
        sshd.stop()
        lab.remove_network()


@pytest.fixture
def master(tmp_path, network_lab):
    """A master tree with the writer service running in its netns; the
    master's network set back to its first state afterwards."""
    root = lab.make_tree(tmp_path / 'master-root')
    pidfile = tmp_path / 'writer.pid'
    writer = [sys.executable, str(lab.HERE / 'writer.py')]
    start = writer + ['start', str(root), str(pidfile)]
    stop = writer + ['stop', str(pidfile)]
    lab.ns(*start)
    yield {'root': root, 'pidfile': pidfile, 'start': start, 'stop': stop,
           'work': tmp_path / 'work'}
    subprocess.run(stop)
    lab.ns('ip', 'addr', 'flush', 'dev', 'eth0', check=False)
    lab.ns('ip', 'link', 'set', 'eth0', 'address', lab.ADMIN_MAC, check=False)
    lab.ns('ip', 'addr', 'add', lab.MASTER_IP + '/24', 'dev', 'eth0',
           check=False)
    lab.ns('ip', 'link', 'set', 'eth0', 'up', check=False)


@pytest.fixture
def destination(network_lab):
    """A disk folder qemu can reach and a guest name of our own; both
    removed afterwards whatever happened."""
    tag = uuid.uuid4().hex[:8]
    disk_dir = lab.IMAGES / ('rfm-' + tag)
    disk_dir.mkdir(parents=True)
    name = 'rfm-master-' + tag
    yield {'disk_dir': disk_dir, 'name': name}
    virt.remove(name)
    lab.clean_disk_dir(disk_dir)


@pytest.fixture(scope='session')
def rpm_script(plugin_rpm, tmp_path_factory):
    """bin/rf-migrate-master as the plugin's RPM installs it on the master."""
    plugin = plugin_rpm_build.unpack(plugin_rpm, tmp_path_factory.mktemp('rfm-rpm') / 'root')
    script = pathlib.Path(plugin) / 'bin' / 'rf-migrate-master'
    assert script.is_file(), script
    return script


@pytest.fixture(scope='session')
def master_path(tmp_path_factory):
    """A stock Fuel 8.0/9.0 master's PATH: Python 2.7 and no python3."""
    return interpreters.stock_fuel_path(tmp_path_factory.mktemp('rfm-master-bin'))


@pytest.fixture
def migrate(zipapp, network_lab, master, destination, tmp_path, master_path):
    """Returns run(extra_cfg, *args, background=False) running the zipapp
    inside the master's netns against the host over real ssh."""
    def config(**extra):
        cfg = {'destination': lab.HOST_IP, 'ssh_port': lab.SSH_PORT,
               'ssh_identity': str(network_lab.client_key),
               'ssh_known_hosts': str(network_lab.known_hosts),
               'source_root': str(master['root']),
               'work_dir': str(master['work']),
               'name': destination['name'],
               'disk_dir': str(destination['disk_dir']),
               'admin_bridge': lab.ADMIN_BR,
               'nics': [{'interface': 'eth1', 'bridge': lab.PUB_BR}],
               'interim_address': lab.INTERIM_IP, 'memory': '256M',
               'vcpus': 1, 'disk_size': '1G', 'space_margin': '16M',
               'services': 'commands', 'stop_commands': [master['stop']],
               'start_commands': [master['start']], 'boot_loader': 'none',
               'boot_timeout': 60, 'poweroff': False, 'api_port': 8000,
               'virt_type': virt.guest_virt_type()}
        cfg.update(extra)
        return lab.write_config(tmp_path / ('cfg-%s.yaml' % uuid.uuid4().hex),
                                cfg)

    def argv(cfg, *args):
        # As a stock Fuel 8.0/9.0 master runs it: its sh stub finds the
        # master's Python 2.7, the only Python on PATH.
        return ['ip', 'netns', 'exec', lab.NETNS, 'env', 'PATH=' + master_path,
                str(zipapp), '--config', str(cfg), '--foreground'] + list(args)

    def run(extra=None, *args, timeout=600):
        return subprocess.run(argv(config(**(extra or {})), *args),
                              capture_output=True, text=True,
                              timeout=timeout)

    def start(extra=None, *args):
        return subprocess.Popen(argv(config(**(extra or {})), *args),
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
    run.start = start
    run.config = config
    run.argv = argv
    return run

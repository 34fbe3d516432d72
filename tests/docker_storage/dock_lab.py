"""The docker storage proof's set-up: the 8.0-like source master as a
guest (its disk from dock_image's cache, per run a sparse copy with the
test's keys, the script and its config written in), this host as the virt
node (sshd on the admin bridge, libvirtd), and the lab's control network
to reach the source whatever the switch-over does to its admin NIC.

DockerLab.up() builds it all; DockerLab.down() removes everything named
rfe-* that up() made, also after a half-made up() or a failed test, and
before up() (leftovers of an interrupted run).
"""
import contextlib
import json
import pathlib
import shutil
import time

import yaml

from lab import hostlab, virt

from master_boot import boot_lab

from . import dock_config as cfg
from . import dock_image

HERE = pathlib.Path(__file__).resolve().parent
SOURCE_DIR = pathlib.Path('/var/lib/libvirt/images/rfe-source')
IMAGES = pathlib.Path('/var/lib/libvirt/images/rfe-docker')   # the script's disk_dir
SCRIPT = '/root/rf-migrate-master'
CONFIG = '/root/migrate.yaml'
GUEST_KEY = '/root/.ssh/id_ed25519'
GUEST_KNOWN_HOSTS = '/root/.ssh/known_hosts'
TIMES = pathlib.Path('/var/cache/reduced-footprint-tests/rfe-last-times.json')


class DockerLab(object):
    def __init__(self, work):
        self.work = pathlib.Path(work)
        self.times = {}
        self.sshd = None
        self.cached = None

    # -- set-up ---------------------------------------------------------------
    def up(self, zipapp, config_extra=None, fuel9=False):
        self.fuel9 = fuel9
        self.down()
        self.work.mkdir(parents=True, exist_ok=True)
        self.cached, self.times['image_build_s'] = dock_image.cached_disk()
        self.facts = self.cached.facts()
        self.key, pub = hostlab.make_keypair(self.work / 'id_ed25519')
        self.known_hosts = self.work / 'known_hosts'
        self.known_hosts.write_text(''.join(
            hostlab.known_hosts_line(address, 22, self.facts['host_key'])
            for address in (cfg.CONTROL_ADDRESS, cfg.ADMIN['ipaddress'])))
        hostlab.make_bridge(cfg.ADMIN_BRIDGE, cfg.DESTINATION_ADDRESS + '/24')
        hostlab.make_bridge(cfg.CONTROL_BRIDGE, cfg.CONTROL_HOST + '/24')
        self.sshd = hostlab.Sshd(self.work / 'sshd', cfg.DESTINATION_ADDRESS,
                                 cfg.SSH_PORT)
        dest_pub = self.sshd.start(pub)
        IMAGES.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self.source_disk = self._source_disk(zipapp, pub, dest_pub,
                                             config_extra or {})
        self.times['source_disk_copy_s'] = time.monotonic() - started
        self._start_source()

    def _source_disk(self, zipapp, pub, dest_pub, config_extra):
        SOURCE_DIR.mkdir(parents=True, exist_ok=True)
        disk = SOURCE_DIR / 'source.img'
        hostlab.run(['cp', '--sparse=always', str(self.cached.disk), str(disk)],
                    timeout=600)
        mnt = SOURCE_DIR / 'root.mnt'
        mnt.mkdir()
        with dock_image.LoopDisk(disk) as loop:
            hostlab.run(['mount', loop.part(cfg.ROOT_PART), str(mnt)])
            try:
                ssh = mnt / 'root/.ssh'
                ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
                _put(ssh / 'authorized_keys', pub, 0o600)
                _put(mnt / GUEST_KEY.lstrip('/'), self.key.read_text(), 0o600)
                _put(mnt / GUEST_KNOWN_HOSTS.lstrip('/'), hostlab.known_hosts_line(
                    cfg.DESTINATION_ADDRESS, cfg.SSH_PORT, dest_pub), 0o644)
                _put(mnt / SCRIPT.lstrip('/'), pathlib.Path(zipapp).read_bytes(), 0o755)
                _put(mnt / CONFIG.lstrip('/'), yaml.safe_dump(
                    self.config(**config_extra)), 0o600)
                _put(mnt / 'usr/local/sbin/rfe-thin-sums',
                     (HERE / 'fixtures' / 'rfe-thin-sums').read_text(), 0o755)
                if self.fuel9:
                    _as_fuel9(mnt)
            finally:
                hostlab.run(['umount', str(mnt)])
        mnt.rmdir()
        return disk

    def config(self, **extra):
        conf = {
            'destination': cfg.DESTINATION_ADDRESS, 'ssh_port': cfg.SSH_PORT,
            'ssh_identity': GUEST_KEY, 'ssh_known_hosts': GUEST_KNOWN_HOSTS,
            'name': cfg.COPY_GUEST, 'disk_dir': str(IMAGES),
            'admin_bridge': cfg.ADMIN_BRIDGE,
            'interim_address': cfg.INTERIM_ADDRESS,
            'vcpus': 1, 'memory': '768M', 'disk_size': '3G',
            'space_margin': '64M', 'api_port': cfg.API_PORT,
            'services': 'auto', 'boot_loader': 'auto', 'boot_timeout': 900,
            'poweroff': False, 'virt_type': virt.guest_virt_type(),
        }
        conf.update(extra)
        return conf

    def _start_source(self):
        self.source_serial = self.work / 'source-serial.log'
        xml = dock_image.domain_xml(
            cfg.SOURCE_GUEST, self.source_disk, self.cached.kernel,
            self.cached.initrd, dock_image.kernel_line(self.facts['root_uuid']),
            nics=[(cfg.ADMIN_BRIDGE, cfg.ADMIN['mac']),
                  (cfg.CONTROL_BRIDGE, cfg.CONTROL_MAC)],
            serial_file=self.source_serial, memory_mib=1024)
        (self.work / 'source.xml').write_text(xml)
        started = time.monotonic()
        virt.virsh('create', str(self.work / 'source.xml'))
        hostlab.wait_for(lambda: self.source('true', timeout=15)[0] == 0, 600,
                         'ssh to the source master', interval=3)
        if not self.fuel9:
            hostlab.wait_for(self.containers_running, 300,
                             'the source master\'s containers', interval=3)
        self.times['source_boot_s'] = time.monotonic() - started

    # -- reaching the guests -----------------------------------------------------
    def _ssh(self, address, command, timeout):
        argv = hostlab.ssh_argv(self.key, self.known_hosts, address) + [command]
        try:
            return hostlab.run(argv, timeout=timeout, check=False)
        except RuntimeError as exc:   # timed out
            return 255, str(exc)

    def source(self, command, timeout=120):
        """A command on the old master, over the lab's control network."""
        return self._ssh(cfg.CONTROL_ADDRESS, command, timeout)

    def admin(self, command, timeout=120):
        """A command on whichever machine holds the admin address."""
        return self._ssh(cfg.ADMIN['ipaddress'], command, timeout)

    def containers_running(self, on=None):
        rc, out = (on or self.source)("docker ps --format '{{.Names}}'", 30)
        return rc == 0 and sorted(out.split()) == sorted(
            cfg.container(c) for c in cfg.CONTAINERS)

    def writer_lines(self, on=None):
        rc, out = (on or self.source)(
            'docker exec %s cat %s' % (cfg.container(cfg.WRITER), cfg.WRITER_LOG), 60)
        return [int(n) for n in out.split()] if rc == 0 else None

    def thin_sums(self, on=None, last=False):
        command = 'rfe-thin-sums'
        if last:
            command += ' --last %s %s' % (cfg.container(cfg.WRITER), cfg.WRITER_LOG)
        rc, out = (on or self.source)(command, 600)
        if rc != 0:
            raise AssertionError('rfe-thin-sums failed (%d):\n%s' % (rc, out))
        return json.loads(out.strip().splitlines()[-1])

    # -- the migration -------------------------------------------------------------
    def migrate(self, *args):
        """The shipped script, under the source's python2.7, in the
        foreground; returns (exit code, output)."""
        command = 'cd /root && python2.7 %s --config %s --foreground %s' % (
            SCRIPT, CONFIG, ' '.join(args))
        started = time.monotonic()
        rc, out = self.source(command + ' 2>&1', timeout=3600)
        self.times.setdefault('migrate_runs_s', []).append(
            round(time.monotonic() - started, 1))
        with (self.work / 'migrate.out').open('a') as log:
            log.write('$ %s\n%s\n(exit %d)\n' % (command, out, rc))
        return rc, out

    def state(self):
        rc, out = self.source('cat /var/lib/rf-migrate-master/state.json', 30)
        return json.loads(out) if rc == 0 else {}

    def copy_disks(self):
        return virt.disk_paths(cfg.COPY_GUEST) if virt.exists(cfg.COPY_GUEST) else []

    def failure_report(self):
        out = self.work / 'migrate.out'
        serial = self.work / 'source-serial.log'
        return ('\n--- migration output (tail) ---\n%s\n--- source serial (tail) '
                '---\n%s' % (out.read_text()[-5000:] if out.exists() else '(none)',
                             serial.read_text(errors='replace')[-2000:]
                             if serial.exists() else '(none)'))

    # -- tear-down -----------------------------------------------------------------
    def down(self):
        virt.remove(cfg.COPY_GUEST)
        virt.remove(cfg.SOURCE_GUEST)
        for folder in (SOURCE_DIR, IMAGES):
            if folder.exists():
                dock_image._detach_loops_under(folder)
                hostlab.quiet(['umount', '-R', '-l', str(folder / 'root.mnt')])
                hostlab.quiet(['umount', '-R', '-l',
                               str(folder / (cfg.COPY_GUEST + '.mnt'))])
                shutil.rmtree(str(folder), ignore_errors=True)
        for link in (cfg.ADMIN_BRIDGE, cfg.CONTROL_BRIDGE):
            hostlab.remove_link(link)
        if self.sshd:
            self.sshd.stop()
        hostlab.kill_listeners(cfg.DESTINATION_ADDRESS, cfg.SSH_PORT)


def _as_fuel9(root):
    """The same disk as a Fuel 9.0 master has it: VG docker (here with the
    pool) on its own partition, but no dockerctl, no docker storage
    configuration and docker not started."""
    for path in ('usr/bin/dockerctl', 'etc/sysconfig/docker-storage'):
        (root / path).unlink()
    wants = root / 'etc/systemd/system/multi-user.target.wants'
    for link in wants.glob('docker*.service'):
        link.unlink()


def _put(path, content, mode):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    path.chmod(mode)


def record_times(scenario, lab):
    """Figures of the last run, kept beside the cache (boot_lab's file
    format, this suite's own file)."""
    figures = {k: (round(v, 1) if isinstance(v, float) else v)
               for k, v in lab.times.items()}
    boot_lab.save_figures(TIMES, scenario, figures)


@contextlib.contextmanager
def running(work, zipapp, scenario, config_extra=None, fuel9=False):
    lab = DockerLab(work)
    try:
        lab.up(zipapp, config_extra, fuel9)
        yield lab
    finally:
        try:
            record_times(scenario, lab)
        finally:
            lab.down()

"""One whole proof set-up: the source master (the Debian root served from
netns rfb-master), the operator's seat (netns rfb-op), the destination
(this host: sshd on 10.99.0.1:2299, libvirtd, bridge rfb-adm) and the
migration script run against them.

BootLab.up() builds it all, BootLab.down() removes everything named rfb-*
that up() made, also after a half-made up() or a failed test.
"""
import contextlib
import json
import pathlib
import shutil
import sys
import threading
import time

import yaml

from lab import hostlab, interpreters, virt

from . import guest
from . import master_config as cfg
from . import master_root

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
MASTER_NS, OPERATOR_NS = 'rfb-master', 'rfb-op'
MASTER_VETH, OPERATOR_VETH = 'rfb-m0', 'rfb-o0'
OPERATOR_MAC = '52:54:00:99:00:03'
INTERIM_ADDRESS = '10.99.0.12'
SSH_PORT = 2299
GUEST_NAME = 'rfb-master'
IMAGES = pathlib.Path('/var/lib/libvirt/images/rfb-boot')
SERVICES = HERE / 'fixtures' / 'master_services.py'


class BootLab(object):
    def __init__(self, work):
        self.work = pathlib.Path(work)
        self.tree = self.work / 'master-root'
        self.state = self.work / 'master-state'
        self.migration_work = self.work / 'migration'
        self.times = {}
        self.sshd = None
        self.serial = None
        self.watch = None

    # -- set-up -------------------------------------------------------------
    def up(self, zipapp):
        self.zipapp = zipapp
        self.down()  # leftovers of an interrupted earlier run
        self.work.mkdir(parents=True, exist_ok=True)
        tarball, self.times['root_build_s'] = master_root.cached_root_tarball()
        started = time.monotonic()
        master_root.extract_root(tarball, self.tree)
        self.times['root_extract_s'] = time.monotonic() - started
        self.key, pub = hostlab.make_keypair(self.work / 'id_ed25519')
        master_root.authorize_key(self.tree, pub)
        self._network()
        self._destination_sshd(pub)
        self._known_hosts()
        IMAGES.mkdir(parents=True, exist_ok=True)
        self.master_services('start')
        self.serial = guest.SerialLog(GUEST_NAME, self.work / 'serial.log')
        self.serial.watch()
        self.operator = guest.Operator(OPERATOR_NS, self.key,
                                       self.work / 'known_hosts')

    def _network(self):
        hostlab.make_bridge(cfg.ADMIN_BRIDGE, cfg.DESTINATION_ADDRESS + '/24')
        hostlab.make_netns(MASTER_NS, cfg.ADMIN_BRIDGE, MASTER_VETH,
                           cfg.ADMIN['interface'], cfg.ADMIN['mac'],
                           '%s/%d' % (cfg.ADMIN['ipaddress'], cfg.ADMIN['prefix']))
        hostlab.make_netns(OPERATOR_NS, cfg.ADMIN_BRIDGE, OPERATOR_VETH, 'eth0',
                           OPERATOR_MAC, cfg.OPERATOR_ADDRESS + '/24')

    def _destination_sshd(self, client_pub):
        self.sshd = hostlab.Sshd(self.work / 'sshd', cfg.DESTINATION_ADDRESS, SSH_PORT)
        self.sshd.start(client_pub)

    def _known_hosts(self):
        """The master's own host key: the copy must present the same one."""
        host_pub = (self.tree / 'etc/ssh/ssh_host_ed25519_key.pub').read_text()
        (self.work / 'known_hosts').write_text(
            hostlab.known_hosts_line(cfg.ADMIN['ipaddress'], 22, host_pub))

    def master_services(self, action):
        return hostlab.nsrun(MASTER_NS, self.services_argv(action), timeout=60)

    def services_argv(self, action):
        return [sys.executable, str(SERVICES), action, str(self.tree),
                str(self.state)]

    # -- the migration ------------------------------------------------------
    def config(self, **extra):
        conf = {
            'destination': cfg.DESTINATION_ADDRESS, 'ssh_port': SSH_PORT,
            'ssh_identity': str(self.key),
            'ssh_known_hosts': str(self.sshd.known_hosts),
            'source_root': str(self.tree), 'work_dir': str(self.migration_work),
            'name': GUEST_NAME, 'disk_dir': str(IMAGES),
            'admin_bridge': cfg.ADMIN_BRIDGE, 'interim_address': INTERIM_ADDRESS,
            'vcpus': 1, 'memory': '512M', 'disk_size': '3G',
            'space_margin': '64M', 'api_port': cfg.API_PORT,
            'services': 'commands',
            'stop_commands': [self.services_argv('stop')],
            'start_commands': [self.services_argv('start')],
            'boot_loader': 'auto', 'boot_timeout': 600, 'poweroff': False,
            'virt_type': virt.guest_virt_type(),
        }
        conf.update(extra)
        path = self.work / 'migrate.yaml'
        path.write_text(yaml.safe_dump(conf))
        return path

    def master_path(self):
        """A stock Fuel 8.0/9.0 master's PATH: Python 2.7 and no python3."""
        return interpreters.stock_fuel_path(self.work / 'master-bin')

    def migrate(self, *args, **config_extra):
        """Run the single-file script inside the master's netns, as the
        master runs it (its sh stub picks the master's Python 2.7); returns
        (exit code, output). The operator watch runs meanwhile."""
        argv = ['ip', 'netns', 'exec', MASTER_NS, 'env',
                'PATH=' + self.master_path(), str(self.zipapp),
                '--config', str(self.config(**config_extra)),
                '--foreground'] + list(args)
        self.watch = OperatorWatch(self)
        self.watch.start()
        try:
            rc, out = hostlab.run(argv, timeout=1800, check=False)
        finally:
            self.watch.stop()
        (self.work / 'migrate.out').open('a').write(out)
        return rc, out

    # -- what the operator sees ----------------------------------------------
    def ledger(self):
        """Every record the writer finished, name -> text, read from the
        source tree (which the migration never changes)."""
        names = (self.state / 'ledger').read_text().split()
        data = self.tree / cfg.DATA_DIR.lstrip('/')
        return {n: (data / n).read_text() for n in names}

    def disk_path(self):
        return IMAGES / (GUEST_NAME + '.img')

    def copy_mount(self):
        return IMAGES / (GUEST_NAME + '.mnt')

    def done_marker(self):
        return IMAGES / (GUEST_NAME + '.migration-done')

    def failure_report(self):
        out = self.work / 'migrate.out'
        return '\n--- migration output (tail) ---\n%s\n--- serial (tail) ---\n%s' % (
            out.read_text()[-4000:] if out.exists() else '(none)',
            self.serial.tail() if self.serial else '(none)')

    # -- tear-down ---------------------------------------------------------
    def down(self):
        if self.watch:
            self.watch.stop()
        if self.serial:
            self.serial.stop()
        virt.remove(GUEST_NAME)
        _detach_loops_under(IMAGES)
        hostlab.remove_netns(MASTER_NS)
        hostlab.remove_netns(OPERATOR_NS)
        for link in (MASTER_VETH, OPERATOR_VETH, cfg.ADMIN_BRIDGE):
            hostlab.remove_link(link)
        if self.sshd:
            self.sshd.stop()
        hostlab.kill_listeners(cfg.DESTINATION_ADDRESS, SSH_PORT)
        shutil.rmtree(str(IMAGES), ignore_errors=True)


def _detach_loops_under(folder):
    """Loop devices left on our images by an interrupted run (ours only)."""
    _rc, out = hostlab.run(['losetup', '-J', '-l'], check=False)
    try:
        devices = json.loads(out).get('loopdevices', []) if out.strip() else []
    except ValueError:
        devices = []
    for dev in devices:
        if str(dev.get('back-file', '')).startswith(str(folder)):
            hostlab.quiet(['umount', '-R', str(folder / (GUEST_NAME + '.mnt'))])
            hostlab.quiet(['losetup', '-d', dev['name']])


class OperatorWatch(threading.Thread):
    """Polls the admin address from the operator's seat once a second while
    the migration runs: which master answered (old or copy) and when, and
    when the guest started. Gives the downtime as an operator sees it."""

    def __init__(self, boot_lab):
        super(OperatorWatch, self).__init__(daemon=True)
        self.lab = boot_lab
        self.samples = []    # (time, 'old'|'copy'|None, guest state)
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            health = self.lab.operator.api('/health')
            who = None if health is None else (
                'copy' if health.get('migrated') else 'old')
            state = virt.state(GUEST_NAME)
            self.samples.append((time.time(), who, state))
            self._halt.wait(1.0)

    def stop(self):
        self._halt.set()
        if self.is_alive():
            self.join(30)

    def figures(self):
        last_old = max((t for t, who, _ in self.samples if who == 'old'),
                       default=None)
        first_copy = min((t for t, who, _ in self.samples if who == 'copy'),
                         default=None)
        started = min((t for t, _, st in self.samples if st == 'running'),
                      default=None)
        figures = {}
        if last_old and first_copy:
            figures['downtime_seen_s'] = first_copy - last_old
        if started and first_copy:
            figures['boot_to_answering_s'] = first_copy - started
        figures.update(self._outage())
        return figures

    def _outage(self):
        """Old master silent, then answering again (a rollback)."""
        whos = [(t, who) for t, who, _ in self.samples]
        for i, (t, who) in enumerate(whos):
            if who is None and i and whos[i - 1][1] == 'old':
                back = [u for u, w in whos[i:] if w == 'old']
                if back:
                    return {'outage_until_old_master_back_s':
                            back[0] - whos[i - 1][0]}
        return {}


TIMES = pathlib.Path('/var/cache/reduced-footprint-tests/rfb-last-times.json')


def record_times(scenario, boot):
    """Figures of the last run, kept beside the cache and printed by -rA."""
    figures = dict(boot.times)
    # A rolled-back run renames its state file: take the newest one.
    states = sorted(boot.migration_work.glob('state.json*'),
                    key=lambda p: p.stat().st_mtime)
    if states:
        state_file = states[-1]
        state = json.loads(state_file.read_text())
        steps = state.get('steps', {})
        for name, entry in steps.items():
            if 'duration' in entry:
                figures['step_%s_s' % name] = round(entry['duration'], 1)
        copy = [steps.get(s, {}).get('duration') for s in ('warm_sync', 'final_sync')]
        if None not in copy:
            figures['copy_s'] = round(sum(copy), 1)
        if state.get('guest_answered') and state.get('downtime_started'):
            figures['downtime_s'] = round(
                state['guest_answered'] - state['downtime_started'], 1)
        if state.get('guest_answered') and state.get('guest_started'):
            figures['guest_boot_s'] = round(
                state['guest_answered'] - state['guest_started'], 1)
            if 'downtime_s' in figures:
                figures['downtime_without_boot_s'] = round(
                    figures['downtime_s'] - figures['guest_boot_s'], 1)
    figures['guest_type'] = {'qemu': 'qemu/TCG'}.get(virt.guest_virt_type(), 'kvm')
    if boot.watch:
        figures.update({k: round(v, 1) for k, v in boot.watch.figures().items()})
    figures = {k: (round(v, 1) if isinstance(v, float) else v)
               for k, v in figures.items()}
    return save_figures(TIMES, scenario, figures)


def save_figures(path, scenario, figures):
    """Keep a scenario's figures in path (JSON, one entry a scenario) and
    print them (shown by -rA)."""
    try:
        old = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        old = {}
    old[scenario] = figures
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(old, indent=1, sort_keys=True))
    print('\n%s figures: %s' % (scenario, json.dumps(figures, sort_keys=True)))
    return figures


@contextlib.contextmanager
def running(work, zipapp, scenario, records=20):
    """A BootLab up with its master writing (records written first), its
    figures kept under scenario and everything rfb-* removed afterwards."""
    lab = BootLab(work)
    try:
        lab.up(zipapp)
        if records:
            hostlab.wait_for(lambda: len(lab.ledger()) >= records, 60,
                             '%d records written' % records)
        yield lab
    finally:
        record_times(scenario, lab)
        lab.down()

"""The discovery proof's steps, shared by test_fuel_discovers_guests.py and
bench/guests_discovery.py (docs/discovery-proof.md): the lab's virt node in
nailgun, its tasks run on this host, and nailgun's node list watched."""
import re
import subprocess
import sys
import threading
import time

import libvirt
import yaml

from lab_env import OURS, Environment, ids, node_tasks
from nailgun_lab import REPO

sys.path.insert(0, str(REPO / 'tests' / 'guests'))
from guestlib import run_task, task_env  # noqa: E402
from lab import discovery_lab  # noqa: E402
from virt_guests import render  # noqa: E402

URI = 'qemu:///system'
GIB = 1024 ** 3
GUESTS = [{'id': 9771, 'cpu': 1, 'mem': 1, 'vda_size': '2G'},
          {'id': 9772, 'cpu': 2, 'mem': 1, 'vda_size': '3G'}]
BRIDGES = (discovery_lab.ADMIN, discovery_lab.OTHER)


def tcg_template(folder):
    """The shipped template with domain type 'qemu': the operator's
    override that runs the guests under TCG (docs/testing-master-boot.md)."""
    template = (REPO / 'deployment_scripts' / 'templates' / 'guest-domain.xml').read_text()
    override = folder / 'tcg-template.xml'
    override.write_text(template.replace("<domain type='kvm'>", "<domain type='qemu'>"))
    return override


class VirtNode(object):
    """The lab's virt node: an rf-virt node in nailgun whose tasks run here."""

    def __init__(self, fuel, disk_dir, tmp_path, guests=GUESTS):
        self.fuel, self.tmp = fuel, tmp_path
        self.env = Environment.create(fuel, 'discovery')
        self.env.set_plugin(
            enabled=True, guest_disk_dir=disk_dir, guest_disk_cache='unsafe',
            guest_cpu_model='hypervisor-default', host_reserved_mem_gib='1',
            guest_domain_template=str(tcg_template(tmp_path)),
            remove_undeclared_guests=True, guest_bridges=','.join(BRIDGES))
        self.id = self.env.add_node(['rf-virt'])
        self.env.set_vms_conf(self.id, guests)
        self.env.provisioned(self.id)
        message = self.env.deploy(self.id)
        self.tasks = [t for t in node_tasks(message, self.id) if t['id'] in OURS]
        assert ids(self.tasks) == list(OURS)
        self.plugin_dir = fuel.plugins / 'reduced-footprint-1.0' / 'deployment_scripts'
        self.runs = 0

    def run_tasks(self):
        """The plugin's tasks on this host, from the astute.yaml nailgun
        serializes now; returns when the guest task started (time.time())."""
        self.runs += 1
        [astute] = self.env.astute_yaml(self.id)
        path = self.tmp / 'astute-{0}.yaml'.format(self.runs)
        path.write_text(yaml.safe_dump(astute))
        self.task_env = task_env(path, self.tmp / 'virt-guests.log')
        started = None
        for task in self.tasks:
            if task['id'] == 'reduced-footprint-guests':
                started = time.time()
            result = run_task(task, self.plugin_dir, self.task_env)
            assert result.returncode == 0, (task['id'], result.stdout[-4000:])
        return started

    def status(self):
        """`virt-guests status` on the node, as the operator runs it."""
        return subprocess.run(['sh', 'virt-guests', 'status'], cwd=str(self.plugin_dir),
                              env=self.task_env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True).stdout

    def mac(self, guest, nic=0):
        return render.guest_mac(str(self.id), guest['id'], nic)


def nodes_by_mac(fuel):
    return dict((n['mac'].lower(), n) for n in fuel.get('/api/nodes/'))


def wait_listed(fuel, macs, since, timeout, ready=lambda node: True):
    """{mac: seconds from `since` until GET /api/nodes first lists it (and
    ready(node))}, polled every second."""
    seen = {}
    while time.time() < since + timeout and len(seen) < len(macs):
        listed = nodes_by_mac(fuel)
        for mac in macs:
            if mac not in seen and mac in listed and ready(listed[mac]):
                seen[mac] = time.time() - since
        time.sleep(1)
    return seen


class Consoles(object):
    """The guests' serial consoles (their pty), kept for failure reports."""

    def __init__(self, folder):
        self.folder = folder
        self.files = {}

    def follow(self, name):
        conn = libvirt.open(URI)
        try:
            xml = conn.lookupByName(name).XMLDesc(0)
        finally:
            conn.close()
        match = re.search(r"<serial type='pty'>\s*<source path='([^']+)'", xml)
        if not match:
            return
        path = self.folder / ('console-%s.log' % name)
        self.files[name] = path

        def read():
            try:
                with open(match.group(1), 'rb', buffering=0) as pty, \
                        open(str(path), 'ab', buffering=0) as out:
                    while True:
                        chunk = pty.read(4096)
                        if not chunk:
                            return
                        out.write(chunk)
            except OSError:
                return
        threading.Thread(target=read, daemon=True).start()

    def tail(self, chars=1500):
        text = []
        for name, path in sorted(self.files.items()):
            lines = [line for line in path.read_text(errors='replace').splitlines()
                     if ' DEBUG -- ' not in line] if path.exists() else []
            text.append('--- {0} ({1}):\n{2}'.format(name, path, '\n'.join(lines)[-chars:]))
        return '\n'.join(text)

"""The admin network of the discovery proof, as a Fuel master gives it.

A network namespace rfd-master plays the master on the admin bridge
rfd-adm (10.20.0.2/24, Fuel's default admin network): dnsmasq gives leases
in nailgun's admin range and, over TFTP, an iPXE script
that boots the lab's bootstrap (lab/bootstrap_image.py) as cobbler's
pxelinux menu boots Fuel's; the kernel and initramfs come over HTTP from
port 8080 (the master's nginx port); nailgun answers on port 8000, Fuel
8.0/9.0's API port, the one nailgun-agent falls back to when 8443 refuses.

Nailgun itself stays on loopback in the lab's own namespace, with
serve.py's loopback-only guard unchanged: socat relays 10.20.0.2:8000 in
the namespace to a Unix socket (file systems are not namespaced), and a
second socat relays that socket to nailgun's loopback port. Nothing leaves
the namespace and the bridges made here.

Everything is named rfd-*; leftovers of an interrupted run are removed
before a new one (clean()), and everything after it, also on failure.
"""
import os
import pathlib
import signal
import subprocess
import time

from . import testguests

NETNS = 'rfd-master'
ADMIN = 'rfd-adm'          # the admin (PXE) bridge, first NIC of each guest
OTHER = 'rfd-pub'          # a second guest bridge
ISOLATED = 'rfd-iso'       # a bridge with no master on it
BRIDGES = (ADMIN, OTHER, ISOLATED)
NS_IF, BR_IF = 'rfd-mst0', 'rfd-mst1'
MASTER_IP = '10.20.0.2'     # Fuel's default admin network, nailgun's ADMIN_NETWORK
API_PORT, HTTP_PORT = 8000, 8080
API_URL = 'http://{0}:{1}/api'.format(MASTER_IP, API_PORT)
# The guests' domains: rfd's own id range, away from the guest suites'
# 9001-9099 (which they remove before and after each test).
IDS = range(9771, 9780)

# What cobbler's pxelinux entry for the bootstrap says, as an iPXE script.
KERNEL_ARGS = 'console=ttyS0,115200 quiet url={url} BOOTIF=01-${{netX/mac:hexhyp}}'
IPXE = ('#!ipxe\n'
        'kernel http://{ip}:{http}/vmlinuz ' + KERNEL_ARGS + '\n'
        'initrd http://{ip}:{http}/initrd.img\n'
        'boot\n')


def ip(*args, check=True):
    return subprocess.run(['ip'] + list(args), check=check,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def clean():
    """Remove whatever an earlier run left (only rfd-* names)."""
    for pidfile in pathlib.Path('/run').glob('rfd-*.pid'):
        try:
            os.killpg(int(pidfile.read_text()), signal.SIGTERM)
        except (ValueError, OSError):
            pass
        pidfile.unlink()
    ip('netns', 'del', NETNS, check=False)
    for name in BRIDGES + (BR_IF,):
        ip('link', 'del', name, check=False)


class AdminNetwork(object):
    """Bridges, the master's namespace and its services; stop() undoes all."""

    def __init__(self, workdir, bootstrap_dir, nailgun_port):
        self.workdir = pathlib.Path(workdir)
        self.bootstrap_dir = pathlib.Path(bootstrap_dir)
        self.nailgun_port = nailgun_port
        self.processes = []
        self.dhcp_log = self.workdir / 'dnsmasq.log'

    def start(self):
        clean()
        for name in BRIDGES:
            ip('link', 'add', name, 'type', 'bridge')
            ip('link', 'set', name, 'up')
        ip('netns', 'add', NETNS)
        ip('link', 'add', BR_IF, 'type', 'veth', 'peer', 'name', NS_IF)
        ip('link', 'set', NS_IF, 'netns', NETNS)
        ip('link', 'set', BR_IF, 'master', ADMIN, 'up')
        ip('-n', NETNS, 'addr', 'add', MASTER_IP + '/24', 'dev', NS_IF)
        ip('-n', NETNS, 'link', 'set', NS_IF, 'up')
        ip('-n', NETNS, 'link', 'set', 'lo', 'up')
        tftp = self.workdir / 'tftp'
        tftp.mkdir()
        (tftp / 'bootstrap.ipxe').write_text(IPXE.format(
            ip=MASTER_IP, http=HTTP_PORT, url=API_URL))
        socket_path = self.workdir / 'nailgun.sock'
        self._spawn('dnsmasq', [
            'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--port=0',
            '--user=root', '--group=root', '--interface=' + NS_IF,
            '--bind-interfaces', '--dhcp-authoritative',
            '--dhcp-range=10.20.0.130,10.20.0.199,255.255.255.0,1h',
            '--dhcp-leasefile=%s' % (self.workdir / 'leases'), '--log-dhcp',
            '--log-facility=%s' % self.dhcp_log, '--enable-tftp',
            '--tftp-root=%s' % tftp, '--dhcp-boot=bootstrap.ipxe,,' + MASTER_IP],
            netns=True)
        self._spawn('http', [
            'python3', '-m', 'http.server', str(HTTP_PORT), '--bind', MASTER_IP,
            '--directory', str(self.bootstrap_dir)], netns=True)
        self._spawn('relay-host', [
            'socat', 'UNIX-LISTEN:%s,fork,unlink-early' % socket_path,
            'TCP:127.0.0.1:%d' % self.nailgun_port])
        self._spawn('relay-ns', [
            'socat', 'TCP-LISTEN:%d,bind=%s,fork,reuseaddr' % (API_PORT, MASTER_IP),
            'UNIX-CONNECT:%s' % socket_path], netns=True)
        return self

    def _spawn(self, name, argv, netns=False):
        if netns:
            argv = ['ip', 'netns', 'exec', NETNS] + argv
        log = open(str(self.workdir / ('%s.out' % name)), 'wb')
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        log.close()
        pathlib.Path('/run/rfd-%s.pid' % name).write_text(str(process.pid))
        self.processes.append((name, process))

    def api_answers(self):
        """Does nailgun answer on the admin network, as a node would ask?"""
        result = subprocess.run(
            ['ip', 'netns', 'exec', NETNS, 'python3', '-c',
             'import urllib.request,sys; urllib.request.urlopen(sys.argv[1], '
             'timeout=5).read()', API_URL + '/version'],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return result.returncode == 0

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            dead = [n for n, p in self.processes if p.poll() is not None]
            assert not dead, 'exited: %s (see %s)' % (dead, self.workdir)
            if self.api_answers():
                return
            time.sleep(0.5)
        raise AssertionError('nailgun does not answer on %s' % API_URL)

    def stop(self):
        for name, process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            pid = pathlib.Path('/run/rfd-%s.pid' % name)
            if pid.exists():
                pid.unlink()
        self.processes = []
        clean()


def remove_guests(conn, disk_dir=None):
    """Stop and undefine the proof's domains (ids IDS), disks too if asked."""
    testguests.remove(conn, disk_dir, ids=IDS)

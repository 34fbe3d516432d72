"""The Fuel master's DHCP and TFTP as guests meet them when they PXE-boot:
dnsmasq in a network namespace of its own, wired to an admin bridge by a
veth pair, logging every DHCP and TFTP exchange (--log-dhcp). Used by
tests/guests/test_discovery.py and bench/guests_spawn.py --network.
Nothing leaves the bridge and the namespace. Python 3 only."""
import contextlib
import os
import re
import subprocess
import threading
import time


def _ip(*args, check=True):
    return subprocess.run(['ip'] + list(args), check=check,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@contextlib.contextmanager
def master(folder, bridge, netns, veth, address, pool):
    """dnsmasq at address/24 in netns, on bridge through veth (bridge side,
    namespace side), leases from pool ('first,last'), the boot file
    pxelinux.0 (a stub: asked for, not booted) in folder/tftp. Yields
    (log, leases) paths; everything is removed on the way out."""
    bridge_if, ns_if = veth
    _ip('netns', 'del', netns, check=False)
    _ip('netns', 'add', netns)
    process = None
    try:
        _ip('link', 'add', bridge_if, 'type', 'veth', 'peer', 'name', ns_if)
        _ip('link', 'set', ns_if, 'netns', netns)
        _ip('link', 'set', bridge_if, 'master', bridge, 'up')
        _ip('-n', netns, 'addr', 'add', address + '/24', 'dev', ns_if)
        _ip('-n', netns, 'link', 'set', ns_if, 'up')
        tftp = os.path.join(str(folder), 'tftp')
        os.makedirs(tftp, exist_ok=True)
        with open(os.path.join(tftp, 'pxelinux.0'), 'wb') as stream:
            stream.write(b'\0' * 512)
        log = os.path.join(str(folder), 'dnsmasq.log')
        leases = os.path.join(str(folder), 'leases')
        process = subprocess.Popen([
            'ip', 'netns', 'exec', netns, 'dnsmasq', '--keep-in-foreground',
            '--conf-file=/dev/null', '--port=0', '--user=root', '--group=root',
            '--interface=' + ns_if, '--bind-interfaces', '--dhcp-authoritative',
            '--dhcp-range=%s,255.255.255.0,10m' % pool,
            '--dhcp-leasefile=' + leases, '--log-dhcp', '--log-facility=' + log,
            '--enable-tftp', '--tftp-root=' + tftp, '--dhcp-boot=pxelinux.0,,' + address,
            '--pid-file=' + os.path.join(str(folder), 'dnsmasq.pid')],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        yield log, leases
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        _ip('netns', 'del', netns, check=False)
        _ip('link', 'del', bridge_if, check=False)


DISCOVER = re.compile(r'DHCPDISCOVER\(\S+\) ([0-9a-f:]{17})', re.I)
ACK = re.compile(r'DHCPACK\(\S+\) ([0-9.]+) ([0-9a-f:]{17})', re.I)
TFTP = re.compile(r'dnsmasq-tftp\[\d+\]: .*?(?:to|from) ([0-9.]+)')


class Watch(object):
    """When each MAC first asked for DHCP, and when the address it got
    first asked TFTP for a file: dnsmasq's log read every 10 ms from its
    end at the start (its own stamps are whole seconds)."""

    def __init__(self, log):
        self.log, self.started = log, time.time()
        self.offset = os.path.getsize(log) if os.path.exists(log) else 0
        self.discover, self.tftp, self.mac_of = {}, {}, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.daemon = True
        self._thread.start()

    def _run(self):
        rest = ''
        while not self._stop.is_set():
            if os.path.exists(self.log):
                with open(self.log, errors='replace') as stream:
                    stream.seek(self.offset)
                    data = stream.read()
                    self.offset = stream.tell()
                now = time.time()
                lines = (rest + data).split('\n')
                rest = lines.pop()
                for line in lines:
                    self._line(line, now)
            time.sleep(0.01)

    def _line(self, line, now):
        found = DISCOVER.search(line)
        if found:
            self.discover.setdefault(found.group(1).lower(), now)
        found = ACK.search(line)
        if found:
            self.mac_of[found.group(1)] = found.group(2).lower()
        found = TFTP.search(line)
        if found and found.group(1) in self.mac_of:
            self.tftp.setdefault(self.mac_of[found.group(1)], now)

    def wait(self, macs, timeout):
        """(seconds until every MAC asked for DHCP, until every one asked
        TFTP for its boot file), from the start; None where not seen."""
        deadline = self.started + timeout
        while time.time() < deadline and not all(m in self.tftp for m in macs):
            time.sleep(0.05)
        self._stop.set()
        self._thread.join()

        def last(seen):
            return (max(seen[m] for m in macs) - self.started
                    if all(m in seen for m in macs) else None)
        return last(self.discover), last(self.tftp)

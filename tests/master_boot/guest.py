"""The KVM guest seen from outside: virsh on qemu:///system, its serial
console kept in a log file, and the operator's checks of a master at the
admin address (ssh with a strictly checked host key, the API, the records).
"""
import os
import pathlib
import re
import threading
import time
import tty

from lab import hostlab
from lab.virt import state, virsh

from . import master_config


def boot_order_first_is_disk(name):
    """True when the domain boots from its disk first (os/boot or per-device
    boot order)."""
    _rc, xml = virsh('dumpxml', '--inactive', name)
    orders = re.findall(r"<boot dev='(\w+)'/>", xml)
    if orders:
        return orders[0] == 'hd'
    per_device = re.findall(r"<disk[^>]*device='disk'.*?<boot order='(\d+)'/>",
                            xml, re.S)
    return per_device == ['1']


class SerialLog(object):
    """Copies the guest's serial console (a pty) into a file, boot by boot.

    qemu drops console output while nobody holds the pty, so a watcher
    thread opens it within a fraction of a second of every start; reading
    the pty's slave side is what `virsh console` does too."""

    def __init__(self, name, path):
        self.name, self.path = name, pathlib.Path(path)
        self._reader = None
        self._halt = threading.Event()
        self._watcher = None

    def watch(self):
        self._halt.clear()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def stop(self):
        self._halt.set()
        if self._watcher:
            self._watcher.join(10)

    def _watch(self):
        while not self._halt.is_set():
            reading = self._reader is not None and self._reader.is_alive()
            if not reading and state(self.name) == 'running':
                self.follow()
            self._halt.wait(0.2)

    def follow(self, timeout=5):
        pty = self._pty_path(timeout)
        if pty is None:
            return
        self._reader = threading.Thread(target=self._copy, args=(pty,),
                                        daemon=True)
        self._reader.start()

    def _pty_path(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc, xml = virsh('dumpxml', self.name, check=False)
            found = re.search(r"<serial type='pty'>\s*<source path='([^']+)'", xml)
            if rc == 0 and found:
                return found.group(1)
            time.sleep(0.5)
        return None

    def _copy(self, pty):
        try:
            fd = os.open(pty, os.O_RDONLY | os.O_NOCTTY)
        except OSError:
            return
        # Raw, no echo: an echoing tty sends the guest's own output back to
        # it as keystrokes, and GRUB stops its countdown at the first one.
        tty.setraw(fd)
        try:
            with open(str(self.path), 'ab') as dst:
                dst.write(('\n--- serial console %s ---\n' % pty).encode())
                while True:
                    chunk = os.read(fd, 4096)
                    if not chunk:
                        return
                    dst.write(chunk)
                    dst.flush()
        except OSError:
            return  # the guest went away: the pty closes
        finally:
            os.close(fd)

    def tail(self, chars=4000):
        if not self.path.exists():
            return '(no serial output captured)'
        return self.path.read_text(errors='replace')[-chars:]


class Operator(object):
    """What an operator checks from a seat on the admin network (a netns)."""

    def __init__(self, ns, key, known_hosts):
        self.ns, self.key, self.known_hosts = ns, key, known_hosts
        self.address = master_config.ADMIN['ipaddress']

    def ssh(self, command, timeout=20):
        argv = hostlab.ssh_argv(self.key, self.known_hosts, self.address,
                                timeout=5) + [command]
        return hostlab.nsrun(self.ns, argv, check=False, timeout=timeout)

    def ssh_answers(self):
        return self.ssh('true')[0] == 0

    def api(self, path):
        return hostlab.http_get_json(self.ns, self.address, master_config.API_PORT,
                                     path)

    def answering(self):
        return self.api('/health') is not None and self.ssh_answers()

    def wait_answering(self, timeout, what):
        started = time.monotonic()
        hostlab.wait_for(self.answering, timeout, what, interval=1.0)
        return time.monotonic() - started

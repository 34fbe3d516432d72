"""The test's own network and hosts: bridge, network namespaces, an sshd for
the destination, and the operator's checks from a namespace.

Shared by the suites (tests/migration, tests/master_boot, tests/guests)
and bench/. Each suite names its resources with its own prefix (rfm-, rfb-,
rfg-), and every creator here has a matching remover that tolerates a
half-made state, for teardown after a failure.
"""
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import time


def run(argv, timeout=120, check=True, input_text=None):
    """Run a command; returns (rc, stdout+stderr text). Raises on failure
    when check is set, with the command and its output in the message."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE if input_text else None,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(
            input_text.encode() if input_text else None, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise RuntimeError('%s timed out after %ss:\n%s' % (
            ' '.join(argv), timeout, out.decode(errors='replace')[-3000:]))
    text = out.decode(errors='replace')
    if check and proc.returncode != 0:
        raise RuntimeError('%s failed (%d):\n%s' % (
            ' '.join(argv), proc.returncode, text[-3000:]))
    return proc.returncode, text


def quiet(argv):
    return run(argv, check=False)[0] == 0


# -- bridge and namespaces ---------------------------------------------------

def make_bridge(name, address_cidr=None):
    remove_link(name)
    run(['ip', 'link', 'add', name, 'type', 'bridge'])
    # No IPv6 chatter: the old master's MAC must not be heard on the bridge
    # once it gave up its address (the guest has the same MAC).
    quiet(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % name])
    if address_cidr:
        run(['ip', 'addr', 'add', address_cidr, 'dev', name])
    run(['ip', 'link', 'set', name, 'up'])


def remove_link(name):
    quiet(['ip', 'link', 'del', name])


def make_netns(ns, bridge, host_end, inner_name, mac, address_cidr):
    """A namespace with one NIC (inner_name, mac) whose peer is on bridge."""
    remove_netns(ns)
    run(['ip', 'netns', 'add', ns])
    nsrun(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1'])
    nsrun(ns, ['ip', 'link', 'set', 'lo', 'up'])
    add_nic(ns, bridge, host_end, inner_name, mac, address_cidr)


def add_nic(ns, bridge, host_end, inner_name, mac=None, address_cidr=None):
    """One more NIC in namespace ns: a veth pair, inner_name inside, host_end
    on bridge."""
    remove_link(host_end)
    run(['ip', 'link', 'add', host_end, 'type', 'veth', 'peer', 'name',
         inner_name, 'netns', ns])
    if mac:
        nsrun(ns, ['ip', 'link', 'set', inner_name, 'address', mac])
    nsrun(ns, ['ip', 'link', 'set', inner_name, 'up'])
    if address_cidr:
        nsrun(ns, ['ip', 'addr', 'add', address_cidr, 'dev', inner_name])
    quiet(['sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % host_end])
    run(['ip', 'link', 'set', host_end, 'master', bridge])
    run(['ip', 'link', 'set', host_end, 'up'])


def remove_netns(ns):
    for pid in netns_pids(ns):
        _kill(pid)
    quiet(['ip', 'netns', 'del', ns])


def netns_pids(ns):
    rc, out = run(['ip', 'netns', 'pids', ns], check=False)
    return [int(p) for p in out.split()] if rc == 0 else []


def nsrun(ns, argv, **kw):
    return run(['ip', 'netns', 'exec', ns] + argv, **kw)


def netns_addresses(ns):
    """IPv4 addresses configured in the namespace (lo left out)."""
    _rc, out = nsrun(ns, ['ip', '-j', '-4', 'addr', 'show'])
    return sorted(a['local'] for link in json.loads(out) if link['ifname'] != 'lo'
                  for a in link.get('addr_info', []))


def _kill(pid, sig=signal.SIGTERM):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


# -- background processes -----------------------------------------------------

def spawn(argv, log_path, ns=None):
    """Start a background process, output to log_path; returns Popen."""
    if ns:
        argv = ['ip', 'netns', 'exec', ns] + argv
    log = open(str(log_path), 'ab')
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def stop(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


# -- ssh -------------------------------------------------------------------------

def make_keypair(path):
    path = pathlib.Path(path)
    if not path.exists():
        run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'rf-test',
             '-f', str(path)])
    return path, pathlib.Path(str(path) + '.pub').read_text()


class Sshd(object):
    """An sshd of the test's own on listen:port: own config, host key and
    client key (authorized), and a known_hosts file that trusts only its
    host key. The suites' "virt node" over real ssh."""

    def __init__(self, home, listen, port):
        self.home = pathlib.Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.listen, self.port = listen, port
        self.host_key = self.home / 'ssh_host_ed25519_key'
        self.client_key = self.home / 'client_ed25519'
        self.known_hosts = self.home / 'known_hosts'
        self.empty_known_hosts = self.home / 'known_hosts.empty'
        self.proc = None

    def start(self, authorized_key_text=None):
        """Start it (authorizing our client key unless a key text is given);
        returns the host's public key text once it answers."""
        _, host_pub = make_keypair(self.host_key)
        _, client_pub = make_keypair(self.client_key)
        (self.home / 'authorized_keys').write_text(authorized_key_text or client_pub)
        self.known_hosts.write_text(known_hosts_line(self.listen, self.port, host_pub))
        self.empty_known_hosts.write_text('')
        config = self.home / 'sshd_config'
        config.write_text('\n'.join([
            'Port %d' % self.port, 'ListenAddress %s' % self.listen,
            'HostKey %s' % self.host_key,
            'AuthorizedKeysFile %s' % (self.home / 'authorized_keys'),
            'PidFile %s' % (self.home / 'sshd.pid'), 'PermitRootLogin prohibit-password',
            'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
            'UsePAM no', 'StrictModes no', 'UseDNS no', 'MaxStartups 50',
            'MaxSessions 50', 'Subsystem sftp internal-sftp',
            # A migration sends hundreds of commands, each a connection of
            # its own. This host's root is no virt node: bash sources its
            # ~/.bashrc for every command sshd runs unless it is a nested
            # shell (SHLVL), and a developer's .bashrc may run for a second
            # (pyenv init rehashes its shims under a lock every shell
            # shares). A Fuel virt node's sshd (OpenSSH 6.6-7.x) agrees on
            # curve25519 too, not on OpenSSH 9's sntrup761 hybrid, whose
            # key exchange costs this lab a few tenths of a second a
            # connection on two busy cores.
            'SetEnv SHLVL=1',
            'KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org',
            '']))
        pathlib.Path('/run/sshd').mkdir(exist_ok=True)
        self.proc = spawn(['/usr/sbin/sshd', '-D', '-e', '-f', str(config)],
                          self.home / 'sshd.log')
        wait_for(lambda: tcp_open(self.listen, self.port), 20,
                 'sshd on %s:%d' % (self.listen, self.port))
        return host_pub

    def stop(self):
        stop(self.proc)
        self.proc = None


def kill_listeners(address, port):
    """End whatever still listens on our own address:port (an sshd left by
    an interrupted run): the address and port are reserved for rfb."""
    _rc, out = run(['ss', '-Hltnp', 'src', '%s:%d' % (address, port)],
                   check=False)
    for pid in set(int(p) for p in re.findall(r'pid=(\d+)', out)):
        _kill(pid)


def known_hosts_line(address, port, host_pub_text):
    key_type, key = host_pub_text.split()[:2]
    host = address if port == 22 else '[%s]:%d' % (address, port)
    return '%s %s %s\n' % (host, key_type, key)


def ssh_argv(key, known_hosts, address, port=22, timeout=5):
    return ['ssh', '-i', str(key), '-p', str(port), '-o', 'BatchMode=yes',
            '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes',
            '-o', 'UserKnownHostsFile=%s' % known_hosts,
            '-o', 'ConnectTimeout=%d' % timeout, 'root@%s' % address]


# -- waiting and probing ---------------------------------------------------------

def tcp_open(host, port, timeout=1.0):
    try:
        socket.create_connection((host, port), timeout).close()
        return True
    except OSError:
        return False


def wait_for(predicate, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    raise AssertionError('waited %ss for %s' % (timeout, what))


def http_get_json(ns, address, port, path, timeout=5):
    """GET from inside namespace ns (the operator's seat); None if no answer."""
    rc, out = nsrun(ns, ['curl', '-sf', '--max-time', str(timeout),
                         'http://%s:%d%s' % (address, port, path)],
                    check=False, timeout=timeout + 10)
    return json.loads(out) if rc == 0 else None

"""The old master's admin interface: hand the address (and MAC) to the
guest, take them back on rollback. Runtime changes only: nothing on disk."""
from __future__ import absolute_import, division, print_function

import re

ADDR_RE = re.compile(r'\binet (\d+\.\d+\.\d+\.\d+/\d+)')
MAC_RE = re.compile(r'link/ether ([0-9a-f:]{17})')
ROUTE_FLAGS = ('linkdown', 'dead', 'offload', 'trap', 'rt_offload')


def addresses(commands, iface):
    out = commands.run(['ip', '-o', '-4', 'addr', 'show', 'dev', iface]).stdout
    return ADDR_RE.findall(out)


def mac(commands, iface):
    out = commands.run(['ip', '-o', 'link', 'show', 'dev', iface]).stdout
    match = MAC_RE.search(out)
    return match.group(1) if match else None


def routes(commands, iface):
    """Routes on the interface that the kernel does not re-create by itself
    (a default gateway, static routes), as `ip route replace` arguments."""
    out = commands.run(['ip', '-4', 'route', 'show', 'dev', iface]).stdout
    kept = []
    for line in out.splitlines():
        words = [w for w in line.split() if w not in ROUTE_FLAGS]
        if words and 'kernel' not in words:
            kept.append(words)
    return kept


def restore_routes(commands, iface, saved):
    for words in saved:
        commands.run(['ip', 'route', 'replace'] + words + ['dev', iface],
                     ok_codes=None)


def set_mac(commands, iface, new_mac):
    if mac(commands, iface) == new_mac:
        return
    commands.run(['ip', 'link', 'set', 'dev', iface, 'down'])
    commands.run(['ip', 'link', 'set', 'dev', iface, 'address', new_mac])
    commands.run(['ip', 'link', 'set', 'dev', iface, 'up'])


def move_address(commands, iface, prefix, drop, keep, new_mac, saved_routes):
    """Drop one address, put another (and a MAC) on the interface. Safe to
    run again: each change is made only when it is not there yet."""
    held = addresses(commands, iface)
    cidr_drop, cidr_keep = '%s/%d' % (drop, prefix), '%s/%d' % (keep, prefix)
    if cidr_drop in held:
        commands.run(['ip', 'addr', 'del', cidr_drop, 'dev', iface])
    set_mac(commands, iface, new_mac)
    if cidr_keep not in addresses(commands, iface):
        commands.run(['ip', 'addr', 'add', cidr_keep, 'dev', iface])
    restore_routes(commands, iface, saved_routes)

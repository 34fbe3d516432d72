"""IPv4 addresses and prefixes, as numbers (the master's Python 2.7 has
`ipaddr`, not `ipaddress`): parsed strictly, masks to prefix lengths,
networks and the host part of an address."""
from __future__ import absolute_import, division, print_function

import re
import socket
import struct

from rf_common.text import to_text

_DOTTED = re.compile(r'^[0-9]{1,3}(\.[0-9]{1,3}){3}$')
_PREFIX = re.compile(r'^/?[0-9]{1,2}$')


def parse_ipv4(text):
    """'10.20.0.2' -> its 32-bit number. Four decimal octets only (no
    '10.1', no hex, no leading zeros, as ipaddress); ValueError otherwise."""
    text = to_text(text).strip()
    if not _DOTTED.match(text):
        raise ValueError('not an IPv4 address')
    octets = text.split('.')
    if any(len(o) > 1 and o.startswith('0') or int(o) > 255 for o in octets):
        raise ValueError('not an IPv4 address')
    return struct.unpack('!I', socket.inet_aton(str(text)))[0]


def ipv4_text(number):
    return to_text(socket.inet_ntoa(struct.pack('!I', number)))


def normalize_ipv4(text):
    return ipv4_text(parse_ipv4(text))


def prefix_length(netmask):
    """'255.255.255.0', '24' or '/24' -> 24 (1..32); ValueError for
    anything else, including a non-contiguous mask."""
    text = to_text(netmask).strip()
    if _PREFIX.match(text):
        length = int(text.lstrip('/'))
        if 0 < length <= 32:
            return length
        raise ValueError('prefix length out of range')
    mask = parse_ipv4(text)
    inverted = ~mask & 0xFFFFFFFF
    if mask == 0 or inverted & (inverted + 1):
        raise ValueError('not a contiguous netmask')
    return 32 - bin(inverted).count('1')


def _mask(prefix):
    return (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF


def network_text(address, prefix):
    """('10.20.0.2', 24) -> '10.20.0.0/24'."""
    return u'%s/%d' % (ipv4_text(parse_ipv4(address) & _mask(prefix)), prefix)


def host_bits(address, prefix):
    """The part of address below the prefix: 0 is the network's address,
    all ones its broadcast address."""
    return parse_ipv4(address) & ~_mask(prefix) & 0xFFFFFFFF


def in_network(address, network_address, prefix):
    """True when address is in network_address/prefix (host bits of the
    network address are ignored, as ipaddress with strict=False)."""
    mask = _mask(prefix)
    return parse_ipv4(address) & mask == parse_ipv4(network_address) & mask

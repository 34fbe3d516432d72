"""What the test master is: its admin network, API port, data directory and
the configuration files that describe them inside its root.

Plain data and text: no commands run here. One place for the addresses so
the root, the network namespaces and the assertions cannot disagree.
"""
import textwrap

ADMIN = {
    'interface': 'eth0',
    'ipaddress': '10.99.0.2',
    'netmask': '255.255.255.0',
    'prefix': 24,
    'mac': '52:54:00:99:00:02',
    'cidr': '10.99.0.0/24',
}
DESTINATION_ADDRESS = '10.99.0.1'   # this host on the bridge: the virt node
OPERATOR_ADDRESS = '10.99.0.3'      # where the operator's checks come from
ADMIN_BRIDGE = 'rfb-adm'
API_PORT = 8000                     # nailgun's API port on a Fuel master
DATA_DIR = '/var/lib/fuel/records'
HOSTNAME = 'fuel'
# Written into the copy by the post-migrate step (migration contract).
MIGRATED_MARKER = '/etc/rf-migrated-master'


def astute_yaml(admin=None, host=HOSTNAME):
    """The master's /etc/fuel/astute.yaml, in Fuel's own layout (this lab's
    admin network unless another is given); DHCP from .100 to .200."""
    admin = admin or ADMIN
    net = admin['ipaddress'].rsplit('.', 1)[0]
    return textwrap.dedent("""\
        HOSTNAME: {host}
        DNS_DOMAIN: test
        ADMIN_NETWORK:
          interface: {interface}
          ipaddress: {ipaddress}
          netmask: {netmask}
          mac: {mac}
          cidr: {cidr}
          size: '256'
          dhcp_gateway: {ipaddress}
          dhcp_pool_start: {net}.100
          dhcp_pool_end: {net}.200
        """).format(host=host, net=net, **admin)


def networkd_admin():
    """Admin address on whichever NIC carries the master's MAC: the name of
    the NIC differs between the old machine and the guest, the MAC does not."""
    return networkd(ADMIN['mac'], ADMIN['ipaddress'], ADMIN['prefix'])


def networkd(mac, address, prefix=24):
    """A systemd-networkd unit: the address on the NIC with that MAC."""
    return textwrap.dedent("""\
        [Match]
        MACAddress={mac}

        [Network]
        Address={address}/{prefix}
        LinkLocalAddressing=no
        IPv6AcceptRA=no
        """).format(mac=mac, address=address, prefix=prefix)


def default_grub():
    """Serial console on the copy's boots (read by update-grub there); no
    fsck of the fresh file system: it costs 25 s of an emulated boot."""
    return textwrap.dedent("""\
        GRUB_DEFAULT=0
        GRUB_TIMEOUT=1
        GRUB_DISTRIBUTOR=Debian
        GRUB_CMDLINE_LINUX_DEFAULT=""
        GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8 fsck.mode=skip"
        GRUB_TERMINAL="console serial"
        GRUB_SERIAL_COMMAND="serial --speed=115200"
        GRUB_DISABLE_OS_PROBER=true
        """)


# The disk of the physical master: the guest never has it, so a copy that
# still mounts it does not boot. The post-migrate step must rewrite fstab.
PHYSICAL_ROOT_UUID = '0b5e7c2e-55aa-4d1e-9f00-00000000f0e1'


def physical_fstab():
    return ('# the old master\'s own disk\n'
            'UUID=%s / ext4 errors=remount-ro 0 1\n' % PHYSICAL_ROOT_UUID)


def records_api_unit():
    return textwrap.dedent("""\
        [Unit]
        Description=Fuel master API (test): serves the records
        After=network.target

        [Service]
        Environment=RECORDS_DIR={data} RECORDS_PORT={port}
        ExecStart=/usr/local/sbin/fuel-records-api
        Restart=always

        [Install]
        WantedBy=multi-user.target
        """).format(data=DATA_DIR, port=API_PORT)

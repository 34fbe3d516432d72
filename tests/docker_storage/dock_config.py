"""What the 8.0-like source master is: addresses, names, and the text of
the files its image carries. Plain data: no commands run here.

The source master is a KVM guest (TCG on this machine kind) because this
host's kernel has no device-mapper; its docker storage is the one a Fuel
8.0 master has (docs/testing-docker-storage.md).
"""
import textwrap

from master_boot import master_config

PREFIX = 'rfe-'
ADMIN = {
    'interface': 'eth0',
    'ipaddress': '10.94.0.2',
    'netmask': '255.255.255.0',
    'prefix': 24,
    'mac': '52:54:00:94:00:02',
    'cidr': '10.94.0.0/24',
}
ADMIN_BRIDGE = 'rfe-adm'
DESTINATION_ADDRESS = '10.94.0.1'   # this host on the admin bridge: the virt node
INTERIM_ADDRESS = '10.94.0.12'
SSH_PORT = 2294                     # the lab's sshd (the virt node's)
# The lab's own way into the source guest, untouched by the switch-over.
CONTROL_BRIDGE = 'rfe-ctl'
CONTROL_HOST = '10.93.0.1'
CONTROL_ADDRESS = '10.93.0.2'
CONTROL_MAC = '52:54:00:93:00:02'
API_PORT = 8000
DATA_DIR = '/var/lib/fuel/records'
HOSTNAME = 'fuel'
MIGRATED_MARKER = '/etc/rf-migrated-master'

SOURCE_GUEST = 'rfe-source'         # the old master (a guest here)
BUILD_GUEST = 'rfe-build'           # the helper boot that makes the pool
COPY_GUEST = 'rfe-master'           # the migrated master

# Partitions of the source disk (GPT, scaled down from 8.0's layout:
# bios_grub, root, then the docker PV on its own partition).
ROOT_MIB = 3072
DOCKER_PV_MIB = 1024
ROOT_PART, DOCKER_PART = 2, 3

# docker's view: Fuel 8.0's names and docker-storage-setup's pool.
VG, POOL = 'docker', 'docker-pool'
POOL_DEVICE = '/dev/mapper/docker-docker--pool'
RELEASE = '8.0'
CONTAINERS = ['postgres', 'rabbitmq', 'nginx']   # short names, start order
WRITER = 'rabbitmq'      # RabbitMQ's data lives only in its container layer
WRITER_LOG = '/var/lib/rabbitmq/seq.log'
IMAGE = 'fuel/busybox:%s' % RELEASE


def container(short):
    return 'fuel-core-%s-%s' % (RELEASE, short)


def docker_storage():
    """/etc/sysconfig/docker-storage as docker-storage-setup writes it."""
    return ('DOCKER_STORAGE_OPTIONS=--storage-driver devicemapper '
            '--storage-opt dm.fs=xfs --storage-opt dm.thinpooldev=%s '
            '--storage-opt dm.use_deferred_removal=true '
            '--storage-opt dm.basesize=64M\n' % POOL_DEVICE)


def astute_yaml():
    return master_config.astute_yaml(ADMIN, HOSTNAME)


def admin_net_unit():
    """The admin address set once at boot on the NIC with the admin MAC, as
    CentOS 7's network-scripts do: nothing re-applies it later, so the
    switch-over's MAC and address changes on the old master stay as the
    script leaves them (systemd-networkd would put the address back on a
    carrier change)."""
    return textwrap.dedent("""\
        [Unit]
        Description=Admin network (address by MAC, set once)
        ConditionKernelCommandLine=!rfe.build=1
        After=systemd-udev-trigger.service
        Before=network.target ssh.service fuel-records-api.service
        Wants=network.target

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/usr/local/sbin/rfe-admin-net

        [Install]
        WantedBy=multi-user.target
        """)


def admin_net_script():
    return textwrap.dedent("""\
        #!/bin/sh
        # The admin NIC is the one with the admin MAC (its name differs
        # between the old machine and the guest); waits for it up to 60 s.
        for _ in $(seq 120); do
            for i in /sys/class/net/*; do
                [ "$(cat $i/address)" = {mac} ] || continue
                n=${{i##*/}}
                ip link set "$n" up
                ip addr replace {ipaddress}/{prefix} dev "$n"
                exit 0
            done
            sleep 0.5
        done
        echo "no NIC with MAC {mac}" >&2
        exit 1
        """).format(**ADMIN)


networkd = master_config.networkd

KERNEL_ARGS = 'console=ttyS0,115200n8 net.ifnames=0 fsck.mode=skip'


def default_grub():
    """Read by update-grub in the copy (the script installs GRUB there)."""
    return textwrap.dedent("""\
        GRUB_DEFAULT=0
        GRUB_TIMEOUT=1
        GRUB_DISTRIBUTOR=Debian
        GRUB_CMDLINE_LINUX_DEFAULT=""
        GRUB_CMDLINE_LINUX="%s"
        GRUB_TERMINAL="console serial"
        GRUB_SERIAL_COMMAND="serial --speed=115200"
        GRUB_DISABLE_OS_PROBER=true
        """ % KERNEL_ARGS)


def docker_unit():
    """CentOS 7's docker.service as Fuel 8.0 has it: the storage options
    from /etc/sysconfig/docker-storage; no socket activation (a stopped
    daemon stays stopped)."""
    return textwrap.dedent("""\
        [Unit]
        Description=Docker Application Container Engine (CentOS 7 style)
        After=network.target containerd.service docker-storage-setup.service
        Wants=containerd.service docker-storage-setup.service

        [Service]
        Type=notify
        EnvironmentFile=-/etc/sysconfig/docker
        EnvironmentFile=/etc/sysconfig/docker-storage
        ExecStart=/usr/sbin/dockerd -H unix:///var/run/docker.sock \\
            --containerd=/run/containerd/containerd.sock \\
            --iptables=false --bridge=none $DOCKER_STORAGE_OPTIONS
        ExecReload=/bin/kill -s HUP $MAINPID
        LimitNOFILE=1048576
        TimeoutStartSec=300
        KillMode=process
        Delegate=yes

        [Install]
        WantedBy=multi-user.target
        """)


def storage_setup_unit():
    return textwrap.dedent("""\
        [Unit]
        Description=Docker Storage Setup (makes or activates VG docker's pool)
        After=lvm2-monitor.service local-fs.target
        Before=docker.service

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=/usr/bin/docker-storage-setup

        [Install]
        WantedBy=multi-user.target
        """)


def container_unit(short):
    """docker-<name>.service: Fuel 8.0 starts each container by its unit."""
    return textwrap.dedent("""\
        [Unit]
        Description=Fuel {release} container {name}
        Requires=docker.service
        After=docker.service

        [Service]
        ExecStart=/usr/bin/docker start -a {name}
        ExecStop=/usr/bin/docker stop -t 10 {name}
        Restart=on-failure
        RestartSec=2

        [Install]
        WantedBy=multi-user.target
        """).format(release=RELEASE, name=container(short))


def build_unit():
    """The helper boot: runs only with rfe.build=1 on the kernel line."""
    return textwrap.dedent("""\
        [Unit]
        Description=rfe lab: make the docker storage of an 8.0 master
        ConditionKernelCommandLine=rfe.build=1
        After=network.target containerd.service lvm2-monitor.service

        [Service]
        Type=oneshot
        StandardOutput=tty
        StandardError=tty
        TTYPath=/dev/ttyS0
        ExecStart=/usr/local/sbin/rfe-build-containers
        ExecStopPost=/bin/systemctl --no-block poweroff

        [Install]
        WantedBy=multi-user.target
        """)

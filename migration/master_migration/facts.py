"""What preflight finds (and the steps learn) about this run, as one typed
record. Kept in the state file as a JSON object so that --resume and
--rollback work from the same facts."""
from __future__ import absolute_import, division, print_function

from master_migration.record import REQUIRED, Field as Fact, Record, RecordError


class FactsError(RecordError):
    """An unknown fact, or a fact read before anything set it."""


class Facts(Record):
    """`data` is the plain dict stored in the state file: a change here
    reaches the next state save."""
    __slots__ = ()
    KIND, Error, REQUIRED_BY = 'fact', FactsError, 'preflight finds it'

    # on the virt node, from params.disk_dir and params.name
    image = Fact(REQUIRED, 'the raw disk image')
    mount_point = Fact(REQUIRED, 'where the copy is mounted')
    xml_path = Fact(REQUIRED, 'the domain XML written there')
    done_marker = Fact(REQUIRED, 'the file a finished migration leaves')
    docker_image = Fact(REQUIRED, 'the image of the docker PV (Fuel 8.0)')
    # found by preflight
    destination_address = Fact(None, 'the virt node\'s address, resolved '
                                     'once')
    admin_live_mac = Fact(REQUIRED, 'the MAC the admin interface has now')
    nics = Fact(REQUIRED, 'the other NICs with their MACs')
    services_kind = Fact(REQUIRED, 'systemd, docker or commands')
    docker_vg = Fact({'action': 'none'}, 'the docker volume group and '
                                         'what happens to it '
                                         '(dockerpool.decide)')
    foreign_mounts = Fact([], 'excludes for what is mounted in the tree '
                              'but is not the master\'s own filesystem')
    replace_existing = Fact(False, 'a stopped guest of that name is '
                                   'replaced')
    dest_free_bytes = Fact(None, 'free bytes in disk_dir (None: unknown)')
    mkfs_options = Fact([], 'mkfs.ext4 -O options the virt node needs')
    rsync_progress = Fact('--info=progress2', 'the progress option this '
                                              'rsync knows')
    data_bytes = Fact(REQUIRED, 'bytes to copy')
    data_files = Fact(REQUIRED, 'files to copy')
    scan_seconds = Fact(REQUIRED, 'how long the file list scan took')
    layout = Fact(REQUIRED, 'partition layout (fixes.disk_layout)')
    root_uuid = Fact(REQUIRED, 'UUID of the copy\'s ext4 root')
    domain_uuid = Fact(REQUIRED, 'UUID of the guest')
    swap_uuid = Fact(None, 'UUID of the swap partition (None: no swap)')
    # learnt by the steps
    loop_device = Fact(None, 'loop device of the image while attached')
    admin_routes = Fact([], 'routes via the admin interface, saved at '
                            'the switch-over')

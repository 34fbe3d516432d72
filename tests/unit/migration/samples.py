"""Sample data the migration unit tests share."""
from __future__ import absolute_import, division, print_function


def preflight_facts(**changes):
    """Every fact a passed preflight leaves, for a 100 GiB disk with 4 GiB
    of swap and no NIC besides the admin one."""
    facts = {
        'image': '/var/lib/nova/fuel_master.img',
        'docker_image': '/var/lib/nova/fuel_master-docker.img',
        'mount_point': '/var/lib/nova/fuel_master.mnt',
        'xml_path': '/var/lib/nova/fuel_master.xml',
        'done_marker': '/var/lib/nova/fuel_master.migration-done',
        'destination_address': '10.20.0.7',
        'admin_live_mac': '52:54:00:00:00:02', 'nics': [],
        'services_kind': 'commands', 'dest_free_bytes': 200 << 30,
        'mkfs_options': ['-O', '^metadata_csum'],
        'rsync_progress': '--info=progress2', 'data_bytes': 10 << 20,
        'data_files': 12, 'scan_seconds': 0.5,
        'layout': {'root_end_mib': 98304, 'swap_mib': 4096,
                   'root_bytes': 96 << 30},
        'root_uuid': 'r-1', 'domain_uuid': 'd-1', 'swap_uuid': 's-1'}
    facts.update(changes)
    return facts

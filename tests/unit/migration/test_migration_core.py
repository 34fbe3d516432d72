"""Pure parts: layout, fstab, udev rules, MACs, ext4 options, rsync
parsing, the domain XML (checked by libvirt's own schema and parser)."""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

from master_migration import fixes, rsyncing, steptable, template, units
from master_migration.facts import Facts
from master_migration.params import Params

FSTAB = """# /etc/fstab
/dev/mapper/os-root / ext4 defaults 0 1
UUID=ab-cd /boot ext2 defaults 0 2
/dev/mapper/os-var /var ext4 defaults 0 2
/dev/mapper/os-swap swap swap defaults 0 0
proc /proc proc defaults 0 0
tmpfs /dev/shm tmpfs defaults 0 0
10.20.0.9:/exports /mnt/nfs nfs defaults 0 0
"""


def test_fstab_root_and_swap_by_uuid_other_disks_merged():
    out = fixes.rewrite_fstab(FSTAB, 'root-uuid', 'swap-uuid').splitlines()
    assert out[2] == 'UUID=root-uuid / ext4 defaults 0 1'
    assert out[3] == 'UUID=swap-uuid none swap sw 0 0'
    active = [line for line in out if line and not line.startswith('#')]
    assert active == ['UUID=root-uuid / ext4 defaults 0 1',
                      'UUID=swap-uuid none swap sw 0 0',
                      'proc /proc proc defaults 0 0',
                      'tmpfs /dev/shm tmpfs defaults 0 0',
                      '10.20.0.9:/exports /mnt/nfs nfs defaults 0 0']
    assert '# merged into / by rf-migrate-master: /dev/mapper/os-var /var ' \
           'ext4 defaults 0 2' in out


def test_final_delta_touching_boot_inputs_is_found():
    """A new kernel, its modules or a deleted one count; a folder whose time
    changed because the fixes wrote into it does not, nor other files."""
    items = [('.d..t......', 'boot/grub'), ('>f+++++++++', 'boot/vmlinuz-2'),
             ('cd+++++++++', 'usr/lib/modules/2'),
             ('*deleting', 'lib/modules/1/kernel/x.ko'),
             ('>f.st......', 'var/log/messages'),
             ('>f..t......', 'etc/default/grub'), ('.d..t......', 'boot')]
    assert fixes.boot_inputs_touched(items) == [
        'boot/vmlinuz-2', 'lib/modules/1/kernel/x.ko', 'etc/default/grub']


def test_fixed_files_kept_out_of_the_final_sync(tmp_path):
    """Files the fixes wrote are excluded one by one; a folder the fixes
    made (not on the source) as a whole, so --delete leaves it alone."""
    from master_migration import copysync
    root = str(tmp_path)
    os.makedirs(os.path.join(root, 'boot', 'grub'))
    os.makedirs(os.path.join(root, 'etc'))
    assert copysync.fixed_excludes(root, [
        'etc/fstab', 'etc/udev/rules.d/70-x.rules', 'boot/grub/grub.cfg',
        'boot/grub/i386-pc/core.img', 'boot/grub/i386-pc/ext2.mod']) == [
        '/boot/grub/grub.cfg', '/boot/grub/i386-pc', '/etc/fstab',
        '/etc/udev']


def test_fstab_without_swap_partition_has_no_swap_line():
    out = fixes.rewrite_fstab(FSTAB, 'r', None)
    assert ' swap sw ' not in out


def test_udev_rules_pin_old_names_to_macs():
    rules = fixes.udev_net_rules([{'interface': 'eth0',
                                   'mac': '52:54:00:00:00:01'}])
    assert 'ATTR{address}=="52:54:00:00:00:01", NAME="eth0"' in rules


@pytest.mark.parametrize('mac', ['52:54:00:98:00:02', '00:25:90:aa:bb:cc',
                                 '02:00:00:00:00:01', 'ff:ff:ff:ff:ff:fe'])
def test_interim_mac_is_local_unicast_and_different(mac):
    new = fixes.interim_mac(mac)
    first = int(new[:2], 16)
    assert new != mac and first & 0x02 and not first & 0x01
    assert new[2:] == mac[2:]


@pytest.mark.parametrize('version,options', [
    ('mke2fs 1.42.9 (4-Feb-2014)', []),
    ('mke2fs 1.45.5 (07-Jan-2020)',
     ['-O', '^metadata_csum,^metadata_csum_seed']),
    ('mke2fs 1.47.0 (5-Feb-2023)',
     ['-O', '^metadata_csum,^metadata_csum_seed,^orphan_file']),
    ('', []),
])
def test_ext4_options_follow_the_mke2fs_version(version, options):
    assert fixes.ext4_feature_options(version) == options


def test_disk_layout_with_and_without_swap():
    assert fixes.disk_layout(100 << 30, 0)['root_end_mib'] == 102400
    layout = fixes.disk_layout(100 << 30, 4 << 30)
    assert (layout['root_end_mib'], layout['swap_mib']) == (98304, 4096)
    assert layout['root_bytes'] == (98304 - 1) << 20


@pytest.mark.parametrize('text,value', [('4G', 4 << 30), ('512', 512 << 20),
                                        ('1.5G', 3 << 29), ('100GiB', 100 << 30),
                                        (2048, 2048 << 20)])
def test_sizes(text, value):
    assert units.parse_size_default_mib(text) == value


STATS = """
Number of files: 21,503 (reg: 20,001, dir: 1,502)
Number of created files: 3
Number of deleted files: 2
Number of regular files transferred: 211
Total file size: 1,073,741,824 bytes
Total transferred file size: 10,485,760 bytes
"""


def test_rsync_stats_parsing():
    assert rsyncing.parse_stats(STATS) == {
        'files': 21503, 'deleted': 2, 'files_transferred': 211,
        'total_bytes': 1073741824, 'transferred_bytes': 10485760}


class Log:
    def __init__(self):
        self.lines = []

    def info(self, fmt, *args):
        self.lines.append(fmt % args)


def test_progress_reporter_reads_carriage_returns_and_keeps_stats():
    ticks = iter(range(0, 1000, 3))

    def clock():
        return next(ticks)
    log = Log()
    reporter = rsyncing.ProgressReporter(log, 'warm sync', every=5,
                                         clock=clock)
    reporter.feed('     32,768   0%    0.00kB/s    0:00:00 (xfr#1, to-chk='
                  '99/101)\r  524,288,000  50%   100.00MB/s    0:00:05 '
                  '(xfr#50, to-chk=50/101)\r')
    reporter.feed('1,048,576,000 100%  100.00MB/s    0:00:10 (xfr#100, '
                  'to-chk=0/101)\n' + STATS)
    stats = reporter.finish()
    assert stats['files'] == 21503
    assert any('500.0 MiB copied (50%), 50 files, 100.00MB/s, 0:00:05 left'
               in line for line in log.lines)


def test_sync_command_keeps_everything():
    argv = rsyncing.sync_argv('/', ['/proc/*'], 'ssh -p 22', 'h:/mnt/x',
                              ['--bwlimit=1000'])
    assert argv[:3] == ['rsync', '-aAXHS', '--numeric-ids']
    assert '--delete' in argv and '--exclude=/proc/*' in argv
    assert argv[-2:] == ['/', 'h:/mnt/x/']
    verify = rsyncing.verify_argv('/src/', [], 'ssh', 'h:/m')
    assert {'--dry-run', '--checksum', '--itemize-changes'} <= set(verify)
    quick = rsyncing.verify_argv('/src/', [], 'ssh', 'h:/m', checksum=False)
    assert '--checksum' not in quick and '--dry-run' in quick
    listed = rsyncing.listed_verify_argv('/src/', 'ssh', 'h:/m')
    assert {'--checksum', '--from0', '--files-from=-'} <= set(listed)


def test_itemized_output_names_what_was_sent():
    """Names as rsync prints them (escaped, after a progress line, links,
    deletions) come back as paths; only regular files count as sent."""
    out = [u'<f+++++++++ var/log/a b.log',
           u'   1,234  10%  1.00MB/s  0:00:01\r>f.st...... etc/x\\#012y',
           u'*deleting   var/old/', u'cL+++++++++ etc/l -> target',
           u'.d..t...... boot/', u'>f..t...... caf\\#303\\#251',
           u'Number of files: 3']
    items = rsyncing.itemized(out)
    assert [n for _, n in items] == [u'var/log/a b.log', u'etc/x\ny',
                                     u'var/old', u'etc/l', u'boot', u'caf\xe9']
    assert rsyncing.sent_files(items) == [u'var/log/a b.log', u'etc/x\ny',
                                          u'caf\xe9']
    assert rsyncing.files_from_input([u'a', u'caf\xe9']) == \
        b'a\0caf\xc3\xa9\0'


def sample_params(**extra):
    values = {'name': 'fuel_master', 'admin_interface': 'eth0',
              'admin_mac': '52:54:00:00:00:02', 'admin_bridge': 'br-fw-admin',
              'admin_nic_xml': '', 'admin_address': '10.20.0.2',
              'memory': 2 << 30, 'vcpus': 2}
    values.update(extra)
    return Params(values)


FACTS = Facts({'domain_uuid': '6b1b0c1e-6f77-4cbb-9a8c-2b1f6d0f8a11',
               'root_uuid': '0f6c7a9e-0000-4000-8000-000000000001',
               'image': '/var/lib/nova/fuel_master.img',
               'nics': [{'interface': 'eth1', 'mac': '52:54:00:00:01:02',
                         'bridge': 'br-prv',
                         'extra_xml': "<virtualport type='openvswitch'/>"}]})


def test_domain_xml_passes_libvirt_schema(tmp_path):
    xml = template.render_domain(sample_params(), FACTS)
    path = os.path.join(str(tmp_path), 'domain.xml')
    with open(path, 'wb') as handle:
        handle.write(xml.encode('utf-8'))
    check = subprocess.Popen(['virt-xml-validate', path, 'domain'],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = check.communicate()
    assert check.returncode == 0, err


def test_domain_xml_shape():
    root = ET.fromstring(template.render_domain(sample_params(), FACTS))
    nics = root.findall('devices/interface')
    assert [(n.find('mac').get('address'), n.find('source').get('bridge'))
            for n in nics] == [('52:54:00:00:00:02', 'br-fw-admin'),
                               ('52:54:00:00:01:02', 'br-prv')]
    assert nics[1].find('virtualport').get('type') == 'openvswitch'
    assert root.find('devices/disk/boot').get('order') == '1'
    graphics = root.find('devices/graphics')
    assert graphics.get('listen') == '127.0.0.1'
    assert root.find('memory').text == '2048'
    assert root.find('metadata/{%s}migration' % template.NAMESPACE) is not None


def test_the_domain_xml_reads_back_the_fields_it_was_written_from():
    """Each element is declared once (template.DOMAIN, INTERFACE) for
    writing and reading: what goes in comes back, characters XML escapes
    included."""
    facts = Facts(dict(FACTS.data, image='/var/lib/nova/m&a<st>er.img'))
    params = sample_params(name='fuel_master-2', vcpus=3, memory=3 << 30,
                           virt_type='qemu', admin_address='10.20.0.9')
    back = template.read_domain(template.render_domain(params, facts))
    assert back == {
        'virt_type': 'qemu', 'name': 'fuel_master-2',
        'uuid': '6b1b0c1e-6f77-4cbb-9a8c-2b1f6d0f8a11',
        'admin_address': '10.20.0.9',
        'root_uuid': '0f6c7a9e-0000-4000-8000-000000000001',
        'memory_mib': 3072, 'vcpus': 3,
        'disk_path': '/var/lib/nova/m&a<st>er.img', 'disk_device': 'vda',
        'nics': [('52:54:00:00:00:02', 'br-fw-admin'),
                 ('52:54:00:00:01:02', 'br-prv')], 'extra_disks': []}


def test_domain_xml_round_trips_through_libvirt_test_driver():
    libvirt = pytest.importorskip('libvirt')
    conn = libvirt.open('test:///default')
    try:
        xml = template.render_domain(sample_params(name='rfm-unit'), FACTS)
        dom = conn.defineXML(xml)
        back = ET.fromstring(dom.XMLDesc(0))
        assert [m.get('address') for m in back.iter('mac')] == [
            '52:54:00:00:00:02', '52:54:00:00:01:02']
        assert dom.UUIDString() == FACTS.domain_uuid
        dom.undefine()
    finally:
        conn.close()


def test_plan_lists_steps_in_order_and_downtime():
    p = sample_params(source_root='/', admin_prefix=24, destination='virt',
                      ssh_user='root', ssh_port=22, disk_size=100 << 30,
                      interim_address='10.20.0.250', verify='checksum',
                      boot_loader='auto', boot_timeout=900, poweroff=True)
    facts = Facts(dict(FACTS.data, data_files=1000, data_bytes=1500 << 20,
                       scan_seconds=2.0, services_kind='systemd',
                       layout=fixes.disk_layout(100 << 30, 0)))
    text = steptable.format_plan(p, facts, ([['systemctl', 'stop', 'nailgun']],
                                            []))
    assert '1000 files, 1.5 GiB' in text
    assert text.index('preflight') < text.index('warm_sync') < \
        text.index('checksum_pass') < text.index('stop_services') < text.index('final_sync') < \
        text.index('switch_over')
    assert 'expected downtime: about' in text
    assert 'systemctl stop nailgun' in text


@pytest.mark.parametrize('virt_type', ['kvm', 'qemu'])
def test_domain_type_follows_virt_type(virt_type):
    xml = template.render_domain(sample_params(virt_type=virt_type), FACTS)
    assert ET.fromstring(xml).get('type') == virt_type


@pytest.mark.parametrize('script', [n for n in dir(__import__(
    'master_migration.remote_sh', fromlist=['x'])) if n.isupper()])
def test_destination_scripts_are_valid_posix_sh(script):
    from master_migration import remote_sh
    check = subprocess.Popen(['dash', '-n'], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = check.communicate(getattr(remote_sh, script).encode('utf-8'))
    assert check.returncode == 0, err


@pytest.mark.parametrize('stderr,expected', [
    ('Host key verification failed.', 'ssh-keyscan -p 2222 -H virt-1 >> '
                                      '/kh'),
    ('@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key '
     'verification failed.', 'ssh-keygen -R "[virt-1]:2222" -f /kh'),
    ('root@virt-1: Permission denied (publickey).', "authorized_keys"),
    ('ssh: connect to host virt-1 port 2222: No route to host',
     'cannot reach it with ssh on port 2222: ssh: connect to host'),
])
def test_ssh_failures_say_what_to_do(stderr, expected):
    from master_migration.commands import CommandError
    from master_migration.preflight import describe_ssh_failure
    p = Params({'destination': 'virt-1', 'ssh_port': 2222,
                'ssh_known_hosts': '/kh', 'ssh_user': 'root'})
    text = describe_ssh_failure(p, CommandError(['ssh'], 255, stderr))
    assert expected in text
    if 'CHANGED' not in stderr and 'verification' in stderr:
        assert 'nothing is trusted silently' in text


def test_old_rsync_gets_per_file_progress_and_is_still_parsed():
    assert rsyncing.progress_option(
        'rsync  version 3.0.9  protocol version 30') == '--progress'
    assert rsyncing.progress_option(
        'rsync  version 3.2.7  protocol version 31') == '--info=progress2'
    line = '     1048576 100%   12.34MB/s    0:00:01 (xfer#12, to-check=34/100)'
    assert rsyncing.parse_progress(line)['files'] == 12


@pytest.mark.parametrize('existing', [False, True])
def test_the_image_is_created_private(tmp_path, existing):
    """Issue 9 point 3: the image holds /etc/shadow and root's key: 0600,
    whatever the umask, also when an earlier run left it 0644."""
    import stat
    from master_migration import remote_sh
    bin_dir = os.path.join(str(tmp_path), 'bin')
    os.mkdir(bin_dir)
    for tool, body in (('qemu-img', ': > "$5"'), ('parted', 'exit 0')):
        path = os.path.join(bin_dir, tool)
        with open(path, 'w') as handle:
            handle.write('#!/bin/sh\n%s\n' % body)
        os.chmod(path, 0o755)
    img = os.path.join(str(tmp_path), 'fuel_master.img')
    if existing:
        open(img, 'w').close()
        os.chmod(img, 0o644)
    env = dict(os.environ, PATH=bin_dir + ':/usr/bin:/bin')
    check = subprocess.Popen(
        ['sh', '-c', 'umask 022; sh -s -- "$@"', 'sh', img, '1073741824',
         '100%', '0'], stdin=subprocess.PIPE, env=env)
    check.communicate(remote_sh.CREATE_IMAGE.encode('utf-8'))
    assert check.returncode == 0
    assert stat.S_IMODE(os.stat(img).st_mode) == 0o600

"""The only module that talks to libvirt (and qemu-img).

observe() reads what exists, measuring the disks of guests that left
vms_conf (measure()); apply() carries out a plan, guest by guest, in
parallel; retire() carries out a retire plan. A guest whose apply steps
fail is rolled back to what this run found: the domain this run defined is
undefined and the image this run created is removed, so the next run starts
that guest again from scratch.
"""
from __future__ import absolute_import, division, print_function

import collections
import json
import logging
import os
import stat
import time

import libvirt

from rf_common.text import to_native, to_text

from . import commands
from .parallel import parallel_map
from .safefile import makedirs
from . import diskuse
from . import imagefacts
from . import plan as planning
from . import render
from . import safefile

LOG = logging.getLogger('virt-guests')
PRIVATE = 0o600  # guest images: qemu's user (by dynamic_ownership) only
Result = collections.namedtuple('Result', 'name ok done error undone')
STATE_NAMES = {
    libvirt.VIR_DOMAIN_NOSTATE: 'no state', libvirt.VIR_DOMAIN_RUNNING: 'running',
    libvirt.VIR_DOMAIN_BLOCKED: 'blocked', libvirt.VIR_DOMAIN_PAUSED: 'paused',
    libvirt.VIR_DOMAIN_SHUTDOWN: 'shutting down',
    libvirt.VIR_DOMAIN_SHUTOFF: 'shut off', libvirt.VIR_DOMAIN_CRASHED: 'crashed',
    libvirt.VIR_DOMAIN_PMSUSPENDED: 'suspended'}


class HypervisorError(Exception):
    """libvirt cannot be reached or answered with an error."""


class DiskReplaced(Exception):
    """The new image's path no longer names the file made for it."""


def _quiet(_context, _error):
    """libvirt prints every error to stderr by default; we raise instead."""


def connect(uri):
    libvirt.registerErrorHandler(_quiet, None)
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as error:
        raise HypervisorError('libvirt at %s does not answer: %s (is libvirtd '
                              'running?)' % (uri, to_text(error.get_error_message())))


def qemu_img_timeout():
    """Seconds a qemu-img info or map may take (env RF_QEMU_IMG_TIMEOUT, 120)."""
    try:
        return max(1, int(os.environ.get('RF_QEMU_IMG_TIMEOUT', '120')))
    except ValueError:
        return 120


def _qemu_img(subcommand, options, path):
    """-U: the image may be in use; qemu-img before 2.10 has no -U (nor the lock)."""
    timeout = qemu_img_timeout()
    status, out, err = commands.run(['qemu-img', subcommand, '-U'] + options + [path],
                                    timeout=timeout)
    if status != 0 and ('-U' in err or 'invalid option' in err):
        status, out, err = commands.run(['qemu-img', subcommand] + options + [path],
                                        timeout=timeout)
    return status, out, err


def disk_info(path, declared=None):
    """DiskFacts of an existing image, or None. declared: the format a
    domain gives it (None: the content decides). Read directly when it is
    qcow2 or raw (imagefacts), else by qemu-img; HypervisorError when
    qemu-img is missing, hangs or answers no JSON. What is not a regular
    file (a link, a directory, a FIFO) is named, never opened."""
    what = safefile.what_is(path)
    if what is None:
        return None
    if what != safefile.REGULAR:
        return planning.DiskFacts(path, None, None, what)
    found = imagefacts.read(path, declared)
    if found is not None:
        return planning.DiskFacts(path, found[0], found[1])
    options = ['--output=json'] + (['-f', declared] if declared else [])
    try:
        status, out, _ = _qemu_img('info', options, path)
    except commands.CommandError as error:
        raise HypervisorError('qemu-img info %s: cannot run it: %s' % (path, error))
    if status != 0:
        return planning.DiskFacts(path, None, None)
    try:
        info = json.loads(out)
        return planning.DiskFacts(path, info.get('format'), info.get('virtual-size'))
    except (ValueError, AttributeError):
        raise HypervisorError('qemu-img info %s gave no JSON: %r' % (path, out[:80]))


def _domains(conn, flags=0):
    """Every domain (flags: only some); HypervisorError when libvirt
    answers with an error."""
    try:
        return conn.listAllDomains(flags)
    except libvirt.libvirtError as error:
        raise HypervisorError('libvirt: listing the domains failed: %s'
                              % to_text(error.get_error_message()))


def _guest_bytes(path, ranges, guest_offset, size):
    """size bytes the guest sees at guest_offset, read from the image file."""
    kind, where = diskuse.locate(ranges, guest_offset)
    if kind == diskuse.ZERO:
        return bytearray(size)
    if kind == diskuse.UNKNOWN:
        raise diskuse.Unmeasurable(where)
    with open(path, 'rb') as image:
        image.seek(where)
        found = bytearray(image.read(size))
    return found + bytearray(size - len(found))


def measure(path, disk_format=None):
    """diskuse.DiskUse of an image: data allocated (qemu-img map) and the
    partition table signatures in the first sectors the guest sees."""
    if not path or safefile.what_is(path) != safefile.REGULAR:
        return diskuse.unmeasured(path, 'no image file at %s' % path)
    options = ['--output=json'] + (['-f', disk_format] if disk_format else [])
    try:
        status, out, err = _qemu_img('map', options, path)
        if status != 0:
            raise diskuse.Unmeasurable('qemu-img map failed: %s' % err.strip())
        ranges = diskuse.extents(out)
        first = _guest_bytes(path, ranges, 0, diskuse.SECTOR)
        after = _guest_bytes(path, ranges, diskuse.SECTOR, 8)
    except (diskuse.Unmeasurable, commands.CommandError) as error:
        return diskuse.unmeasured(path, str(error))
    except (IOError, OSError) as error:
        return diskuse.unmeasured(path, 'cannot read it: %s' % error)
    return diskuse.DiskUse(path, diskuse.data_bytes(ranges),
                           diskuse.partition_table(first, after), None)


def _names(conn, flags):
    return set(domain.name() for domain in _domains(conn, flags))


def _domain_states(conn):
    """[(domain, DomainState)] of every domain: one listing of all (running:
    an id, which the listing carries), one of the autostarted ones, and the
    XML of each (asking for several at once in threads saved no time)."""
    autostart = _names(conn, libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)
    found = []
    for domain in _domains(conn):
        try:
            facts = render.parse_domain(domain.XMLDesc(0))
        except libvirt.libvirtError:
            continue  # gone between listing and reading: not ours to mind
        found.append((domain, planning.DomainState(
            facts, domain.ID() != -1, facts.name in autostart)))
    return found


def _declared_formats(domains):
    """{image path: format} as the domains' XML gives them (None where
    two domains disagree)."""
    formats = {}
    for state in domains.values():
        for ref in state.facts.disks:
            if ref.path:
                known = formats.setdefault(ref.path, ref.format)
                formats[ref.path] = known if known == ref.format else None
    return formats


def observe(conn, disk_paths):
    """Observed: every domain libvirt has, the images at disk_paths, and the
    use of the other disks of our domains (guests that left vms_conf)."""
    domains = dict((state.facts.name, state) for _, state in _domain_states(conn))
    formats = _declared_formats(domains)
    disks = dict((path, disk_info(path, formats.get(path))) for path in disk_paths)
    uses = {}
    for state in domains.values():
        for ref in state.facts.disks if state.facts.guest_id is not None else ():
            if ref.path not in disks and ref.path not in uses:
                uses[ref.path] = measure(ref.path, ref.format)
    return planning.Observed(domains, dict((p, d) for p, d in disks.items() if d), uses)


def retire(conn, uuid, actions):
    """Carry out a retire plan on the domain with that UUID (the one that
    was planned, even if a namesake appeared). HypervisorError on failure."""
    doing = 'lookup of uuid %s' % uuid
    try:
        domain = conn.lookupByUUIDString(uuid)
        for action in actions:
            doing = '%s %s' % (action.kind, action.name)
            if action.kind == planning.STOP and domain.isActive():
                domain.destroy()
            elif action.kind == planning.UNDEFINE:
                domain.undefine()
            elif action.kind == planning.REMOVE_DISK:
                os.remove(action.name)
            LOG.info('%s %s', doing, 'as planned' if action.kind == planning.KEEP_DISK
                     else 'done')
    except libvirt.libvirtError as error:
        raise HypervisorError('%s failed: %s' % (doing, error.get_error_message()))
    except OSError as error:
        raise HypervisorError('%s failed: %s' % (doing, error))


def create_disk(path, disk_format, disk_bytes):
    """A new image, 0600 (it holds the guest's secrets); libvirt's
    dynamic_ownership gives it to qemu's user at start. O_EXCL so an image
    (or a link) that appeared meanwhile is kept and not followed; the file
    qemu-img wrote must still be the one made here."""
    # exist_ok: guests created in parallel may make the directory at once.
    makedirs(os.path.dirname(path), 0o755)
    # qemu-img reuses the file it is given, so the mode set here stays.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | safefile.O_NOFOLLOW, PRIVATE)
    try:
        os.fchmod(descriptor, PRIVATE)  # whatever the umask
        try:
            commands.check(['qemu-img', 'create', '-q', '-f', disk_format, path,
                            str(disk_bytes)], timeout=300)
            _same_file(path, descriptor)
        except (commands.CommandError, DiskReplaced, OSError):
            _remove_if_same(path, descriptor)
            raise
    finally:
        os.close(descriptor)


def _same_file(path, descriptor):
    """DiskReplaced unless path is still the file open as descriptor."""
    made, there = os.fstat(descriptor), os.lstat(path)
    if (made.st_dev, made.st_ino) != (there.st_dev, there.st_ino):
        raise DiskReplaced('%s was replaced by %s while qemu-img wrote it; it is '
                           'left alone' % (path, safefile.kind(there.st_mode)))


def _remove_if_same(path, descriptor):
    try:
        _same_file(path, descriptor)
    except (DiskReplaced, OSError):
        return  # not ours any more: left alone
    os.remove(path)


def _still_an_image(path):
    """DiskReplaced when what the plan saw as an image (or made) at path is
    now a link, a FIFO or anything but a regular file: libvirt would hand
    its target to qemu. (Only a root-only disk folder closes the window.)"""
    what = safefile.what_is(path)
    if what is not None and what != safefile.REGULAR:
        raise DiskReplaced('%s is now %s, not a disk image; nothing more is done '
                           'for this guest' % (path, what))


def tighten_disks(paths):
    """Make the declared guests' existing images 0600 (releases before 1.0
    made them 0644); other files, links and what they point to are not
    touched. Returns what changed."""
    changed = []
    for path in paths:
        try:
            descriptor = safefile.open_regular(path)
        except (safefile.NotRegular, OSError):
            continue  # not created yet, or refused by the plan
        try:
            mode = stat.S_IMODE(os.fstat(descriptor).st_mode)
            if mode & 0o077:
                os.fchmod(descriptor, mode & 0o700 | PRIVATE)
                changed.append('%s was mode %04o: now %04o (guest disks are private)'
                               % (path, mode, mode & 0o700 | PRIVATE))
        finally:
            os.close(descriptor)
    return changed


class GuestRun(object):
    """The steps of one guest in one run, and how to undo them."""

    def __init__(self, conn, name, want, xml, disk_bytes):
        self.conn, self.name, self.want, self.xml = conn, name, want, xml
        self.disk_bytes = disk_bytes
        self.done, self.undone = [], []
        self.defined_here = self.disk_created_here = self.paused_here = False
        self.resume_later = False  # set by apply() when an autostart step follows
        self.domain = None  # looked up once, or the one defineXML returned

    def step(self, kind):
        started = time.time()
        if kind in (planning.DEFINE, planning.START):
            _still_an_image(self.want.disk_path)
        if kind == planning.CREATE_DISK:
            create_disk(self.want.disk_path, self.want.disk_format, self.disk_bytes)
            self.disk_created_here = True
        elif kind == planning.DEFINE:
            self.domain = self.conn.defineXML(to_native(self.xml))
            self.defined_here = True
        elif kind == planning.START:
            self._start()
        elif kind == planning.AUTOSTART:
            self._resume()
            self._domain().setAutostart(1)
        elif kind == planning.REMOVE_UNDECLARED:
            self._remove()
        self.done.append(kind)
        LOG.info('%s: %s done in %.3f s', self.name, kind, time.time() - started)

    def _start(self):
        """Paused when autostart follows (it resumes): then the guests that
        already run do not slow the later starts down. A guest left paused
        by a stopped run has autostart off, so the next run resumes it."""
        if self.resume_later:
            try:
                self._domain().createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
                self.paused_here = True
                return
            except libvirt.libvirtError as error:
                if error.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
                    raise  # else: a driver without the flag (test:///)
        self._domain().create()

    def _resume(self):
        domain = self._domain()
        if self.paused_here or domain.state()[0] == libvirt.VIR_DOMAIN_PAUSED:
            domain.resume()
            self.paused_here = False

    def _domain(self):
        if self.domain is None:
            self.domain = self.conn.lookupByName(self.name)
        return self.domain

    def _remove(self):
        domain = self.conn.lookupByName(self.name)
        if domain.isActive():
            domain.destroy()
        domain.undefine()

    def rollback(self):
        if self.defined_here:
            try:
                self._remove()
                self.undone.append('undefined the domain')
            except libvirt.libvirtError as error:
                LOG.error('%s: could not undefine: %s', self.name,
                          to_text(error.get_error_message()))
        if self.disk_created_here and os.path.exists(self.want.disk_path):
            os.remove(self.want.disk_path)
            self.undone.append('removed %s' % self.want.disk_path)

    def run(self, kinds):
        try:
            for kind in kinds:
                self.step(kind)
        except (libvirt.libvirtError, commands.CommandError, DiskReplaced,
                OSError) as error:
            message = to_text(error.get_error_message()
                              if isinstance(error, libvirt.libvirtError) else error)
            LOG.error('%s: %s failed: %s', self.name, kind, message)
            self.rollback()
            if self.undone:
                LOG.error('%s: rolled back: %s', self.name, '; '.join(self.undone))
            return Result(self.name, False, self.done, message, self.undone)
        return Result(self.name, True, self.done, None, [])


def group_by_guest(actions):
    grouped = collections.OrderedDict()
    for action in planning.changes(actions):
        grouped.setdefault(action.name, []).append(action.kind)
    return grouped


def apply(conn, actions, desired, parallel):
    """Carry out the changing actions. desired: name -> (want, xml, bytes).
    Guests are independent: up to `parallel` at once on one connection
    (libvirt connections are thread-safe)."""
    grouped = group_by_guest(actions)
    runs = []
    for name, kinds in grouped.items():
        want, xml, disk_bytes = desired.get(name, (None, None, 0))
        guest = GuestRun(conn, name, want, xml, disk_bytes)
        guest.resume_later = planning.AUTOSTART in kinds
        runs.append((guest, kinds))
    # Autostart (which resumes) once every guest has started.
    started = parallel_map(
        lambda pair: pair[0].run([k for k in pair[1] if k != planning.AUTOSTART]),
        runs, parallel)
    return parallel_map(_autostart, list(zip(runs, started)), parallel)


def _autostart(item):
    """The Result of a guest once its autostart step (if planned) ran too."""
    (guest, kinds), result = item
    if result.ok and planning.AUTOSTART in kinds:
        return guest.run([planning.AUTOSTART])
    return result


def _nic_dicts(facts):
    return [{'mac': nic.mac, 'bridge': nic.bridge} for nic in facts.nics]


def _disk_dicts(facts):
    found = []
    for ref in facts.disks:
        info = disk_info(ref.path, ref.format) if ref.path else None
        found.append({'path': ref.path, 'format': ref.format,
                      'exists': info is not None,
                      'virtual_bytes': info.virtual_bytes if info else None})
    return found


def status(conn, node_uid, declared_names):
    """One dict per guest of this node (declared or ours in libvirt)."""
    rows = collections.OrderedDict((name, {'name': name, 'declared': True,
                                           'state': 'not defined'})
                                   for name in declared_names)
    for domain, state in _domain_states(conn):
        if state.facts.node_uid != node_uid or state.facts.guest_id is None:
            continue
        facts = state.facts
        row = rows.setdefault(facts.name, {'name': facts.name, 'declared': False})
        row.update({
            'id': facts.guest_id, 'uuid': facts.uuid,
            'state': STATE_NAMES.get(domain.state()[0], 'unknown'),
            'autostart': state.autostart, 'vcpu': facts.vcpu,
            'memory_mib': (facts.memory_kib or 0) // 1024,
            'admin_mac': facts.nics[0].mac if facts.nics else None,
            'nics': _nic_dicts(facts), 'disks': _disk_dicts(facts)})
    return list(rows.values())

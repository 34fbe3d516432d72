"""The run's state file (atomic JSON) and its lock."""
from __future__ import absolute_import, division, print_function

import errno
import fcntl
import json
import os
import stat
import time

from master_migration.facts import Facts, FactsError
from master_migration.record import Field, Record, RecordError

# No link followed, no block on a FIFO.
_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0)


class LockBusy(Exception):
    pass


def work_dir_problem(path):
    """Why the work_dir (state, lock, log) is not safe to write in, or
    None: it must be a folder of the running user that others cannot
    write, not a link (another user could plant links in it)."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return 'work_dir: %s is a symbolic link; give the folder itself' % path
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        return ('work_dir: %s is owned by uid %d, mode %04o: it must be this '
                "user's alone (mode 0750 or tighter); pick another folder or fix it"
                % (path, info.st_uid, stat.S_IMODE(info.st_mode)))
    return None


class Lock(object):
    """flock on <work_dir>/lock: released by the kernel when the holder
    dies, so a killed run never leaves a stale lock; kept across the fork
    into the background."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def acquire(self):
        """Never through a link, only a regular file; LockBusy otherwise."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o600)
        except OSError as exc:
            raise LockBusy('cannot open the lock %s: %s (a link or no file '
                           'there?); remove it' % (self.path, exc.strerror))
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise LockBusy('the lock %s is not a regular file; remove it'
                           % self.path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError) as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.read(fd, 64).decode('ascii', 'replace').strip()
            os.close(fd)
            raise LockBusy('another rf-migrate-master run holds %s (pid %s); '
                           'wait for it or follow its log' % (
                               self.path, holder or '?'))
        os.ftruncate(fd, 0)
        os.write(fd, ('%d\n' % os.getpid()).encode('ascii'))
        self.fd = fd

    def note_pid(self):
        """After the fork into the background the holder's pid changes."""
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.lseek(self.fd, 0, os.SEEK_SET)
            os.write(self.fd, ('%d\n' % os.getpid()).encode('ascii'))

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def write_atomically(path, data):
    """path replaced by data whole (a kill leaves the old or the new file);
    its temporary file made anew, never through a link."""
    tmp = '%s.tmp.%d' % (path, os.getpid())
    try:
        os.unlink(tmp)  # a killed run's, of the same pid
    except OSError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                 getattr(os, 'O_NOFOLLOW', 0), 0o666)
    try:
        while data:
            data = data[os.write(fd, data):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)
    dir_fd = os.open(os.path.dirname(path) or '.', os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def shape_problem(data):
    """What is wrong with the shape of a loaded state, or None."""
    if not isinstance(data, dict):
        return 'a JSON %s instead of an object' % type(data).__name__
    for key in ('steps', 'facts', 'params'):
        if not isinstance(data.get(key, {}), dict):
            return '"%s" is not an object' % key
    for key in ('steps', 'facts', 'params'):
        if key not in data:
            return 'no "%s"' % key
    if not all(isinstance(v, dict) for v in data['steps'].values()):
        return 'an entry of "steps" is not an object'
    try:
        facts = Facts(data['facts'])
    except FactsError as exc:
        return '"facts": %s' % exc
    try:
        State(None, data)
    except RecordError as exc:
        return str(exc)
    if data['steps'].get('preflight', {}).get('status') == 'done' and \
            facts.missing():
        return '"facts" lacks %s, which preflight sets' % ', '.join(
            facts.missing())
    return None


class State(Record):
    """What the run did so far, one typed field per JSON key of the state
    file. Setting a field writes the file at once (temp file, then
    rename), so a kill at any moment leaves either the old or the new one;
    a field that is a container is written by save() after a change."""
    __slots__ = ('path',)
    KIND = 'run state field'

    version = Field(1, 'the state file\'s format')
    created = Field(None, 'when the run started (epoch seconds)')
    status = Field('running', 'running, done, rolling-back, '
                              'rollback-incomplete or rolled-back')
    error = Field(None, '{step, message} of the failure rolled back')
    params = Field({}, 'the parameters, as params.Params.as_dict gives them')
    facts = Field({}, 'what preflight found and the steps learnt', Facts)
    steps = Field({}, '{step id: {status, started, finished, duration, '
                      'attempts, error}}')
    # prepare_disk, stop_services
    image_created = Field(False, 'this run made the disk image')
    services = Field(None, '{stop: [argv], start: [argv]} planned once')
    services_stopped = Field(False, 'the stop commands have begun')
    downtime_started = Field(None, 'when the first service stopped')
    # the syncs
    warm_stats = Field(None, 'the warm sync\'s rsync figures')
    unsettled = Field([], 'names the checksum pass\'s last round sent')
    final_stats = Field(None, 'the final sync\'s rsync figures')
    final_sent = Field([], 'files the final sync sent (checksummed after)')
    final_boot_inputs = Field([], 'boot loader inputs the final sync '
                                  'touched')
    verify_seconds = Field(None, 'how long the verification took')
    # the fixes
    fixed_paths = Field([], 'files the fixes wrote into the copy')
    boot_loader_fstab = Field(None, 'the source\'s etc/fstab the boot '
                                    'loader ran with')
    boot_loader_grub = Field(None, 'the source\'s etc/default/grub then')
    # the docker PV (Fuel 8.0)
    docker_transaction_id = Field(None, 'the thin pool\'s at the stop')
    docker_vg_deactivated = Field(False, 'vgchange -an was run')
    docker_final = Field(None, 'the figures of its final pass')
    # switch_over
    switch_started = Field(None, 'when the admin address began to move')
    guest_started = Field(None, 'when the guest was started')
    guest_answered = Field(None, 'when the guest answered on ssh and API')

    def __init__(self, path, data=None):
        Record.__init__(self, data if data is not None else {
            'version': 1, 'created': time.time(), 'steps': {}, 'facts': {},
            'params': {}, 'status': 'running'})
        self.path = path

    @classmethod
    def load(cls, path):
        """None when there is no file; ValueError when it is not a state."""
        try:
            with open(path, 'rb') as handle:
                return cls.from_json(path, handle.read().decode('utf-8'))
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise

    @classmethod
    def from_json(cls, path, text):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError('%s is not valid JSON (%s); move it away to '
                             'start over' % (path, exc))
        problem = shape_problem(data)
        if problem:
            raise ValueError('%s is not a state file of rf-migrate-master '
                             '(%s); move it away to start over' % (path,
                                                                   problem))
        return cls(path, data)

    def to_json(self):
        return json.dumps(self.data, indent=1, sort_keys=True) + '\n'

    def save(self):
        write_atomically(self.path, self.to_json().encode('utf-8'))

    def changed(self):
        if self.path is not None:
            self.save()

    def step(self, step_id):
        return self.steps.get(step_id, {})

    def is_done(self, step_id):
        return self.step(step_id).get('status') == 'done'

    def mark_started(self, step_id):
        entry = self.steps.setdefault(step_id, {})
        entry.update({'status': 'running', 'started': time.time()})
        entry['attempts'] = entry.get('attempts', 0) + 1
        self.save()

    def mark_done(self, step_id):
        entry = self.steps.setdefault(step_id, {})
        now = time.time()
        entry.update({'status': 'done', 'finished': now,
                      'duration': now - entry.get('started', now)})
        self.save()

    def mark_failed(self, step_id, error):
        self.steps.setdefault(step_id, {}).update({'status': 'failed',
                                                   'error': error})
        self.save()

    def archive(self, suffix):
        target = '%s.%s.%d' % (self.path, suffix, int(time.time()))
        os.rename(self.path, target)
        return target

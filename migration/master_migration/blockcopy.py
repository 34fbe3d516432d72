"""A device copied block for block into an image on the virt node, in
chunks: hashed here, sent when the copy's chunk differs, hashed there to
verify. The warm pass sends everything that is not zero while the master
serves; the pass while stopped reads the device again and sends only the
chunks whose hash changed since.

The destination's side is WRITER, a small Python program run by the virt
node's own python (2.7 or 3): it writes framed chunks at their offsets and
hashes chunks of the image, skipping holes."""
from __future__ import absolute_import, division, print_function

import hashlib
import json
import os
import stat
import struct
import threading
import time

from master_migration.dockerpool import read_small
from master_migration.state import write_atomically

CHUNK = 4 * 1024 * 1024
FRAME = struct.Struct('>QI')  # offset, length; a length of 0 ends
_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)


def zero_hash(size=CHUNK):
    return hashlib.sha1(b'\0' * size).hexdigest()


def chunk_count(size, chunk=CHUNK):
    return (size + chunk - 1) // chunk


def chunk_length(index, size, chunk=CHUNK):
    return min(chunk, size - index * chunk)


def blank_hashes(size, chunk=CHUNK):
    """What a new sparse image holds: zeros everywhere."""
    full = zero_hash(chunk)
    out = [full] * chunk_count(size, chunk)
    if size % chunk:
        out[-1] = zero_hash(size % chunk)
    return out


def changed(old, new):
    """Indices whose hash differs (a missing old one counts as changed; a
    chunk not hashed anew, None, as not)."""
    return [i for i, h in enumerate(new)
            if h is not None and (i >= len(old) or old[i] != h)]


def frames(read_chunk, indices, known, tally, chunk=CHUNK):
    """The byte strings that carry those of the chunks `indices` whose
    hash differs from known[i] (read_chunk(i) gives chunk i's bytes), then
    the end frame. known[i] becomes the hash of what was sent; tally
    counts [chunks, bytes]."""
    for index in indices:
        data = read_chunk(index)
        digest = hashlib.sha1(data).hexdigest()
        if known[index] == digest:
            continue
        known[index] = digest
        tally[0] += 1
        tally[1] += len(data)
        yield FRAME.pack(index * chunk, len(data)) + data
    yield FRAME.pack(0, 0)


def open_device(path, require_block=True):
    """A read-only descriptor on the PV, never through a link."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    mode = os.fstat(fd).st_mode
    if require_block and not stat.S_ISBLK(mode):
        os.close(fd)
        raise OSError('%s is not a block device' % path)
    return fd


def read_at(fd, offset, length):
    """os.pread for Python 2.7 too (each thread has its own fd)."""
    os.lseek(fd, offset, os.SEEK_SET)
    parts, left = [], length
    while left:
        data = os.read(fd, left)
        if not data:
            raise IOError('short read at %d: the device ended early' % offset)
        parts.append(data)
        left -= len(data)
    return b''.join(parts)


def hash_device(path, size, chunk=CHUNK, workers=2, require_block=True,
                indices=None):
    """sha1 of every chunk (or of the chunks `indices`; None for the
    others), by `workers` threads (hashlib and os.read let go of the GIL),
    each with its own descriptor."""
    total = chunk_count(size, chunk)
    out = [None] * total
    wanted = list(range(total) if indices is None else indices)
    errors = []

    def work(first):
        fd = open_device(path, require_block)
        try:
            for index in wanted[first::workers]:
                data = read_at(fd, index * chunk,
                               chunk_length(index, size, chunk))
                out[index] = hashlib.sha1(data).hexdigest()
        except BaseException as exc:  # noqa: B902 - reported below
            errors.append(exc)
        finally:
            os.close(fd)

    threads = [threading.Thread(target=work, args=(n,))
               for n in range(min(workers, max(len(wanted), 1)))]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return out


class Reader(object):
    """Chunks of the device for frames(), one descriptor."""

    def __init__(self, path, size, chunk=CHUNK, require_block=True):
        self.fd = open_device(path, require_block)
        self.size, self.chunk = size, chunk

    def __call__(self, index):
        return self.at(index * self.chunk,
                       chunk_length(index, self.size, self.chunk))

    def at(self, offset, length):
        return read_at(self.fd, offset, length)

    def close(self):
        os.close(self.fd)


# ---- what was sent: kept on the master for the pass while stopped ------

def load_sent(path, size, chunk=CHUNK):
    """The hashes the copy holds as far as this run knows, or None."""
    text = read_small(path, 1 << 30)
    try:
        doc = json.loads(text) if text is not None else {}
    except ValueError:
        return None
    if doc.get('size') != size or doc.get('chunk') != chunk:
        return None
    return doc.get('hashes')


def save_sent(path, size, hashes, chunk=CHUNK):
    write_atomically(path, json.dumps({'size': size, 'chunk': chunk,
                                       'hashes': hashes}).encode('ascii'))


def forget_sent(path):
    try:
        os.unlink(path)
    except OSError:
        pass


# ---- the virt node's side ------------------------------------------------

# argv: version (prints "python X.Y"), write IMAGE (frames on stdin;
# prints "wrote N BYTES"), or
# hash IMAGE CHUNK SIZE (indices on stdin, one a line, or "all"; prints
# "INDEX SHA1" a line). The image must be a regular file already there
# (made by the prepare_disk step): opened without following a link.
WRITER = r'''
import errno, hashlib, os, stat, struct, sys
FRAME = struct.Struct('>QI')
SEEK_DATA = getattr(os, 'SEEK_DATA', 3)
def fail(text):
    sys.stderr.write(text + '\n'); sys.exit(1)
def open_image(path, flags):
    try:
        fd = os.open(path, flags | getattr(os, 'O_NOFOLLOW', 0))
    except OSError as exc:
        fail('cannot open %s: %s' % (path, exc.strerror))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        fail('%s is not a regular file' % path)
    return fd
def read_exact(stream, size):
    parts = []
    while size:
        data = stream.read(size)
        if not data:
            fail('the input ended inside a frame')
        parts.append(data); size -= len(data)
    return b''.join(parts)
def write(path):
    fd = open_image(path, os.O_WRONLY)
    stream = getattr(sys.stdin, 'buffer', sys.stdin)
    count = total = 0
    while True:
        offset, length = FRAME.unpack(read_exact(stream, FRAME.size))
        if not length:
            break
        data = read_exact(stream, length)
        os.lseek(fd, offset, 0)
        while data:
            try:
                data = data[os.write(fd, data):]
            except OSError as exc:
                fail('writing %s at %d: %s' % (path, offset, exc.strerror))
        count += 1; total += length
    try:
        os.fsync(fd)
    except OSError as exc:
        fail('flushing %s: %s' % (path, exc.strerror))
    os.close(fd)
    sys.stdout.write('wrote %d %d\n' % (count, total))
def is_hole(fd, offset, length):
    try:
        return os.lseek(fd, offset, SEEK_DATA) >= offset + length
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            return True
        return False
def hash_chunks(path, chunk, size):
    fd = open_image(path, os.O_RDONLY)
    if os.fstat(fd).st_size != size:
        fail('%s has %d bytes, not %d' % (path, os.fstat(fd).st_size, size))
    text = sys.stdin.read().split()
    count = (size + chunk - 1) // chunk
    indices = range(count) if text == ['all'] else [int(t) for t in text]
    zero = {}
    out = []
    for index in indices:
        offset = index * chunk
        length = min(chunk, size - offset)
        if is_hole(fd, offset, length):
            if length not in zero:
                zero[length] = hashlib.sha1(b'\0' * length).hexdigest()
            digest = zero[length]
        else:
            os.lseek(fd, offset, 0)
            digest = hashlib.sha1(os.read(fd, length)).hexdigest()
        out.append('%d %s\n' % (index, digest))
    sys.stdout.write(''.join(out))
if sys.argv[1] == 'write':
    write(sys.argv[2])
elif sys.argv[1] == 'version':
    sys.stdout.write('python %d.%d\n' % sys.version_info[:2])
else:
    hash_chunks(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
'''

# The virt node's python: Fuel's Ubuntu 14.04 nodes have python 2.7; others
# may have only python3.
RUN_PYTHON = ('for py in python3 python2 python; do '
              'if command -v "$py" >/dev/null 2>&1; then exec "$py" -c "$0" '
              '"$@"; fi; done; echo "no python on the virt node" >&2; '
              'exit 127')


def writer_argv(*args):
    return ['sh', '-c', RUN_PYTHON, WRITER] + [str(a) for a in args]


def parse_hashes(text, count):
    """'INDEX SHA1' lines -> {index: sha1}; a line out of range is an
    error (the program on the other side is not ours)."""
    out = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 2 or not fields[0].isdigit():
            raise ValueError('unexpected line from the virt node: %r' % line)
        index = int(fields[0])
        if index >= count:
            raise ValueError('chunk %d out of range' % index)
        out[index] = fields[1]
    return out


class Copier(object):
    """One device, one image on the virt node (through Remote)."""

    def __init__(self, remote, device, image, size, chunk=CHUNK,
                 require_block=True, workers=2):
        self.remote, self.device, self.image = remote, device, image
        self.size, self.chunk = size, chunk
        self.require_block, self.workers = require_block, workers

    def hash_here(self, indices=None):
        return hash_device(self.device, self.size, self.chunk, self.workers,
                           self.require_block, indices)

    def reader(self):
        """A Reader on the device (close it)."""
        return Reader(self.device, self.size, self.chunk, self.require_block)

    def send(self, indices, known, timeout):
        """Those of the chunks `indices` that differ from `known` (a list
        of hashes, updated to what was sent) written there; (chunks sent,
        bytes, seconds). `known` is right only when this returns."""
        started = time.time()
        tally = [0, 0]
        reader = self.reader()
        try:
            result = self.remote.feed(
                writer_argv('write', self.image),
                frames(reader, indices, known, tally, self.chunk), timeout)
        finally:
            reader.close()
        if result.stdout.split() != ['wrote', str(tally[0]), str(tally[1])]:
            raise IOError('the virt node reports %r, not %d chunks written' %
                          (result.stdout.strip() or 'nothing', tally[0]))
        return tally[0], tally[1], time.time() - started

    def hash_there(self, indices=None, timeout=3600):
        """{index: sha1} of the image's chunks (all when indices is None)."""
        count = chunk_count(self.size, self.chunk)
        text = 'all' if indices is None else '\n'.join(
            str(i) for i in indices)
        result = self.remote.run(writer_argv('hash', self.image, self.chunk,
                                             self.size), timeout=timeout,
                                 input_bytes=text.encode('ascii'))
        return parse_hashes(result.stdout, count)

    def mismatches(self, expected, indices=None, timeout=3600):
        """Indices whose chunk there differs from `expected`."""
        there = self.hash_there(indices, timeout)
        wanted = range(len(expected)) if indices is None else indices
        return [i for i in wanted if there.get(i) != expected[i]]

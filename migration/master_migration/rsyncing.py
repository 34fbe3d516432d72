"""rsync command lines and the pure parsing of what rsync prints."""
from __future__ import absolute_import, division, print_function

import re
import time

from master_migration import units

# -a -A -X -H -S plus numeric ids: owners, modes, ACLs, xattrs, hard links,
# sparse files, devices, symlinks kept exactly.
BASE = ['rsync', '-aAXHS', '--numeric-ids']
PROGRESS = re.compile(
    r'^\s*([\d,]+)\s+(\d+)%\s+(\S+/s)\s+(\d+:\d\d:\d\d)'
    r'(?:\s+\(xfe?r#(\d+), (?:ir|to)-ch(?:ec)?k=(\d+)/(\d+)\))?')
STAT_LINES = {
    'files': re.compile(r'^Number of files: ([\d,]+)'),
    'files_transferred': re.compile(
        r'^Number of (?:regular )?files transferred: ([\d,]+)'),
    'total_bytes': re.compile(r'^Total file size: ([\d,]+)'),
    'transferred_bytes': re.compile(r'^Total transferred file size: ([\d,]+)'),
    'deleted': re.compile(r'^Number of deleted files: ([\d,]+)'),
}
VANISHED = 24  # "some files vanished before they could be transferred"
PARTIAL = 23  # "partial transfer due to error", e.g. a listed name is gone


def source_path(source_root):
    return source_root.rstrip('/') + '/'


def excludes(patterns):
    return ['--exclude=' + p for p in patterns]


def size_scan_argv(source_root, patterns, empty_dir):
    """A local dry run into an empty folder: counts what a full copy moves."""
    return (BASE + ['--dry-run', '--stats'] + excludes(patterns) +
            [source_path(source_root), empty_dir.rstrip('/') + '/'])


def progress_option(version_text):
    """Whole-transfer progress needs rsync 3.1 (CentOS 7.2 masters have
    3.0.9: per-file progress there)."""
    match = re.search(r'version (\d+)\.(\d+)', version_text or '')
    if match and (int(match.group(1)), int(match.group(2))) < (3, 1):
        return '--progress'
    return '--info=progress2'


def sync_argv(source_root, patterns, rsh, target, extra=(),
              progress='--info=progress2'):
    return (BASE + ['--delete', progress, '--no-inc-recursive',
                    '--stats', '-e', rsh] + list(extra) +
            excludes(patterns) + [source_path(source_root), target + '/'])


def listed_sync_argv(source_root, patterns, rsh, target, names_file,
                     extra=(), progress='--info=progress2'):
    """Only the names in names_file (NUL-separated, relative), each alone
    (no recursion); no --delete: the deletions are done apart."""
    return (BASE + [progress, '--no-inc-recursive', '--stats', '-e', rsh,
                    '--from0', '--files-from=' + names_file] + list(extra) +
            excludes(patterns) + [source_path(source_root), target + '/'])


def verify_argv(source_root, patterns, rsh, target, checksum=True):
    """Must print nothing: any itemized line is a difference. Without
    checksum: rsync's quick check (size, mtime, mode, owner, links)."""
    return (BASE + ['--delete', '--dry-run', '--itemize-changes'] +
            (['--checksum'] if checksum else []) + ['-e', rsh] +
            excludes(patterns) + [source_path(source_root), target + '/'])


def listed_verify_argv(source_root, rsh, target):
    """Checksums of the files named on stdin (NUL-separated, relative to
    the source root); must print nothing."""
    return (BASE + ['--dry-run', '--checksum', '--itemize-changes',
                    '--from0', '--files-from=-', '-e', rsh,
                    source_path(source_root), target + '/'])


def files_from_input(names):
    return b''.join(n.encode('utf-8') + b'\0' for n in names)


def parse_stats(text):
    stats = {}
    for line in text.splitlines():
        for key, pattern in STAT_LINES.items():
            match = pattern.match(line.strip())
            if match:
                stats[key] = int(match.group(1).replace(',', ''))
    return stats


def parse_progress(line):
    match = PROGRESS.match(line)
    if not match:
        return None
    return {'bytes': int(match.group(1).replace(',', '')),
            'percent': int(match.group(2)), 'rate': match.group(3),
            'time': match.group(4),
            'files': int(match.group(5)) if match.group(5) else None}


class ProgressReporter(object):
    """Feeds on rsync's stdout; logs a progress line every `every` seconds
    and keeps the --stats block for the end."""

    def __init__(self, log, label, every=5.0, clock=time.time):
        self.log, self.label, self.every, self.clock = log, label, every, clock
        self.last_report = clock()
        self.buffer = ''
        self.text = []
        self.last = None

    def feed(self, chunk):
        self.buffer += chunk
        parts = re.split(r'[\r\n]', self.buffer)
        self.buffer = parts.pop()
        for part in parts:
            self._line(part)

    def _line(self, line):
        progress = parse_progress(line)
        if progress is None:
            if line.strip():
                self.text.append(line)
            return
        self.last = progress
        if self.clock() - self.last_report >= self.every:
            self.last_report = self.clock()
            self.log.info('%s: %s', self.label, describe_progress(progress))

    def finish(self):
        if self.buffer:
            self._line(self.buffer)
            self.buffer = ''
        return parse_stats('\n'.join(self.text))


def describe_progress(progress):
    files = progress['files']
    return '%s copied (%d%%), %s files, %s, %s %s' % (
        units.human_bytes(progress['bytes']), progress['percent'],
        '?' if files is None else files, progress['rate'], progress['time'],
        'elapsed' if progress['percent'] == 100 else 'left')


def differences(itemized):
    return [line for line in itemized.splitlines() if line.strip()]


# An --itemize-changes line: YXcstpoguax then the name ("*deleting  name"
# for a deletion); rsync writes unprintable name bytes as \#ooo.
ITEMIZED = re.compile(r'^([<>ch.][fdLDS][^ ]{7,10}|\*deleting) +(.+)$')
ESCAPED = re.compile(br'\\#([0-7]{3})')
UNREADABLE = u'\ufffd'  # a name that is not UTF-8: no listed check for it


def unescape(name):
    raw = ESCAPED.sub(lambda m: bytes(bytearray([int(m.group(1), 8)])),
                      name.encode('utf-8'))
    return raw.decode('utf-8', 'replace')


def itemized(lines):
    """(code, name) of each itemized line (progress text around it is
    dropped); a link's ' -> target' is cut off."""
    out = []
    for line in lines:
        match = ITEMIZED.match(line.split('\r')[-1])
        if match:
            name = match.group(2)
            if match.group(1)[1] == 'L':
                name = name.split(' -> ')[0]
            out.append((match.group(1), unescape(name).rstrip('/')))
    return out


def sent_files(items):
    """Regular files whose content rsync sent."""
    return [name for code, name in items if code[:2] in ('<f', '>f')]

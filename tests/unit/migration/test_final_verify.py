"""The verification after the final sync (services stopped) refuses a copy
that differs from the source, whichever way the final sync went. Its
commands are recorded, not run: the recorded rsync copies nothing, so a
copy answered as stale stays stale."""
from __future__ import absolute_import, division, print_function

import os

import pytest

from rf_common.text import to_text

from master_migration import copysync, finalsync, manifest, manifest_walk
from recorder import Recorder
from test_migration_dryrun import answer_listings, dry_ctx

# The delta's rsync, started ahead: names on stdin, changes itemized.
DELTA_SYNC = ['--files-from=-', '--itemize-changes']
# The checksums of the files sent while stopped (finalsync.listed_verify_argv).
SENT_CHECKSUMS = ['--dry-run', '--checksum', '--itemize-changes', '--from0',
                  '--files-from=-']


def write(ctx, name, text):
    with open(os.path.join(ctx.params.source_root, name), 'w') as handle:
        handle.write(text)


def listed_before_the_stop(ctx):
    """The copy's listing taken before the stop: the source as it was."""
    ctx.copy_listing = to_text(manifest_walk.manifest(
        ctx.params.source_root, copysync.sync_excludes(ctx)))


def test_a_full_final_sync_whose_copy_still_differs_is_refused(tmp_path):
    """The delta's rsync fails, so the full final sync runs. The copy
    still lacks a file written on the source after the copy was listed:
    its verification must say the copy differs (the step fails, the
    runner rolls back) rather than let the switch-over go ahead."""
    rec = Recorder()
    ctx = dry_ctx(tmp_path, rec)
    listed_before_the_stop(ctx)
    answer_listings(rec, ctx)  # the copy answers as the source was then
    write(ctx, 'etc/late', 'late\n')
    rec.answer(DELTA_SYNC, 255, '', 'ssh: connect to host virt-1 port 22: '
               'Connection refused\n')
    with pytest.raises(finalsync.CopyDiffers) as caught:
        finalsync.final_sync_and_verify(ctx)
    assert 'etc/late' in str(caught.value)
    assert [c for c in rec.calls if '--delete' in c and '--dry-run' not in c]


def test_a_file_sent_while_stopped_is_checksummed_and_a_difference_refused(
        tmp_path):
    """A file written on the source after the copy was listed: the final
    sync sends it. Its listing on the copy then agrees (size, mtime,
    owner...) but its checksum does not: the verification must say the
    copy differs, both after the listed changes and after the full
    final sync that follows them."""
    rec = Recorder()
    ctx = dry_ctx(tmp_path, rec)
    listed_before_the_stop(ctx)
    write(ctx, 'etc/late', 'late\n')
    patterns = copysync.sync_excludes(ctx)
    now = to_text(manifest.source_listing(ctx.params.source_root, patterns))
    rec.answer(SENT_CHECKSUMS, 0, '>fc........ etc/late\n')
    rec.answer(DELTA_SYNC, 0, '>f+++++++++ etc/late\n')
    rec.answer(['rfm-manifest', ctx.facts.mount_point, 'stdin-names'], 0,
               ''.join(line for line in now.splitlines(True)
                       if line.split('\t')[0] in ('.', 'etc', 'etc/late')))
    answer_listings(rec, ctx)  # by its listing the copy equals the source
    with pytest.raises(finalsync.CopyDiffers) as caught:
        finalsync.final_sync_and_verify(ctx)
    assert '>fc........ etc/late' in str(caught.value)
    assert ctx.state.final_sent == ['etc/late']
    checksummed = [c for c in rec.started if c.argv[:len(
        finalsync.listed_verify_argv(ctx))] == finalsync.listed_verify_argv(ctx)]
    assert checksummed and all(c.input == b'etc/late\0' for c in checksummed)


# The whole-tree rsync dry run of the verification (rsyncing.verify_argv).
WHOLE_DRY_RUN = ['--delete', '--dry-run', '--itemize-changes']


def whole_dry_runs(rec):
    return [c for c in rec.calls if c[:len(WHOLE_DRY_RUN) + 3][3:] == WHOLE_DRY_RUN]


def test_without_python_on_the_virt_node_rsync_compares_the_copy(tmp_path):
    """The copy cannot be listed there: rsync's quick check over every
    file (no checksums: those are for the sent files) finds the
    difference instead."""
    rec = Recorder()
    ctx = dry_ctx(tmp_path, rec)
    rec.answer(['rfm-manifest'], manifest.NO_PYTHON, '', 'sh: python: not found\n')
    rec.answer(WHOLE_DRY_RUN, 0, '>f.st...... etc/fstab\n')
    with pytest.raises(finalsync.CopyDiffers) as caught:
        finalsync.verify(ctx)
    assert '>f.st...... etc/fstab' in str(caught.value)
    (whole,) = whole_dry_runs(rec)
    assert '--checksum' not in whole


@pytest.mark.parametrize('how', ['a sent name that is not UTF-8',
                                 'an exclude the walker cannot follow'])
def test_what_the_listings_cannot_check_rsync_checks_whole(tmp_path, how):
    """A name not UTF-8 among the sent files: every file is compared by
    checksum. An exclude pattern the walker does not follow: rsync's
    quick check of every file. Either finds the difference."""
    rec = Recorder()
    ctx = dry_ctx(tmp_path, rec)
    if how.startswith('a sent name'):
        ctx.state.final_sent = [u'etc/caf\ufffd']
    else:
        ctx.params.exclude = list(ctx.params.exclude) + ['/var/***']
    rec.answer(WHOLE_DRY_RUN, 0, '>fc........ etc/fstab\n')
    with pytest.raises(finalsync.CopyDiffers):
        finalsync.verify(ctx)
    (whole,) = whole_dry_runs(rec)
    assert ('--checksum' in whole) == how.startswith('a sent name')
    assert not [c for c in rec.calls if 'rfm-manifest' in ' '.join(c)]


def test_a_hard_link_among_the_touched_names_has_the_copy_listed_whole(tmp_path, caplog):
    """The walker cannot list a hard-linked name alone: the copy is then
    listed whole, and a difference there fails the verification of the
    listed changes (then the full final sync's)."""
    rec = Recorder()
    ctx = dry_ctx(tmp_path, rec)
    listed_before_the_stop(ctx)
    answer_listings(rec, ctx)  # the copy as the source was: without etc/late
    write(ctx, 'etc/late', 'late\n')
    rec.answer(DELTA_SYNC, 0, '>f+++++++++ etc/late\n')
    rec.answer(['rfm-manifest', ctx.facts.mount_point, 'stdin-names'],
               manifest_walk.HARD_LINKED, '', '')
    with pytest.raises(finalsync.CopyDiffers):
        finalsync.final_sync_and_verify(ctx)
    assert 'final sync of the listed changes: verification: the copy differs' \
        in caplog.text

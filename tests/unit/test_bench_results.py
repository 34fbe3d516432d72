"""bench/results.py: a bench's section of bench/RESULTS.md is replaced and
nothing else of the file changes. Python 2.7 and 3."""
from __future__ import absolute_import, unicode_literals

import io
import os
import sys

import pytest

from lab.paths import REPO

sys.path.insert(0, os.path.join(REPO, 'bench'))  # bench/ is not a package
try:
    import results
finally:
    sys.path.pop(0)

FILE = ('# Bench results\n'
        '\n'
        'Intro, with trailing spaces  \n'
        '\n'
        '<!-- bench:alpha -->\n'
        'alpha old\n'
        '<!-- /bench:alpha -->\n'
        '\n'
        'Between the sections: \u00e9t\u00e9, kept.\r\n'
        '<!-- bench:beta -->\n'
        '| a | b |\n'
        '| --- | --- |\n'
        '| 1 | 2 |\n'
        '<!-- /bench:beta -->\n'
        'tail without a newline')


def write(path, text):
    with io.open(str(path), 'w', encoding='utf-8', newline='') as handle:
        handle.write(text)


def read(path):
    with io.open(str(path), encoding='utf-8', newline='') as handle:
        return handle.read()


def test_replacing_a_section_keeps_the_others_byte_for_byte(tmp_path):
    path = tmp_path / 'RESULTS.md'
    write(path, FILE)
    results.record('alpha', 'alpha new\n\nsecond paragraph\n', path=str(path))
    assert read(path) == FILE.replace('alpha old\n', 'alpha new\n\nsecond paragraph\n')
    results.record('beta', b'beta new', path=str(path))
    after = read(path)
    assert after.startswith(FILE[:FILE.index('<!-- bench:beta -->')].replace(
        'alpha old\n', 'alpha new\n\nsecond paragraph\n'))
    assert after.endswith('<!-- bench:beta -->\nbeta new\n<!-- /bench:beta -->\n'
                          'tail without a newline')
    assert [name for name in os.listdir(str(tmp_path))] == ['RESULTS.md']


def test_the_same_text_twice_changes_nothing(tmp_path):
    path = tmp_path / 'RESULTS.md'
    write(path, FILE)
    results.record('alpha', 'alpha old', path=str(path))
    assert read(path) == FILE


def test_a_missing_section_is_added_at_the_end(tmp_path):
    path = tmp_path / 'RESULTS.md'
    write(path, FILE + '\n')
    results.record('gamma', 'gamma figures', path=str(path))
    assert read(path) == (FILE + '\n\n<!-- bench:gamma -->\ngamma figures\n'
                          '<!-- /bench:gamma -->\n')
    missing = tmp_path / 'NEW.md'
    results.record('delta', 'first', path=str(missing))
    assert read(missing) == '<!-- bench:delta -->\nfirst\n<!-- /bench:delta -->\n'


@pytest.mark.parametrize('broken', [
    '<!-- bench:alpha -->\nno end\n',
    'x\n<!-- /bench:alpha -->\n',
    '<!-- bench:alpha -->\n<!-- bench:beta -->\n<!-- /bench:beta -->\n<!-- /bench:alpha -->\n',
    '<!-- bench:alpha -->\n<!-- /bench:beta -->\n',
    '<!-- bench:alpha -->\n<!-- /bench:alpha -->\n<!-- bench:alpha -->\n<!-- /bench:alpha -->\n',
], ids=['never closed', 'closed first', 'nested', 'closes another', 'twice'])
def test_a_file_with_unbalanced_markers_is_refused_and_left_alone(tmp_path, broken):
    path = tmp_path / 'RESULTS.md'
    write(path, broken)
    with pytest.raises(ValueError):
        results.record('alpha', 'new', path=str(path))
    assert read(path) == broken
    assert os.listdir(str(tmp_path)) == ['RESULTS.md']


@pytest.mark.parametrize('name, text', [
    ('a b', 'x'), ('../x', 'x'), ('alpha', 'x\n<!-- /bench:alpha -->\ny'),
])
def test_a_bad_name_or_a_marker_in_the_text_is_refused(tmp_path, name, text):
    path = tmp_path / 'RESULTS.md'
    write(path, FILE)
    with pytest.raises(ValueError):
        results.record(name, text, path=str(path))
    assert read(path) == FILE


def test_the_file_mode_is_kept(tmp_path):
    path = tmp_path / 'RESULTS.md'
    write(path, FILE)
    os.chmod(str(path), 0o640)
    results.record('alpha', 'x', path=str(path))
    assert os.stat(str(path)).st_mode & 0o777 == 0o640


def test_a_bench_run_is_recorded_only_when_it_succeeds(tmp_path, capsys):
    path = tmp_path / 'RESULTS.md'
    write(path, FILE)

    def fails():
        print('half a table')
        return 1

    assert results.run_and_record('alpha', fails, path=str(path)) == 1
    assert read(path) == FILE

    def works():
        print('| N | s |')
        print('| 20 | %s |' % os.path.join(results.REPO, 'deployment_scripts'))

    assert results.run_and_record('alpha', works, path=str(path)) == 0
    after = read(path)
    assert after.endswith(FILE[FILE.index('<!-- /bench:alpha -->'):])
    body = after[after.index('<!-- bench:alpha -->'):after.index('<!-- /bench:alpha -->')]
    assert '```text\n| N | s |\n| 20 | deployment_scripts |\n```\n' in body
    assert 'load ' in body and results.REPO not in body
    assert 'half a table\n| N | s |' in capsys.readouterr().out

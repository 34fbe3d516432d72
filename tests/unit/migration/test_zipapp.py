"""The one-file rf-migrate-master: a sh stub picks the machine's Python
(python2.7 on a stock Fuel master, python3 elsewhere) and runs the zip.
Each run gets a PATH offering exactly one Python (tests/lab/interpreters).
Python 3 only (it builds and drives the script from outside); quick."""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import pytest

if sys.version_info[0] < 3:
    pytest.skip('builds and runs the zipapp from Python 3',
                allow_module_level=True)

from lab import interpreters, zipapp as zipapp_build  # noqa: E402


def run(argv, path_value):
    env = dict(os.environ, PATH=path_value, LC_ALL='C', LANG='C')
    for name in ('PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV'):
        env.pop(name, None)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out.decode('utf-8'), err.decode('utf-8')


def test_the_build_is_a_sh_stub_then_a_zip_and_reproducible(zipapp, tmp_path):
    with open(zipapp, 'rb') as handle:
        data = handle.read()
    assert data.startswith(b'#!/bin/sh\n')
    assert os.access(zipapp, os.X_OK)
    with open(zipapp_build.build(tmp_path), 'rb') as handle:
        assert handle.read() == data


@pytest.mark.parametrize('kind', interpreters.KINDS)
def test_help_and_version_with_only_one_python_on_path(zipapp, tmp_path,
                                                       kind):
    if not interpreters.available(kind):
        pytest.skip(interpreters.missing_reason(kind))
    # the stub and --help/--version need no other program
    path_value = interpreters.only_python(kind, tmp_path / 'bin',
                                          system_programs=False)
    major = interpreters.version_of(path_value, interpreters.NAMES[kind][0])
    assert major.startswith(kind[len('python'):])
    for other in ('python2.7', 'python2', 'python3', 'python'):
        if other not in interpreters.NAMES[kind]:
            assert not os.path.exists(os.path.join(path_value, other))
    code, out, err = run([zipapp, '--help'], path_value)
    assert code == 0, err
    assert out.startswith('usage: rf-migrate-master') and '--dry-run' in out
    code, out, err = run([zipapp, '--version'], path_value)
    assert code == 0, err
    # argparse prints the version on stdout on 3.4+, on stderr on 2.7
    assert (out + err).strip() == 'rf-migrate-master 1.0.0'


def test_the_zip_runs_when_given_to_a_python_directly(zipapp):
    code, out, err = run([sys.executable, zipapp, '--version'],
                         os.environ['PATH'])
    assert (code, out.strip()) == (0, 'rf-migrate-master 1.0.0'), err


def test_without_any_python_the_stub_says_what_it_needs(zipapp, tmp_path):
    empty = str(tmp_path / 'no-python')
    os.makedirs(empty)
    code, out, err = run([zipapp, '--help'], empty)
    assert code == 127 and out == ''
    assert err == ('rf-migrate-master: no usable Python on PATH: looked for '
                   'python2.7 python2 python3 python (version 2.7 or 3.4+, '
                   'able to import yaml). On a Fuel master: yum install '
                   'PyYAML\n')


def test_a_python_without_yaml_is_passed_over(zipapp, tmp_path):
    """A python2.7 without PyYAML first on PATH: the stub goes on to
    python3 (which has it)."""
    folder = str(tmp_path / 'bin')
    os.makedirs(folder)
    fake = os.path.join(folder, 'python2.7')
    with open(fake, 'w') as handle:
        handle.write('#!/bin/sh\necho "no yaml here" >&2\nexit 1\n')
    os.chmod(fake, 0o755)
    os.symlink(interpreters.PYTHON3, os.path.join(folder, 'python3'))
    code, out, err = run([zipapp, '--version'], folder)
    assert (code, out.strip()) == (0, 'rf-migrate-master 1.0.0'), err

"""yamllint on every YAML file; Python 2.7 and 3.4+ for all code shipped to
Fuel (a stock Fuel 8.0/9.0 master and its nodes have only Python 2.7)."""
import pathlib
import subprocess
import sys

import pytest

from pkglib import REPO

BIN = pathlib.Path(sys.executable).parent
SHIPPED = ['deployment_scripts', 'migration', 'common']


def test_yamllint():
    result = subprocess.run([str(BIN / 'yamllint'), '-s', '-f', 'parsable', '.'],
                            cwd=str(REPO), stdout=subprocess.PIPE, text=True)
    assert result.returncode == 0, result.stdout


VERMIN_TARGETS = ['-t=2.7-', '-t=3.4-']


def vermin(*paths):
    return subprocess.run(
        [str(BIN / 'vermin')] + VERMIN_TARGETS + ['--no-tips', '--violations']
        + [str(p) for p in paths],
        cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_shipped_code_runs_on_python_2_7_and_3_4():
    paths = [p for p in SHIPPED if (REPO / p).exists()]
    assert paths, 'no shipped code found'
    result = vermin(*paths)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize('code', [
    'import concurrent.futures\n',                 # Python 3.2+
    'import subprocess\nsubprocess.run(["true"])\n',  # Python 3.5+
    'name = "x"\nprint(f"{name}")\n',             # Python 3.6+
])
def test_vermin_catches_code_python_2_7_lacks(tmp_path, code):
    # The check above is only worth something if vermin flags such code.
    (tmp_path / 'new.py').write_text(code)
    result = vermin(tmp_path)
    assert result.returncode != 0, result.stdout


def test_flake8_finds_nothing():
    # Settings in .flake8: 99 columns, pycodestyle's and pyflakes' defaults.
    result = subprocess.run([str(BIN / 'flake8'), '.'], cwd=str(REPO),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert result.returncode == 0, result.stdout


# Every shell script the plugin ships or its build and tests run.
SHELL_SCRIPTS = ['deployment_scripts/install-guest-tools.sh',
                 'deployment_scripts/install-hypervisor.sh',
                 'deployment_scripts/virt-guests',
                 'deployment_scripts/virt_guests/packages.sh',
                 'post_install.sh', 'uninstall.sh', 'pre_build_hook',
                 'tools/setup', '.ci/run', 'tests/nailgun/bin/yum']


def test_every_shell_script_is_listed_for_shellcheck():
    listed = set(SHELL_SCRIPTS)
    tracked = subprocess.run(['git', 'ls-files'], cwd=str(REPO), stdout=subprocess.PIPE,
                             text=True, check=True).stdout.split()
    unlisted = []
    for name in tracked:
        path = REPO / name
        if not path.is_file() or name.startswith('tests/'):
            continue
        head = path.read_bytes()[:64]
        if name.endswith('.sh') or head.startswith((b'#!/bin/sh', b'#!/bin/bash',
                                                    b'#!/usr/bin/env bash')):
            if name not in listed:
                unlisted.append(name)
    assert not unlisted, 'add to SHELL_SCRIPTS: %s' % unlisted


def test_shellcheck_finds_nothing():
    # -x follows `. virt_guests/packages.sh` (source-path directives).
    result = subprocess.run(['shellcheck', '-x'] + SHELL_SCRIPTS, cwd=str(REPO),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert result.returncode == 0, result.stdout


PUPPET = REPO / 'deployment_scripts' / 'puppet'


def test_puppet_manifests_parse_and_lint_clean():
    """Debian's puppet and puppet-lint over the task manifests (a node runs
    Fuel's puppet 3.8: the manifests use nothing newer)."""
    manifests = sorted(str(p) for p in PUPPET.rglob('*.pp'))
    assert len(manifests) >= 5, manifests
    parsed = subprocess.run(['puppet', 'parser', 'validate'] + manifests,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert parsed.returncode == 0, parsed.stdout
    lint = subprocess.run(['puppet-lint', '--fail-on-warnings', str(PUPPET)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert lint.returncode == 0, lint.stdout


def test_puppet_lint_catches_a_bad_manifest(tmp_path):
    # The check above is only worth something if puppet-lint flags such code.
    bad = tmp_path / 'bad.pp'
    bad.write_text('exec { "x": command => "/bin/true", }\n')
    lint = subprocess.run(['puppet-lint', '--fail-on-warnings', str(bad)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert lint.returncode != 0, lint.stdout


def test_test_modules_have_unique_names():
    """pytest imports test modules by basename (rootdir mode): two suites
    with one name stop the whole run at collection."""
    seen = {}
    for path in sorted((REPO / 'tests').rglob('test_*.py')):
        seen.setdefault(path.name, []).append(str(path.relative_to(REPO)))
    assert not [paths for paths in seen.values() if len(paths) > 1]

"""yamllint on every YAML file; Python 2.7 and 3.4+ for all code shipped to
Fuel (a stock Fuel 8.0/9.0 master and its nodes have only Python 2.7)."""
import pathlib
import subprocess
import sys

import pytest

from pkglib import REPO

BIN = pathlib.Path(sys.executable).parent
SHIPPED = ['deployment_scripts', 'migration']


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

"""yamllint on every YAML file; Python 3.4 for all code shipped to Fuel."""
import pathlib
import subprocess
import sys

from pkglib import REPO

BIN = pathlib.Path(sys.executable).parent
SHIPPED = ['deployment_scripts', 'migration']


def test_yamllint():
    result = subprocess.run([str(BIN / 'yamllint'), '-s', '-f', 'parsable', '.'],
                            cwd=str(REPO), stdout=subprocess.PIPE, text=True)
    assert result.returncode == 0, result.stdout


def test_shipped_code_runs_on_python_3_4():
    paths = [p for p in SHIPPED if (REPO / p).exists()]
    assert paths, 'no shipped code found'
    result = subprocess.run(
        [str(BIN / 'vermin'), '-t=3.4-', '--no-tips', '--violations',
         ] + paths,
        cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    assert result.returncode == 0, result.stdout


def test_vermin_catches_newer_python(tmp_path):
    # The check above is only worth something if vermin flags 3.6 code.
    (tmp_path / 'new.py').write_text('name = "x"\nprint(f"{name}")\n')
    result = subprocess.run([str(BIN / 'vermin'), '-t=3.4-', '--no-tips',
                             '--violations', str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    assert result.returncode != 0

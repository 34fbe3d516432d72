"""`make build` on a fresh clone: its own .venv from the build list alone,
with pip's cache off and no development headers in sight (a build must not
need libvirt-dev or pkg-config). The Debian packages are this machine's, so
this checks the pip side of a fresh machine."""
import os
import subprocess

import pytest

from pkglib import REPO


def run(cmd, cwd, env):
    result = subprocess.run(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert result.returncode == 0, '{0} failed:\n{1}'.format(
        ' '.join(cmd), result.stdout[-3000:])
    return result.stdout


@pytest.mark.slow
def test_fresh_clone_builds_with_only_the_build_requirements(tmp_path):
    clone = tmp_path / 'clone'
    # The committed HEAD: what CI checks out, without this tree's .venv.
    subprocess.run(['git', 'clone', '-q', str(REPO), str(clone)], check=True)
    no_headers = tmp_path / 'no-pkgconfig'
    no_headers.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ('VIRTUAL_ENV', 'PKG_CONFIG_PATH', 'PYTHONPATH')}
    # Not this venv's Python first on PATH: setup makes the clone's own.
    env['PATH'] = os.pathsep.join(
        p for p in env['PATH'].split(os.pathsep)
        if not p.startswith(str(REPO / '.venv')))
    env.update(PKG_CONFIG_LIBDIR=str(no_headers), PIP_NO_CACHE_DIR='1')

    run(['tools/setup', 'build'], clone, env)
    python = clone / '.venv' / 'bin' / 'python'
    assert python.exists()
    # Only the build list went in: the test tools did not.
    probe = subprocess.run([str(python), '-c', 'import libvirt'], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert probe.returncode != 0, 'libvirt-python is in the build venv'

    out = run([str(python), 'tools/build_plugin.py', '--role', 'virt'],
              clone, env)
    rpms = sorted((clone / 'dist').glob('reduced-footprint-*.noarch.rpm'))
    assert rpms, 'no RPM under dist/:\n' + out[-3000:]
    assert str(rpms[0]) == out.strip().splitlines()[-1]

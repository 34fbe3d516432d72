"""The plugin's RPM as operators get it: built by tools/build_plugin.py
(fpb) and unpacked the way rpm would lay it out. Python 2.7 syntax: the
root conftest imports it for every suite."""
import os
import subprocess
import sys

from lab.paths import REPO

PREFIX = '/var/www/nailgun/plugins/reduced-footprint-1.0/'


def build(out, *args):
    """Build into the folder out; returns the RPM's path (text)."""
    result = subprocess.Popen(
        [sys.executable, os.path.join(REPO, 'tools', 'build_plugin.py'),
         '--out', str(out)] + [str(a) for a in args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True)
    output = result.communicate()[0]
    assert result.returncode == 0, output[-3000:]
    rpm = output.strip().splitlines()[-1]
    assert os.path.isfile(rpm), output[-3000:]
    return rpm


def unpack(rpm, dest):
    """Unpack into the new folder dest; returns the plugin's folder there."""
    os.mkdir(str(dest))
    subprocess.check_call('rpm2cpio %s | cpio -idm --quiet' % rpm,
                          shell=True, cwd=str(dest))
    return os.path.join(str(dest), PREFIX.lstrip('/'))

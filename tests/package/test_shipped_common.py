"""The plugin's RPM carries rf_common byte for byte as common/ holds it, in
both its shipped forms: beside virt_guests in deployment_scripts/ (where the
node tasks' `python -m virt_guests` finds it) and inside the one-file
bin/rf-migrate-master; and the guest command of the unpacked RPM runs."""
import os
import pathlib
import subprocess

import pytest

from lab import plugin_rpm as plugin_rpm_build
from lab import shipped
from lab.paths import COMMON, SCRIPTS

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def unpacked(plugin_rpm, tmp_path_factory):
    return pathlib.Path(plugin_rpm_build.unpack(plugin_rpm, tmp_path_factory.mktemp('rpm')
                                                / 'root'))


def test_both_forms_in_the_rpm_carry_rf_common_as_in_the_source(unpacked):
    source = shipped.source_files(COMMON, 'rf_common')
    assert 'rf_common/text.py' in source and 'rf_common/processes.py' in source
    in_scripts = shipped.source_files(unpacked / 'deployment_scripts', 'rf_common')
    assert shipped.differences(in_scripts, source) == []
    in_zipapp = shipped.zip_files(unpacked / 'bin' / 'rf-migrate-master', 'rf_common')
    assert shipped.differences(in_zipapp, source) == []


def test_the_rpm_carries_the_guest_package_as_in_the_source(unpacked):
    assert shipped.differences(
        shipped.source_files(unpacked / 'deployment_scripts', 'virt_guests'),
        shipped.source_files(SCRIPTS, 'virt_guests')) == []


def test_the_guest_command_of_the_rpm_runs_with_its_own_rf_common(unpacked, tmp_path):
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    result = subprocess.run(
        ['sh', str(unpacked / 'deployment_scripts' / 'virt-guests'), '--help'],
        cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True, timeout=60)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith('usage: virt-guests')

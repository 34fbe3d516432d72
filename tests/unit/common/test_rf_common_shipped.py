# -*- coding: utf-8 -*-
"""Both shipped forms carry rf_common byte for byte as common/ holds it,
and nothing of it is missing: the one-file rf-migrate-master (its zip) and
the plugin's deployment_scripts/ as the build lays it out for the nodes,
where the guest package runs with nothing else on its path. (The RPM
itself: tests/package/test_shipped_common.py.)"""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys
import zipfile

from lab import shipped
from lab import zipapp as zipapp_build
from lab.paths import COMMON, MIGRATION, SCRIPTS


def test_the_zipapp_carries_rf_common_and_master_migration_as_in_the_source(tmp_path):
    script = zipapp_build.build(tmp_path)
    with zipfile.ZipFile(script) as archive:
        tops = set(name.split('/')[0] for name in archive.namelist())
    assert tops == set(['__main__.py', 'master_migration', 'rf_common'])
    for folder, package in ((COMMON, 'rf_common'), (MIGRATION, 'master_migration')):
        source = shipped.source_files(folder, package)
        assert package + '/__init__.py' in source
        assert shipped.differences(shipped.zip_files(script, package), source) == []


def test_the_node_folder_carries_rf_common_as_in_the_source(tmp_path):
    plugin = shipped.node_scripts(os.path.join(str(tmp_path), 'plugin'))
    for folder, package in ((COMMON, 'rf_common'), (SCRIPTS, 'virt_guests')):
        assert shipped.differences(shipped.source_files(plugin, package),
                                   shipped.source_files(folder, package)) == []


def test_differences_names_what_a_copy_lacks_adds_or_changes():
    source = {'rf_common/a.py': b'a', 'rf_common/b.py': b'b', 'rf_common/c.py': b'c'}
    copy = {'rf_common/a.py': b'a', 'rf_common/b.py': b'B', 'rf_common/d.py': b'd'}
    assert shipped.differences(copy, source) == [
        'missing: rf_common/c.py', 'not in the source: rf_common/d.py',
        'differs: rf_common/b.py']


def test_the_guest_package_runs_from_the_node_folder_alone(tmp_path):
    """As the tasks run it (virt-guests): PYTHONPATH is the plugin's folder,
    the cwd elsewhere; rf_common comes from the copy beside virt_guests."""
    plugin = shipped.node_scripts(os.path.join(str(tmp_path), 'plugin'))
    env = dict(os.environ, PYTHONPATH=plugin)
    code = ('import sys, rf_common, virt_guests.cli; '
            'sys.stdout.write(rf_common.__file__)')
    out = subprocess.check_output([sys.executable, '-c', code], env=env,
                                  cwd=str(tmp_path))
    assert out.decode('utf-8').startswith(os.path.join(plugin, 'rf_common', '__init__.py'))

#!/usr/bin/env python3
"""The files of rf_common that each shipped form carries, and its copy into
the plugin's deployment_scripts/ (the build's pre_build_hook).

    python3 common/ship.py DEST   # DEST/rf_common/, replaced whole

migration/build_zipapp.py puts the same files into rf-migrate-master.
Python 2.7 and 3, stdlib only.
"""
from __future__ import absolute_import, division, print_function

import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = 'rf_common'


def package_files(folder=HERE, package=PACKAGE):
    """(path, path relative to folder) of the package's source files, in a
    fixed order: no bytecode, no dotfiles."""
    for dirpath, dirnames, filenames in os.walk(os.path.join(folder, package)):
        dirnames[:] = sorted(d for d in dirnames if d != '__pycache__')
        for name in sorted(filenames):
            if name.endswith(('.pyc', '.pyo')) or name.startswith('.'):
                continue
            path = os.path.join(dirpath, name)
            yield path, os.path.relpath(path, folder)


def copy_into(dest, folder=HERE):
    """dest/rf_common/ made anew with exactly package_files(folder)."""
    target = os.path.join(dest, PACKAGE)
    if os.path.lexists(target):
        shutil.rmtree(target)
    for path, rel in package_files(folder):
        out = os.path.join(dest, rel)
        if not os.path.isdir(os.path.dirname(out)):
            os.makedirs(os.path.dirname(out))
        shutil.copyfile(path, out)
    return target


def main(argv):
    if len(argv) != 2:
        sys.stderr.write('usage: ship.py DEST\n')
        return 2
    print(copy_into(argv[1]))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

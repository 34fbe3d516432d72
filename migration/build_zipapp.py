#!/usr/bin/env python3
"""Build rf-migrate-master: ONE executable file from the master_migration
package and the rf_common package it shares with the plugin's guest code
(common/): a POSIX sh stub, then a zip. Stdlib only; the same sources give
the same bytes (fixed order, times and modes).

The stub runs the zip with the master's own Python: the first of python2.7,
python2, python3, python on PATH that is 2.7 or 3.4+ and can `import yaml`
(a stock Fuel 8.0/9.0 master has only python 2.7 with PyYAML). Python skips
whatever precedes a zip, so `python2.7 rf-migrate-master ...` and
`python3 rf-migrate-master ...` work too.

    python3 migration/build_zipapp.py OUTPUT
"""
from __future__ import absolute_import, division, print_function

import io
import os
import stat
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
COMMON = os.path.join(os.path.dirname(HERE), 'common')
sys.path.insert(0, COMMON)
sys.dont_write_bytecode = True  # no common/__pycache__/ in the plugin's build tree
import ship  # noqa: E402  (common/ship.py: the rf_common files each form carries)

PACKAGE = 'master_migration'
PYTHONS = ('python2.7', 'python2', 'python3', 'python')
STUB = r'''#!/bin/sh
# rf-migrate-master: this sh stub, then a zip of the master_migration
# and rf_common packages. It runs the zip with the first Python on PATH
# that is 2.7 or 3.4+ and has PyYAML.
for rfm_python in %(pythons)s; do
  if command -v "$rfm_python" >/dev/null 2>&1 &&
     "$rfm_python" -c 'import sys, yaml
sys.exit(not (sys.version_info[:2] == (2, 7) or sys.version_info >= (3, 4)))' \
       >/dev/null 2>&1; then
    exec "$rfm_python" "$0" "$@"
  fi
done
echo "rf-migrate-master: no usable Python on PATH: looked for %(pythons)s" \
  "(version 2.7 or 3.4+, able to import yaml). On a Fuel master:" \
  "yum install PyYAML" >&2
exit 127
''' % {'pythons': ' '.join(PYTHONS)}
MAIN = (b'import sys\n'
        b'from master_migration.cli import main\n'
        b'sys.exit(main())\n')
# Fixed time and mode for every member: the build is reproducible.
DATE_TIME = (1980, 1, 1, 0, 0, 0)
MODE = 0o644


def package_files():
    """(path, name in the zip) of both packages' source files."""
    for item in ship.package_files(HERE, PACKAGE):
        yield item
    for item in ship.package_files():
        yield item


def add(archive, arcname, data):
    info = zipfile.ZipInfo(arcname.replace(os.sep, '/'), DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | MODE) << 16
    archive.writestr(info, data)


def build(output):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        add(archive, '__main__.py', MAIN)
        for path, arcname in package_files():
            with open(path, 'rb') as handle:
                add(archive, arcname, handle.read())
    tmp = output + '.tmp'
    with open(tmp, 'wb') as handle:
        handle.write(STUB.encode('ascii') + buffer.getvalue())
    os.chmod(tmp, 0o755)
    os.rename(tmp, output)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write('usage: build_zipapp.py OUTPUT\n')
        return 2
    output = os.path.abspath(argv[1])
    if not os.path.isdir(os.path.dirname(output)):
        os.makedirs(os.path.dirname(output))
    build(output)
    print(output)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

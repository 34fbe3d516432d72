#!/usr/bin/env python3
"""Build rf-migrate-master: ONE executable file (a zip with a python3
shebang) from the master_migration package. Stdlib only.

    python3 migration/build_zipapp.py OUTPUT
"""
import io
import os
import stat
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = 'master_migration'
SHEBANG = b'#!/usr/bin/env python3\n'
MAIN = (b'import sys\n'
        b'from master_migration.cli import main\n'
        b'sys.exit(main())\n')


def package_files():
    root = os.path.join(HERE, PACKAGE)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != '__pycache__')
        for name in sorted(filenames):
            if name.endswith(('.pyc', '.pyo')) or name.startswith('.'):
                continue
            path = os.path.join(dirpath, name)
            yield path, os.path.relpath(path, HERE)


def build(output):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        archive.writestr('__main__.py', MAIN)
        for path, arcname in package_files():
            archive.write(path, arcname)
    tmp = output + '.tmp'
    with open(tmp, 'wb') as handle:
        handle.write(SHEBANG + buffer.getvalue())
    os.chmod(tmp, os.stat(tmp).st_mode | stat.S_IXUSR | stat.S_IXGRP |
             stat.S_IXOTH)
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

#!/usr/bin/env python3
"""Build the plugin RPM with fpb from a clean copy of the tree.

Usage: tools/build_plugin.py [--role NAME] [--out DIR]

The copy (build/stage/) holds only the files git tracks or would track, so
local debris never reaches the package, and a role rename never touches the
work tree. fpb packs the whole copy onto the Fuel master: the tests, the
benchmarks and the developer's tooling stay out of it. Prints the path of
the RPM as its last line.
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
FPB = REPO / 'tools' / 'fpb'
CHECK = REPO / 'tools' / 'check_plugin.py'


# Not for the Fuel master. pre_build_hook still needs migration/ (it builds
# bin/rf-migrate-master) and tools/rename_role.py with plugin_tree.py, and fpb
# runs the hook again inside the copy.
NOT_SHIPPED = ('tests/', 'bench/', '.ci/', 'Makefile', 'pytest.ini', '.flake8',
               '.yamllint', '.gitignore', 'tools/setup', 'tools/fpb',
               'tools/requirements-', 'tools/constraints-', 'tools/build_plugin.py',
               'tools/check_plugin.py', 'tools/mutation.py')


def shipped(rel):
    return not rel.startswith(NOT_SHIPPED)


def tree_files():
    out = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard', '-z'],
        cwd=str(REPO), stdout=subprocess.PIPE, check=True).stdout
    return [f for f in out.decode().split('\0') if f and (REPO / f).exists()]


def stage(dest):
    if dest.exists():
        shutil.rmtree(str(dest))
    for rel in filter(shipped, tree_files()):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(str(REPO / rel), str(target))
    return dest


def run(cmd, env=None):
    print('+ ' + ' '.join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, env=env)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--role', default='virt',
                        help='name of the node role (default: virt)')
    parser.add_argument('--out', default=str(REPO / 'dist'),
                        help='where the RPM is put (default: dist/)')
    args = parser.parse_args()
    tree = stage(REPO / 'build' / 'stage' / 'reduced-footprint')
    env = dict(os.environ)
    env['PATH'] = str(pathlib.Path(sys.executable).parent) + ':' + env['PATH']
    if args.role != 'virt':
        env['RF_ROLE_NAME'] = args.role
    try:
        # pre_build_hook first: fpb would run it too, but the check below must
        # see the renamed role.
        run([str(tree / 'pre_build_hook')], env=env)
        run([sys.executable, CHECK, tree], env=env)
        run([sys.executable, FPB, '--build', tree], env=env)
    except subprocess.CalledProcessError as err:
        print('build failed: {0}'.format(err), file=sys.stderr)
        return 1
    rpms = sorted(tree.glob('*.noarch.rpm'))
    out = pathlib.Path(args.out)
    if args.role != 'virt':
        out = out / args.role
    out.mkdir(parents=True, exist_ok=True)
    target = out / rpms[-1].name
    shutil.copy2(str(rpms[-1]), str(target))
    print('built (node role {0!r}):'.format(args.role))
    print(target)
    return 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
"""Check the plugin tree: fpb's own check, then how the files fit together.

Usage: tools/check_plugin.py [TREE]   (default: the repository)
Prints every problem found and exits 1 if there is any.
"""
import pathlib
import subprocess
import sys

import plugin_tree

FPB = pathlib.Path(__file__).resolve().parent / 'fpb'


def main(argv):
    tree = pathlib.Path(argv[1] if len(argv) > 1 else FPB.parent.parent)
    fpb = subprocess.run([sys.executable, str(FPB), '--check', str(tree)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    problems = []
    if fpb.returncode != 0:
        problems.append('fpb --check: ' + fpb.stdout.strip())
    else:
        problems += plugin_tree.check_tree(tree)
    for line in problems:
        print(line)
    if problems:
        print('{0}: {1} problem(s)'.format(tree, len(problems)))
        return 1
    print('{0}: plugin is valid (fpb check and task graph)'.format(tree))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

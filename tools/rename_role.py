#!/usr/bin/env python3
"""Give the plugin's node role another name in a build copy of the tree.

Usage: tools/rename_role.py TREE NEW_NAME
Called by pre_build_hook when RF_ROLE_NAME is set. Refuses to touch a git
work tree: the tracked files keep the default name "virt".
"""
import pathlib
import sys

import plugin_tree


def refusal(tree, new):
    if (tree / '.git').exists():
        return ('{0} is a git work tree: build with `make build ROLE={1}`, '
                'which renames the role in a copy'.format(tree, new))
    if not plugin_tree.ROLE_NAME.match(new):
        return ('role name {0!r} is not allowed: use lower-case letters, '
                'digits, "_" and "-", starting with a letter or digit, e.g. '
                'rf-virt'.format(new))
    if new in plugin_tree.CORE_ROLES:
        return ('role name {0!r} is a role of stock Fuel releases, which '
                'nailgun refuses to register twice: choose another name, '
                'e.g. rf-virt'.format(new))
    return None


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    tree, new = pathlib.Path(argv[1]), argv[2]
    old = sorted(plugin_tree.plugin_roles(tree))
    if old == [new]:
        return 0
    problem = refusal(tree, new)
    if problem:
        print('rename_role: ' + problem, file=sys.stderr)
        return 1
    plugin_tree.rename_role(tree, old[0], new)
    print('rename_role: node role {0!r} renamed to {1!r}'.format(old[0], new))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

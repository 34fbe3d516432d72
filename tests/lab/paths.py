"""Where things are in this checkout: the one definition every suite and
bench/ use (Python 2.7 and 3)."""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(REPO, 'deployment_scripts')   # what the nodes get
MIGRATION = os.path.join(REPO, 'migration')          # rf-migrate-master's sources
COMMON = os.path.join(REPO, 'common')                # rf_common: what both share


def source_paths(*folders):
    """The sys.path entries that run the shipped code of folders (SCRIPTS,
    MIGRATION) in place: the shared rf_common source first (it wins over a
    copy a plugin build may have left in deployment_scripts/), then them.
    Each shipped form carries its own copy of rf_common instead."""
    return [COMMON] + list(folders)


def pythonpath(*folders):
    """source_paths as a PYTHONPATH value."""
    return os.pathsep.join(source_paths(*folders))


def put_on_sys_path(*folders):
    """source_paths at the head of this process's sys.path, in order."""
    for path in reversed(source_paths(*folders)):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)

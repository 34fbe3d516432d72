"""The shipped forms and their copies of rf_common (Python 2.7 and 3):
deployment_scripts/ as it lands on a node, made from this checkout without
building the RPM, with the copy of rf_common the plugin build puts there
(common/ship.py, the build's own copier); the files of a package in a
folder or a zipapp, and how a shipped copy differs from its source."""
import os
import shutil
import zipfile

from lab.paths import SCRIPTS, put_on_sys_path

put_on_sys_path()  # common/: ship.py
import ship  # noqa: E402


def node_scripts(dest, scripts=SCRIPTS):
    """dest (new) filled as the plugin's deployment_scripts/ on a node:
    scripts' files without bytecode, and the rf_common of scripts' checkout
    (its common/ beside it) where it has one. scripts: this checkout's
    deployment_scripts (the default), another checkout's (bench/
    --baseline) or an unpacked RPM's. Returns dest as text."""
    dest, scripts = str(dest), os.path.abspath(str(scripts))
    shutil.copytree(scripts, dest, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    common = os.path.join(os.path.dirname(scripts), 'common')
    if os.path.isdir(os.path.join(common, ship.PACKAGE)):
        ship.copy_into(dest, common)
    return dest


def source_files(folder, package):
    """{path in folder: bytes} of the package in folder (a source folder of
    this checkout or an unpacked shipped copy): every file but bytecode.
    Listed here, not by common/ship.py, so a file the build leaves out is
    found missing."""
    found = {}
    root = os.path.join(str(folder), package)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != '__pycache__']
        for name in filenames:
            if not name.endswith(('.pyc', '.pyo')):
                path = os.path.join(dirpath, name)
                with open(path, 'rb') as handle:
                    found[os.path.relpath(path, str(folder)).replace(os.sep, '/')] = \
                        handle.read()
    return found


def zip_files(path, package):
    """{member: bytes} of the package's members in a zip (a zipapp: the sh
    stub before the zip is skipped, as Python does)."""
    with zipfile.ZipFile(str(path)) as archive:
        return dict((name, archive.read(name)) for name in archive.namelist()
                    if name.startswith(package + '/'))


def differences(shipped, source):
    """What a shipped copy ({name: bytes}) lacks, adds or changes against
    its source, one line each; [] when byte for byte the same."""
    return (['missing: ' + name for name in sorted(set(source) - set(shipped))]
            + ['not in the source: ' + name for name in sorted(set(shipped) - set(source))]
            + ['differs: ' + name for name in sorted(set(source) & set(shipped))
               if source[name] != shipped[name]])

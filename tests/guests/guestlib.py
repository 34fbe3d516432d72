"""Helpers of the guest tests: astute.yaml files, task commands run the way
Astute runs them, and the rfg test domains. Fixtures are in conftest.py."""
import atexit
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import yaml

from lab import astute_tasks, interpreters, paths, testguests

REPO = pathlib.Path(paths.REPO)
SCRIPTS = pathlib.Path(paths.SCRIPTS)
paths.put_on_sys_path(str(SCRIPTS))
# The astute.yaml documents are shared with the unit tests (Python 2.7 too).
sys.path.insert(0, str(REPO / 'tests' / 'unit' / 'guests'))

from nodes import TEST_NODE_UID, astute_doc  # noqa: E402,F401

NS = testguests.NS


def write_astute(path, doc):
    path = pathlib.Path(path)
    path.write_text(yaml.safe_dump(doc, default_flow_style=False))
    return path


_DEFAULT_PATH = []


def python3_node_path():
    """A PATH of system programs with python3 as the only Python: a Python
    2.7 in /usr/bin (if one is ever installed there) would otherwise be
    the launcher's pick, without the modules of .venv27."""
    if not _DEFAULT_PATH:
        folder = tempfile.mkdtemp(prefix='rf-node-path-')
        atexit.register(shutil.rmtree, folder, True)
        _DEFAULT_PATH.append(interpreters.only_python('python3', folder))
    return _DEFAULT_PATH[0]


def task_env(astute_path, log_path, path=None):
    """The environment of a task: PATH (one Python: node_path in conftest,
    python3 by default), the astute.yaml and log file, and the C locale of
    Astute's shell."""
    env = dict(os.environ, PATH=str(path or python3_node_path()),
               RF_ASTUTE_YAML=str(astute_path),
               RF_VIRT_GUESTS_LOG=str(log_path), LC_ALL='C',
               RF_VIRT_GUESTS_LOCK=os.path.join(os.path.dirname(str(log_path)),
                                                'virt-guests.lock'),
               RF_VIRT_GUESTS_CACHE=os.path.join(os.path.dirname(str(log_path)),
                                                 'input-cache.json'))
    env.pop('RF_LIBVIRT_URI', None)
    return env


# A deployment task as Astute runs it (lab/astute_tasks.py).
run_task = astute_tasks.run


def run_cmd(cmd, cwd, env, timeout=600):
    """A task's cmd as Astute runs it: a shell command in the plugin dir."""
    return subprocess.run(['bash', '-c', cmd], cwd=str(cwd), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout)


def plugin_tasks():
    """The reduced-footprint-* tasks of deployment_tasks.yaml, in dependency
    order."""
    tasks = yaml.safe_load((REPO / 'deployment_tasks.yaml').read_text())
    ours = dict((t['id'], t) for t in tasks if t['id'].startswith('reduced-footprint-'))
    ordered, done = [], set()
    while len(ordered) < len(ours):
        for task_id, task in sorted(ours.items()):
            needs = set(task.get('requires', [])) & set(ours)
            if task_id not in done and needs <= done:
                ordered.append(task)
                done.add(task_id)
    return ordered


def ip(*args, check=True):
    return subprocess.run(['ip'] + list(args), check=check,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def our_test_domains(conn):
    return testguests.ours(conn)


def remove_test_domains(uri):
    import libvirt
    conn = libvirt.open(uri)
    try:
        testguests.remove(conn)
    finally:
        conn.close()

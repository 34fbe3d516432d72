"""Helpers for the package tests."""
import pathlib
import shutil
import subprocess
import sys

from lab import paths

REPO = pathlib.Path(paths.REPO)
TOOLS = REPO / 'tools'


def run_tool(name, *args, cwd=None):
    """Run one of tools/*.py with the test's Python; returns the result."""
    return subprocess.run([sys.executable, str(TOOLS / name)] +
                          [str(a) for a in args], cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


def copy_tree(tmp_path):
    """A copy of the plugin tree as git sees it, to break on purpose."""
    files = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
        cwd=str(REPO), stdout=subprocess.PIPE, text=True, check=True)
    dest = tmp_path / 'reduced-footprint'
    for rel in files.stdout.split():
        if (REPO / rel).exists():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(str(REPO / rel), str(dest / rel))
    return dest

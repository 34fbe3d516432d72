#!/usr/bin/env python3
"""Run every benchmark in bench/ one after the other (`make bench`).

Each benchmark prints its own figures: ratios against a baseline measured in
the same run; one that succeeds also rewrites its own section of
bench/RESULTS.md (bench/results.py). A failing benchmark is reported, records
nothing, and the others still run.
"""
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def main():
    failed = []
    for bench in sorted(HERE.glob('*.py')):
        if bench.name in (pathlib.Path(__file__).name, 'results.py'):
            continue  # this runner, and the helper that writes RESULTS.md
        print('== ' + bench.name, flush=True)
        if subprocess.call([sys.executable, str(bench)]) != 0:
            failed.append(bench.name)
    if failed:
        print('failed: ' + ', '.join(failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

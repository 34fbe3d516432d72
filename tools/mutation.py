"""`make mutation`: the unit suite against small bugs put into the modules
that decide what happens to an operator's data and guests. Not part of
`make test` or CI: a developer's check of the tests, 9-12 minutes here.

cosmic-ray (.venv-mutation, tools/requirements-mutation.txt) changes one
thing at a time in a module (a comparison turned round, a number off by
one, a condition negated, a loop that runs zero times...) and runs the unit
tests that exercise that module, with the project's own Python 3 (.venv).
A mutant the tests do not notice survives. Each module's mutants run in a
scratch copy of the tree (.mutation/), never in the work tree, two copies
at a time (the machine has two cores).

Printed: the score per module and every surviving mutant. The survivors
listed in bench/mutation_results.md (each with why it is harmless) are
counted as explained; exit 1 while any survivor is not explained there.
Usage: tools/mutation.py [MODULE_SUBSTRING...] (default: every module).
"""
from __future__ import print_function

import os
import re
import shutil
import subprocess
import sys
import threading
import time

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRATCH = os.path.join(REPO, '.mutation')
PYTHON = os.path.join(REPO, '.venv', 'bin', 'python')
BIN = os.path.dirname(os.path.abspath(sys.executable))
RESULTS = os.path.join(REPO, 'bench', 'mutation_results.md')
G, M = 'tests/unit/guests/', 'tests/unit/migration/'
# (module, the unit tests that exercise it), the slowest first; in each
# list the quick and pointed files first (-x stops at the first failure).
MODULES = [
    ('migration/master_migration/finalsync.py', [
        M + 'test_final_verify.py', M + 'test_steps_data.py',
        M + 'test_migration_dryrun.py']),
    ('migration/master_migration/filesync.py', [
        M + 'test_steps_data.py', M + 'test_migration_runner.py',
        M + 'test_migration_dryrun.py']),
    ('migration/master_migration/copysync.py', [
        M + 'test_steps_data.py', M + 'test_migration_core.py',
        M + 'test_final_verify.py', M + 'test_migration_dryrun.py']),
    ('migration/master_migration/guest.py', [
        M + 'test_steps_data.py', M + 'test_migration_dryrun.py',
        M + 'test_migration_runner.py']),
    ('migration/master_migration/virsh.py', [
        M + 'test_migration_runner.py', M + 'test_switchover.py']),
    ('migration/master_migration/switchover.py', [
        M + 'test_switchover.py', M + 'test_migration_dryrun.py',
        M + 'test_migration_runner.py']),
    ('migration/master_migration/runner.py', [
        M + 'test_runner_outcomes.py', M + 'test_migration_runner.py']),
    ('deployment_scripts/virt_guests/spec.py', [
        G + 'test_spec_bounds.py', G + 'test_spec.py',
        G + 'test_hostile_input.py', G + 'test_retire_plan.py', G + 'test_plan.py',
        G + 'test_render.py', G + 'test_astute.py', G + 'test_inputcache.py']),
    ('deployment_scripts/virt_guests/render.py', [
        G + 'test_template_size.py', G + 'test_render.py', G + 'test_hostile_input.py',
        G + 'test_plan.py', G + 'test_retire_plan.py',
        'tests/unit/test_domain_xml_features.py']),
    ('deployment_scripts/virt_guests/plan.py', [
        G + 'test_plan.py', G + 'test_retire_plan.py']),
    ('deployment_scripts/virt_guests/runlock.py', [
        G + 'test_lock_holder.py', G + 'test_hostile_lock.py', G + 'test_runlock.py']),
]
# Left out: '%' (here it formats text: any change only breaks a message)
# and all but the nearest replacement of each other operator (as PIT's
# default set: negate, or move a boundary), which keeps the run bounded.
EXCLUDED_OPERATORS = [
    r'core/ReplaceBinaryOperator_(?!(Add_Sub|Sub_Add|Mul_Div|Div_Mul|'
    r'FloorDiv_Div|BitOr_BitAnd|BitAnd_BitOr|LShift_RShift|RShift_LShift|'
    r'Pow_Mul|BitXor_BitOr)$)',
    r'core/ReplaceComparisonOperator_(?!(Eq_NotEq|NotEq_Eq|Lt_GtE|Lt_LtE|'
    r'LtE_Gt|LtE_Lt|Gt_LtE|Gt_GtE|GtE_Lt|GtE_Gt|Is_IsNot|IsNot_Is|In_NotIn|'
    r'NotIn_In)$)',
]
WORKERS = 2


class Baseline(Exception):
    """The chosen tests fail on the unchanged module."""


def tracked_tree(target):
    """A copy of the files git tracks, as they are in the work tree (or
    at the commit MUTATION_REV names: a score before a change)."""
    os.makedirs(target)
    rev = os.environ.get('MUTATION_REV')
    if rev:
        archive = subprocess.Popen(['git', 'archive', rev], cwd=REPO,
                                   stdout=subprocess.PIPE)
        subprocess.check_call(['tar', '-x', '-C', target], stdin=archive.stdout)
        archive.stdout.close()
        if archive.wait() != 0:
            raise SystemExit('git archive %s failed' % rev)
        return
    names = subprocess.check_output(['git', 'ls-files', '-z'], cwd=REPO)
    for name in names.decode('utf-8').split('\0'):
        source = os.path.join(REPO, name)
        if name and os.path.lexists(source):
            os.makedirs(os.path.dirname(os.path.join(target, name)) or target,
                        exist_ok=True)
            shutil.copy2(source, os.path.join(target, name), follow_symlinks=False)


def test_command(tests):
    if not tests:  # no unit test for the module (yet): every mutant survives
        return '%s -c pass' % PYTHON
    return '%s -m pytest -x -q -p no:cacheprovider %s' % (PYTHON, ' '.join(tests))


def config_text(module, tests, timeout):
    quoted = ', '.join('"%s"' % e.replace('\\', '\\\\') for e in EXCLUDED_OPERATORS)
    return ('[cosmic-ray]\nmodule-path = "%s"\ntimeout = %.1f\n'
            'excluded-modules = []\ntest-command = "%s"\n'
            '[cosmic-ray.distributor]\nname = "local"\n'
            '[cosmic-ray.filters.operators-filter]\nexclude-operators = [%s]\n'
            % (module, timeout, test_command(tests), quoted))


def run_module(tree, module, tests, log):
    """Baseline, then every mutant of one module in `tree`; the session."""
    name = os.path.basename(module)[:-3]
    tests = [t for t in tests if os.path.exists(os.path.join(tree, t))]
    started = time.time()
    baseline = subprocess.run(test_command(tests).split(), cwd=tree,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if baseline.returncode != 0:
        raise Baseline('the unit tests fail without a mutant:\n%s'
                       % baseline.stdout.decode('utf-8', 'replace'))
    timeout = max(10.0, 10 * (time.time() - started))
    config = os.path.join(SCRATCH, name + '.toml')
    session = os.path.join(SCRATCH, name + '.sqlite')
    with open(config, 'w') as handle:
        handle.write(config_text(module, tests, timeout))
    if os.path.exists(session):
        os.remove(session)
    for argv in ([os.path.join(BIN, 'cosmic-ray'), 'init', config, session],
                 [os.path.join(BIN, 'cr-filter-operators'), session, config],
                 [os.path.join(BIN, 'cosmic-ray'), 'exec', config, session]):
        subprocess.check_call(argv, cwd=tree, stdout=log, stderr=log)
    return session, time.time() - started


def worker(index, queue, done, lock):
    tree = os.path.join(SCRATCH, 'tree-%d' % index)
    tracked_tree(tree)
    with open(os.path.join(SCRATCH, 'worker-%d.log' % index), 'w') as log:
        while True:
            with lock:
                if not queue:
                    return
                module, tests = queue.pop(0)
            try:
                session, seconds = run_module(tree, module, tests, log)
            except (Baseline, subprocess.CalledProcessError) as error:
                print('%s: %s (log: %s)' % (module, error, log.name))
                return
            with lock:
                done[module] = (session, seconds)
                print('%s: done in %.0f s' % (module, seconds))
                sys.stdout.flush()


def outcomes(session):
    """[(MutationSpec, TestOutcome, diff)] of the mutants that ran."""
    found = []
    with use_db(session, WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            found.append((item.mutations[0], result.test_outcome, result.diff))
    return found


def changed_line(diff):
    """The mutated line, before -> after, from cosmic-ray's diff."""
    minus = [line[1:].strip() for line in (diff or '').splitlines()
             if line.startswith('-') and not line.startswith('---')]
    plus = [line[1:].strip() for line in (diff or '').splitlines()
            if line.startswith('+') and not line.startswith('+++')]
    return (minus[0] if minus else '?'), (plus[0] if plus else '?')


def explained():
    """The survivors bench/mutation_results.md lists: (module file,
    operator, original line stripped)."""
    known = set()
    if not os.path.exists(RESULTS):
        return known
    with open(RESULTS) as handle:
        for line in handle:
            parts = re.findall(r'`([^`]*)`', line)
            if line.startswith('- ') and len(parts) >= 3:
                known.add((parts[0], parts[1], parts[2].strip()))
    return known


def report(done, seconds):
    known = explained()
    unexplained, rows = [], []
    for module, _ in MODULES:
        if module not in done:
            continue
        results = outcomes(done[module][0])
        killed = [r for r in results if r[1] == TestOutcome.KILLED]
        survived = [r for r in results if r[1] == TestOutcome.SURVIVED]
        judged = len(killed) + len(survived)  # not those cosmic-ray could not apply
        short = os.path.basename(module)
        rows.append('%-14s %4d mutants %4d killed %4d survived %5.1f%%  %4.0f s%s' % (
            short, judged, len(killed), len(survived), 100.0 * len(killed) / max(1, judged),
            done[module][1], '  (%d not applicable)' % (len(results) - judged)
            if len(results) > judged else ''))
        for spec, _, diff in sorted(survived, key=lambda r: r[0].start_pos):
            before, after = changed_line(diff)
            key = (short, spec.operator_name, before)
            mark = ' ' if key in known else '!'
            if key not in known:
                unexplained.append(key)
            print('%s %s:%d %s\n      - %s\n      + %s' % (
                mark, short, spec.start_pos[0], spec.operator_name, before, after))
    print('\nmutation score per module (cosmic-ray, unit tests, Python 3):')
    print('\n'.join(rows))
    print('wall time: %.0f s with %d workers' % (seconds, min(WORKERS, len(done))))
    print('%d survivor(s) not explained in %s (marked !)' % (
        len(unexplained), os.path.relpath(RESULTS, REPO)))
    return 1 if unexplained else 0


def main(argv):
    chosen = [m for m in MODULES if not argv or any(a in m[0] for a in argv)]
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    started = time.time()
    queue, done, lock = list(chosen), {}, threading.Lock()
    threads = [threading.Thread(target=worker, args=(i, queue, done, lock))
               for i in range(min(WORKERS, len(chosen)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(done) != len(chosen):
        return 2  # a worker stopped: its message is above
    return report(done, time.time() - started)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

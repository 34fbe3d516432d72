#!/usr/bin/env python3
"""`virt-guests check` and a first no-op `apply` on the astute.yaml files the
real nailgun writes for a virt node, at N = 1 and 20 guests, under
python2.7 and python3, with PyYAML's libyaml binding and without, in one run.

Inputs (tests/nailgun/astute_samples.py makes them once with the nailgun
lab, ~20 s each, and caches them in /var/cache/reduced-footprint-tests;
generated files are never committed): nailgun 8.0's and 9.0's document of
a virt node in a six-node environment, and 9.0's of a twelve-node one, larger
than the largest upstream fixture (fuel-noop-fixtures, 89 KB). In each,
vms_conf becomes the N bench guests and the plugin's section points at the
bench's bridge and disk folder; the rest (network_metadata, network_scheme,
settings of every component) is nailgun's, dumped as the lab's tests dump it.

"first no-op apply": the N guests exist (made by an apply before, then
paused: defined, active, autostarted, using no CPU), the input cache is
removed before each run, as when Astute has written astute.yaml anew.
"without libyaml": the interpreter is started with a sitecustomize that
hides the binding (as on a node whose PyYAML was built without it); each
row says which loader the run reported.

Every figure is min/median/max of --runs runs, in seconds; each row's
baseline (--baseline DIR, e.g. a checkout of the commit before) is timed
in the same run, interleaved. Under the figures, the phases (medians of
--runs in-process runs): python (interpreter start), imports (the
package, yaml), parse (read + YAML), validate (schema, settings, guests),
render (the domain XML wanted), survey (libvirt: listing, host facts, the
plan; apply only).

Run as root on a machine prepared by `tools/setup test`:
    .venv/bin/python bench/guests_check.py [--runs R] [--baseline DIR]
Guests: ids 9881-9900 (128 MiB, 1 vCPU, 1M qcow2) on a bridge rfy-check;
everything it creates is removed at the end, also on failure.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import libvirt
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'nailgun'))
from lab import interpreters, kvm, shipped, testguests  # noqa: E402
import astute_samples  # noqa: E402
import results  # noqa: E402  (bench/results.py: bench/RESULTS.md)

URI = 'qemu:///system'
BRIDGE = 'rfy-check'
IDS = range(9881, 9901)
NODE_UID = '9880'
SIZES = (1, 20)
INPUTS = (('8.0', 2), ('9.0', 2), ('9.0', 8))
LOADERS = ('libyaml', 'pure')
HIDE_LIBYAML = ("import sys\n"
                "# bench/guests_check.py: PyYAML as built without libyaml\n"
                "sys.modules['_yaml'] = None\n"
                "sys.modules['yaml._yaml'] = None\n")
# Run in the plugin's folder by each interpreter: the phases of one run.
PHASES = r'''
import json, os, sys, time
t0 = time.time()
from virt_guests import astute, cli, plan, reconcile, spec, yamlload
t1 = time.time()
path = os.environ['RF_ASTUTE_YAML']
doc = astute.load(path, getattr(spec, 'USED_KEYS', None))
t2 = time.time()
built = spec.build_spec(doc)
t3 = time.time()
desired = reconcile.Desired(built)
t4 = time.time()
if sys.argv[1] == 'apply':
    found = reconcile.survey(reconcile.connect(os.environ['RF_LIBVIRT_URI']), desired, False)
    assert not plan.changes(found.actions), found.actions  # a no-op
t5 = time.time()
print(json.dumps({'imports': t1 - t0, 'parse': t2 - t1, 'validate': t3 - t2,
                  'render': t4 - t3, 'survey': t5 - t4,
                  'loader': yamlload.loader_name()}))
'''


def node_doc(source, count, disk_dir):
    with open(source) as stream:
        doc = yaml.safe_load(stream)
    # A node id of the bench's own: a run of other work on this host with
    # remove_undeclared_guests on would take guests of its node for its own.
    doc['uid'] = NODE_UID
    doc['vms_conf'] = [{'id': n, 'cpu': 1, 'mem_mib': 128, 'vda_size': '1M'}
                       for n in list(IDS)[:count]]
    section = doc.setdefault('reduced-footprint', {})
    section.update({'guest_bridges': BRIDGE, 'guest_disk_dir': disk_dir,
                    'guest_disk_cache': 'unsafe', 'guest_ovs_bridges': '',
                    'guest_cpu_model': kvm.guest_cpu_model(URI),
                    'host_reserved_mem_gib': '0'})
    return doc


class Runner(object):
    """One plugin folder (a copy in the work folder) under one PATH."""

    def __init__(self, workdir, plugin, node_path, hide_libyaml):
        self.workdir, self.plugin, self.node_path = workdir, plugin, node_path
        self.hide = os.path.join(workdir, 'hide-libyaml') if hide_libyaml else None
        self.cache = os.path.join(workdir, 'cache.' + os.path.basename(plugin))

    def env(self):
        env = dict(os.environ, PATH=self.node_path,
                   RF_ASTUTE_YAML=os.path.join(self.workdir, 'astute.yaml'),
                   RF_VIRT_GUESTS_LOG=os.path.join(self.workdir, 'virt-guests.log'),
                   RF_VIRT_GUESTS_LOCK=os.path.join(self.workdir, 'apply.lock'),
                   RF_VIRT_GUESTS_CACHE=self.cache, RF_LIBVIRT_URI=URI)
        env.pop('PYTHONDONTWRITEBYTECODE', None)  # as on a node: bytecode kept
        env.pop('PYTHONPATH', None)
        if self.hide:
            env['PYTHONPATH'] = self.hide
        return env

    def run(self, command, expect=None):
        """Wall seconds of `sh virt-guests COMMAND`, a first run (no cache)."""
        if os.path.exists(self.cache):
            os.remove(self.cache)
        started = time.time()
        result = subprocess.run(['sh', 'virt-guests', command], cwd=self.plugin,
                                env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, universal_newlines=True)
        took = time.time() - started
        if result.returncode != 0 or (expect and expect not in result.stdout):
            raise SystemExit('%s failed (%d):\n%s' % (command, result.returncode,
                                                      result.stdout[-3000:]))
        return took

    def phases(self, command):
        env = self.env()
        env['PYTHONPATH'] = ':'.join(p for p in (self.plugin, self.hide) if p)
        python = interpreters.NAMES[self.kind][-1]
        started = time.time()
        subprocess.run([python, '-c', 'pass'], env=env, check=True)
        bare = time.time() - started
        out = subprocess.run([python, '-c', PHASES, command], env=env, cwd=self.plugin,
                             check=True, stdout=subprocess.PIPE,
                             universal_newlines=True).stdout
        found = json.loads(out.strip().splitlines()[-1])
        found['python'] = bare
        return found


def spread(values):
    ordered = sorted(values)
    return '%.3f/%.3f/%.3f' % (ordered[0], ordered[len(ordered) // 2], ordered[-1])


def median(values):
    return sorted(values)[len(values) // 2]


def measure(runners, command, runs, expect=None):
    """{runner label: [seconds]}, the runners interleaved in each round."""
    found = dict((label, []) for label in runners)
    for _ in range(runs):
        for label, runner in runners.items():
            found[label].append(runner.run(command, expect))
    return found


PHASE_NAMES = ('python', 'imports', 'parse', 'validate', 'render', 'survey')


def phase_text(runner, command, runs):
    samples = [runner.phases(command) for _ in range(runs)]
    loaders = set(s['loader'] for s in samples)
    names = PHASE_NAMES if command == 'apply' else PHASE_NAMES[:-1]
    return loaders, ', '.join('%s %.3f' % (n, median([s[n] for s in samples])) for n in names)


def spawn(runner, count, conn):
    """The count guests made by an apply, then paused (no CPU used)."""
    runner.run('apply', 'verified')
    for domain in testguests.ours(conn, IDS):
        if domain.info()[0] == libvirt.VIR_DOMAIN_RUNNING:
            domain.suspend()
    assert len(testguests.ours(conn, IDS)) == count


def one_input(conn, workdir, source, label, paths, args, disk_dir):
    for count in SIZES:
        with open(os.path.join(workdir, 'astute.yaml'), 'w') as stream:
            yaml.safe_dump(node_doc(source, count, disk_dir), stream, default_flow_style=False)
        size = os.path.getsize(os.path.join(workdir, 'astute.yaml'))
        first = None
        for kind, node_path in paths.items():
            for loader in LOADERS:
                runners = {'plugin': Runner(workdir, os.path.join(workdir, 'plugin'),
                                            node_path, loader == 'pure')}
                if args.baseline:
                    runners['baseline'] = Runner(workdir, os.path.join(workdir, 'baseline'),
                                                 node_path, loader == 'pure')
                for runner in runners.values():
                    runner.kind = kind
                if first is None:
                    first = runners['plugin']
                    spawn(first, count, conn)
                for label_run in runners.values():  # compile the bytecode
                    label_run.run('check')
                for command in ('check', 'apply'):
                    expect = 'nothing to do' if command == 'apply' else 'input valid'
                    times = measure(runners, command, args.runs, expect)
                    loaders, phases = phase_text(runners['plugin'], command, args.runs)
                    line = '%-14s %6.1f KB N=%-2d %-9s %-7s %-5s %s' % (
                        label, size / 1024.0, count, kind, loader, command,
                        spread(times['plugin']))
                    if args.baseline:
                        line += '  baseline %s' % spread(times['baseline'])
                    print(line)
                    print('      phases (s, median): %s%s' % (
                        phases, '' if loaders == set([loader]) else
                        '  (!) the run reported loader %s' % ', '.join(sorted(loaders))))
                    sys.stdout.flush()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--baseline', metavar='DIR',
                        help='another deployment_scripts folder timed beside this one')
    args = parser.parse_args(argv)
    started = time.time()
    sources = []
    for release, computes in INPUTS:
        path, why = astute_samples.cached(release, computes)
        if path is None:
            print('skipped nailgun %s: %s' % (release, why))
            continue
        sources.append((str(path), 'nailgun %s/%d' % (release, computes + 4)))
    conn = libvirt.open(URI)
    workdir = tempfile.mkdtemp(prefix='rfy-check-')
    disk_dir = '/var/lib/libvirt/images/rfy-check-%d' % os.getpid()
    shipped.node_scripts(os.path.join(workdir, 'plugin'))
    if args.baseline:
        shipped.node_scripts(os.path.join(workdir, 'baseline'), args.baseline)
    os.mkdir(os.path.join(workdir, 'hide-libyaml'))
    with open(os.path.join(workdir, 'hide-libyaml', 'sitecustomize.py'), 'w') as stream:
        stream.write(HIDE_LIBYAML)
    subprocess.run(['ip', 'link', 'add', BRIDGE, 'type', 'bridge'], check=True)
    subprocess.run(['ip', 'link', 'set', BRIDGE, 'up'], check=True)
    try:
        paths = {}
        for kind in interpreters.KINDS:
            if interpreters.available(kind):
                paths[kind] = interpreters.only_python(kind, os.path.join(workdir, kind))
            else:
                print('skipped: ' + interpreters.missing_reason(kind))
        print('%d run(s) per figure, min/median/max s; first runs (no input cache); '
              'load %s' % (args.runs, load_now()))
        print('%-14s %9s %-4s %-9s %-7s %-5s %s' % (
            'input', 'size', 'N', 'python', 'loader', 'what', 'plugin'))
        for source, label in sources:
            one_input(conn, workdir, source, label, paths, args, disk_dir)
            testguests.remove(conn, disk_dir, IDS)
    finally:
        testguests.remove(conn, disk_dir, IDS)
        subprocess.run(['ip', 'link', 'del', BRIDGE])
        shutil.rmtree(workdir, ignore_errors=True)
    print('bench took %.0f s; load %s' % (time.time() - started, load_now()))


def load_now():
    return ' '.join(open('/proc/loadavg').read().split()[:3])


if __name__ == '__main__':
    sys.exit(results.run_and_record('guests_check', lambda: main(sys.argv[1:])))

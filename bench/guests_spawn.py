#!/usr/bin/env python3
"""Spawn N small KVM guests with `virt-guests apply` (N = 1, 5, 10, 20) and
print the wall time until all are running, with the default parallelism and
with --parallel 1 in the same run (P/1: the first over the second), and the
time of a no-op re-run. With --core-script, Fuel's own generate_vms.sh starts
the same guests in the same run too (see its help for where it comes from).
Each size runs under both Pythons the shipped code supports, each alone on
PATH as on a Fuel node (Python 2.7: a stock 8.0/9.0 node; python3: later
systems), and the last column is python2.7's time over python3's.

Every figure is min/median/max over --runs runs (default 3). A spawn
starts without a cached input (a first deploy); the no-op re-run follows
it at once, while the new guests boot (they compete for the CPUs). Under each
row, the phases of the parallel spawn (medians), read from the log:
  to-plan  process start until the plan is logged (interpreter, imports,
           input, listing the domains, host checks)
  apply    plan logged until the last guest step is done (wall)
  verify   last step done until the new plan is verified empty (wall)
  per guest  disk/define/start/autostart: mean/slowest time of one such step
           of one guest (guests run in parallel: these overlap; autostart
           includes resuming a guest that was started paused)
  no-op cpu  user + system CPU seconds of the no-op re-run (its share of
           the CPUs shrinks while the guests boot; this does not)
After each Python's last spawn of a size, once the new guests have settled
(their qemu processes' CPU use, sampled over 2 s windows, has stayed under
--settled-cores for two windows in a row; at most --settle-seconds), --runs
no-op re-runs in a row give the "settled" figure, with the qemu CPU use seen
(here 20 guests never settle: with no disk to boot, iPXE keeps them busy on
both cores, so this figure is taken after the wait, still contended);
then, with every guest paused (defined, active, autostarted: nothing to do,
no CPU used), --runs more give the "guests paused" figure: the run's own cost.

Run as root on a machine prepared by `tools/setup test`:
    .venv/bin/python bench/guests_spawn.py [--runs R] [--plugin DIR]
        [--baseline DIR] [N ...]
`--runs 3 --python python3 20` (N = 20, one Python) took 9 min here (mostly
the --parallel 1 spawns and the wait to settle); the total is printed.
--plugin: another deployment_scripts folder to measure (e.g. a checkout of
an older commit), to compare before and after on the same machine.
--baseline: a second deployment_scripts folder (e.g. the commit before a
change) whose no-op re-runs are timed beside each of --plugin's, on the same
guests in the same run (its first run after a spawn fills its own cache).
--parallel P (repeatable): spawn with these instead of the default; each
is timed against the same parallel 1.
--core-script PATH: after the parallel 1 spawn, the bench writes each
guest's domain XML as this plugin renders it (with the disk's size on
<source>, where the script reads it) as template_<name>.xml into a
temporary folder and times `bash PATH LIBVIRT_DIR TEMPLATE_DIR`
(LIBVIRT_DEFAULT_URI=qemu:///system, LIBVIRT_DIR a temporary folder with
autostart/, so libvirt's own folder is untouched and the script's autostart
links cost it nothing), printed with its ratios to parallel P and 1.
Guests: 128 MiB, 1 vCPU, 1M qcow2, on a bridge rfg-bench; ids 9001-9020.
Everything it creates is removed at the end, also on failure.

--network (with --core-script, default sizes 1 10 20): instead, the time
the operator waits for Fuel to see the guests: from the command's start
(`sh virt-guests apply`, a first deploy; or the core script) until every
guest has sent its first DHCP request on the admin bridge, and until every
one has asked TFTP for its boot file, read from the log of a dnsmasq in a
network namespace on that bridge (tests/lab/pxe.py, as test_discovery.py).
The guests run under TCG (domain type qemu, through the plugin's
guest_domain_template): this host's KVM stalls iPXE (test_discovery.py).
Each size: --runs rounds of the plugin then the script on the same guests,
python2.7 only (a Fuel node's). Its names: bridge rfy-adm, namespace
rfy-master, veth rfy-mst0/1, ids 9881-9900, disks under
/var/lib/libvirt/images/rfy-net-PID.
"""
import argparse
import datetime
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import libvirt
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests'))
from lab import interpreters, kvm, paths, shipped, testguests  # noqa: E402
import results  # noqa: E402  (bench/results.py: bench/RESULTS.md)
URI = 'qemu:///system'
BRIDGE = 'rfg-bench'


def astute(count, disk_dir):
    guests = [{'id': 9001 + i, 'cpu': 1, 'mem_mib': 128, 'vda_size': '1M'}
              for i in range(count)]
    return {'uid': '98', 'roles': ['virt'], 'vms_conf': guests,
            'reduced-footprint': {'guest_bridges': BRIDGE, 'guest_disk_dir': disk_dir,
                                  'guest_disk_cache': 'unsafe',
                                  'guest_cpu_model': kvm.guest_cpu_model(URI),
                                  'host_reserved_mem_gib': '0'}}


def forget_input(workdir):
    """A spawn is measured as a first deploy: no cached input."""
    if os.path.exists(os.path.join(workdir, 'cache')):
        os.remove(os.path.join(workdir, 'cache'))


def plugin_env(workdir, node_path, plugin='plugin'):
    env = dict(os.environ, PATH=node_path,
               RF_ASTUTE_YAML=os.path.join(workdir, 'astute.yaml'),
               RF_VIRT_GUESTS_LOG=os.path.join(workdir, 'virt-guests.log'),
               RF_VIRT_GUESTS_LOCK=os.path.join(workdir, 'apply.lock'),
               RF_VIRT_GUESTS_CACHE=os.path.join(
                   workdir, 'cache' if plugin == 'plugin' else 'cache.' + plugin))
    # As on a node: Python keeps the plugin's bytecode (a developer's shell
    # may forbid it; then every run compiles the package again).
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    return env


def timed_apply(workdir, node_path, extra=(), plugin='plugin'):
    """plugin: the folder of workdir to run (baseline: --baseline's copy,
    with its own input cache)."""
    log = os.path.join(workdir, 'virt-guests.log')
    env = plugin_env(workdir, node_path, plugin)
    if os.path.exists(log):
        os.remove(log)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    result = subprocess.run(['sh', 'virt-guests', 'apply'] + list(extra),
                            cwd=os.path.join(workdir, plugin), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    elapsed = time.time() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit('apply failed:\n' + result.stdout)
    CPU_SECONDS[:] = [after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime]
    return elapsed, result.stdout


CPU_SECONDS = [0.0]  # user + system time of the last timed_apply (all its processes)
PLUGINS = ['plugin']  # the folders of workdir measured: --plugin's copy, then --baseline's


STAMP = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \w+ (.*)$')
STEP = re.compile(r'^\S+: (create-disk|define|start|autostart) done(?: in ([0-9.]+) s)?$')
STEPS = ('create-disk', 'define', 'start', 'autostart')


def log_lines(workdir):
    """[(seconds since the epoch, message)] of the last run's log."""
    found = []
    with open(os.path.join(workdir, 'virt-guests.log')) as stream:
        for line in stream:
            match = STAMP.match(line.rstrip('\n'))
            if match:
                when = datetime.datetime.strptime(match.group(1), '%Y-%m-%d %H:%M:%S')
                found.append((time.mktime(when.timetuple()) + int(match.group(2)) / 1000.0,
                              match.group(3)))
    return found


def phases(workdir, started):
    """{phase: seconds} of the last apply (see the module's text)."""
    lines = log_lines(workdir)
    planned = [t for t, text in lines if text.startswith('  ' + STEPS[0])
               or text.startswith('  define')]
    done = [(t, STEP.match(text), text.split(':')[0]) for t, text in lines
            if STEP.match(text)]
    verified = [t for t, text in lines if text.startswith('verified')]
    result = {'to-plan': planned[0] - started if planned else None,
              'apply': done[-1][0] - planned[0] if done and planned else None,
              'verify': verified[-1] - done[-1][0] if verified and done else None}
    took = dict((kind, []) for kind in STEPS)
    previous = {}
    for when, match, guest in done:
        if match.group(2):
            took[match.group(1)].append(float(match.group(2)))
        elif guest in previous:  # an older log without step times
            took[match.group(1)].append(when - previous[guest])
        previous[guest] = when
    for kind in STEPS:
        result[kind] = sum(took[kind]) / len(took[kind]) if took[kind] else None
        result[kind + ' max'] = max(took[kind]) if took[kind] else None
    return result


def bench_domains(conn):
    return testguests.ours(conn)


def remove_guests(conn, disk_dir):
    testguests.remove(conn, disk_dir)


def running_count(conn):
    return sum(1 for d in bench_domains(conn) if d.isActive())


def qemu_ticks():
    """CPU clock ticks used so far by the qemu processes (the guests)."""
    total = 0
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/%s/comm' % pid) as stream:
                if not stream.read().startswith('qemu'):
                    continue
            with open('/proc/%s/stat' % pid) as stream:
                fields = stream.read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (IOError, OSError, IndexError, ValueError):
            continue  # not a process, or gone meanwhile
    return total


def qemu_cores(seconds):
    """CPU cores the guests' qemu processes used over the next seconds."""
    before = qemu_ticks()
    time.sleep(seconds)
    return (qemu_ticks() - before) / float(os.sysconf('SC_CLK_TCK')) / seconds


def wait_settled(limit_cores, longest, window=2):
    """(seconds waited, cores used in the last window) once two windows in
    a row stayed under limit_cores, or after `longest` seconds."""
    started, quiet = time.time(), 0
    while time.time() - started < longest:
        cores = qemu_cores(window)
        quiet = quiet + 1 if cores < limit_cores else 0
        if quiet == 2:
            break
    return time.time() - started, cores


def paused_noops(conn, workdir, node_path, runs):
    """noops() with every guest paused: still defined, active and
    autostarted (nothing to do), but using no CPU: the run's own cost."""
    for domain in bench_domains(conn):
        domain.suspend()
    return noops(workdir, node_path, runs)


def spawn(conn, workdir, count, node_path, extra=()):
    """Seconds a first deploy of count guests takes, and its phases."""
    forget_input(workdir)
    started = time.time()
    took, _ = timed_apply(workdir, node_path, extra)
    assert running_count(conn) == count
    return took, phases(workdir, started)


DOMAIN_XML = re.compile(r'^<domain .*?^</domain>$', re.M | re.S)
CORE_SCRIPT_MISSING = ('--core-script needs xmlstarlet (the core script reads the '
                       'templates with it): apt-get install xmlstarlet '
                       '(tools/setup test installs it)')


def core_templates(workdir, node_path, template_dir):
    """template_<name>.xml for each guest of astute.yaml, as the core script
    reads them: our rendered domain XML, with the disk's size on <source>."""
    env = dict(plugin_env(workdir, node_path), RF_VIRT_GUESTS_LOG='')
    out = subprocess.run(['sh', 'virt-guests', 'plan', '--xml'],
                         cwd=os.path.join(workdir, 'plugin'), env=env, check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    sizes = dict(('%d_vm' % guest['id'], guest['vda_size']) for guest in
                 yaml.safe_load(open(os.path.join(workdir, 'astute.yaml')))['vms_conf'])
    for text in DOMAIN_XML.findall(out):
        name = re.search(r'<name>(.*)</name>', text).group(1)
        text = re.sub(r'(<source file="[^"]*")', r'\1 size="%s"' % sizes[name], text, 1)
        with open(os.path.join(template_dir, 'template_%s.xml' % name), 'w') as stream:
            stream.write(text + '\n')


def core_spawn(conn, workdir, count, node_path, script, disk_dir):
    """Seconds `bash script LIBVIRT_DIR TEMPLATE_DIR` takes to start the
    same guests (libvirt's own folder stays untouched: LIBVIRT_DIR is a
    temporary one, which the script only links autostart entries into)."""
    top = tempfile.mkdtemp(prefix='rfg-core-', dir=workdir)
    libvirt_dir, template_dir = os.path.join(top, 'libvirt'), os.path.join(top, 'templates')
    os.makedirs(os.path.join(libvirt_dir, 'autostart'))
    os.makedirs(template_dir)
    os.makedirs(disk_dir)  # the script's qemu-img does not make it
    core_templates(workdir, node_path, template_dir)
    env = dict(os.environ, LIBVIRT_DEFAULT_URI=URI)
    start = time.time()
    result = subprocess.run(['bash', script, libvirt_dir, template_dir], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    elapsed = time.time() - start
    if result.returncode != 0 or running_count(conn) != count:
        raise SystemExit('the core script failed (exit %d, %d of %d guests running):\n%s'
                         % (result.returncode, running_count(conn), count, result.stdout))
    shutil.rmtree(top)
    return elapsed


def noop(workdir, node_path, plugin='plugin'):
    took, out = timed_apply(workdir, node_path, plugin=plugin)
    assert 'nothing to do' in out, out
    return took


def noops(workdir, node_path, runs):
    """{plugin folder: [no-op s]}: runs of the plugin, each followed by one
    of the baseline (when there is one)."""
    found = dict((plugin, []) for plugin in PLUGINS)
    for _ in range(runs):
        for plugin in PLUGINS:
            found[plugin].append(noop(workdir, node_path, plugin))
    return found


def one_size(conn, workdir, disk_dir, count, node_path, args, settled=False):
    """(parallel s, serial s, no-op s, phases of the parallel spawn,
    {other --parallel: s}, core script s or None); with settled: also the
    settled and paused no-ops."""
    with open(os.path.join(workdir, 'astute.yaml'), 'w') as stream:
        yaml.safe_dump(astute(count, disk_dir), stream)
    first = args.parallel[0]
    parallel, spawn_phases = spawn(conn, workdir, count, node_path, parallel_flag(first))
    booting = noop(workdir, node_path)
    spawn_phases['no-op cpu'] = CPU_SECONDS[0]
    for plugin in PLUGINS[1:]:
        noop(workdir, node_path, plugin)  # fills its input cache, as a spawn would
        spawn_phases['baseline no-op'] = noop(workdir, node_path, plugin)
    if settled:
        waited, cores = wait_settled(args.settled_cores, args.settle_seconds)
        spawn_phases['settled'] = (waited, cores, noops(workdir, node_path, args.runs))
        spawn_phases['paused'] = paused_noops(conn, workdir, node_path, args.runs)
    remove_guests(conn, disk_dir)
    others = {}
    for value in args.parallel[1:]:
        others[value] = spawn(conn, workdir, count, node_path, parallel_flag(value))[0]
        remove_guests(conn, disk_dir)
    serial, _ = spawn(conn, workdir, count, node_path, ['--parallel', '1'])
    remove_guests(conn, disk_dir)
    core = None
    if args.core_script:
        core = core_spawn(conn, workdir, count, node_path, args.core_script, disk_dir)
        remove_guests(conn, disk_dir)
    return parallel, serial, booting, spawn_phases, others, core


def parallel_flag(value):
    return [] if value is None else ['--parallel', str(value)]


def node_paths(workdir, kinds):
    """{kind: PATH offering only that Python}, for the kinds installed."""
    paths = {}
    for kind in kinds:
        if interpreters.available(kind):
            paths[kind] = interpreters.only_python(kind, os.path.join(workdir, kind))
        else:
            print('skipped: ' + interpreters.missing_reason(kind))
    return paths


def spread(values):
    """'min/median/max' of seconds."""
    ordered = sorted(values)
    return '%.2f/%.2f/%.2f' % (ordered[0], ordered[len(ordered) // 2], ordered[-1])


def median(values):
    values = sorted(v for v in values if v is not None)
    return values[len(values) // 2] if values else None


def phase_line(runs):
    """The run's phases, then one guest's steps (mean and slowest)."""
    def value(name):
        found = median([run[3][name] for run in runs])
        return '-' if found is None else '%.3f' % found
    whole = ['%s %s' % (name, value(name))
             for name in ('to-plan', 'apply', 'verify', 'no-op cpu')]
    steps = ['%s %s/%s' % (name.replace('create-', ''), value(name), value(name + ' max'))
             for name in STEPS]
    return ('     run phases (s, median): %s\n     per guest (s, median of the runs\' '
            'mean/slowest): %s' % (', '.join(whole), ', '.join(steps)))


def noop_lines(runs):
    """The no-ops besides the one after each spawn, per plugin."""
    found = runs[-1][3]
    waited, cores, settled = found['settled']
    lines = []
    if len(PLUGINS) > 1:
        lines.append('     baseline no-op while booting: %s'
                     % spread([run[3]['baseline no-op'] for run in runs]))
    for plugin in PLUGINS:
        label = 'plugin' if plugin == PLUGINS[0] else 'baseline'
        lines.append('     %s no-op settled: %s, guests paused: %s (%d in a row each)'
                     % (label, spread(settled[plugin]), spread(found['paused'][plugin]),
                        len(settled[plugin])))
    lines.append('     (settled: %.0f s after the no-op while booting, the guests used '
                 '%.2f cores)' % (waited, cores))
    return '\n'.join(lines)


def ratio_spread(numerators, denominators):
    return spread([a / b for a, b in zip(numerators, denominators)])


def extra_lines(done, args):
    """The other --parallel values and the core script, against both baselines."""
    lines = []
    for value in args.parallel[1:]:
        took = [run[4][value] for run in done]
        lines.append('     parallel %d: %s s, over parallel 1: %s' % (
            value, spread(took), ratio_spread(took, [run[1] for run in done])))
    if args.core_script:
        core = [run[5] for run in done]
        lines.append('     core script: %s s; parallel %s over it: %s; parallel 1 over '
                     'it: %s' % (spread(core), args.parallel_label,
                                 ratio_spread([run[0] for run in done], core),
                                 ratio_spread([run[1] for run in done], core)))
    return lines


def size_rows(conn, workdir, disk_dir, count, paths, args):
    """Print one row per Python for this size (and its phases)."""
    spawn = {}
    for kind in interpreters.KINDS:
        if kind not in paths:
            continue
        done = [one_size(conn, workdir, disk_dir, count, paths[kind], args,
                         run == args.runs - 1)
                for run in range(args.runs)]
        spawn[kind] = median([run[0] for run in done])
        versus = ('%.2f' % (spawn['python2.7'] / spawn['python3'])
                  if len(spawn) == 2 else '')
        print('%4d %-10s %16s %16s %6.2f %16s %8s' % (
            count, kind, spread([r[0] for r in done]), spread([r[1] for r in done]),
            median([r[0] / r[1] for r in done]), spread([r[2] for r in done]), versus))
        print(phase_line(done))
        print('\n'.join(extra_lines(done, args) + [noop_lines(done)]))
        sys.stdout.flush()


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('sizes', nargs='*', type=int,
                        help='default: 1 5 10 20 (--network: 1 10 20)')
    parser.add_argument('--runs', type=int, default=3, help='runs per figure (default 3)')
    parser.add_argument('--settled-cores', type=float, default=1.0,
                        help='the guests have settled when their qemu processes use '
                             'fewer cores than this (default 1.0)')
    parser.add_argument('--settle-seconds', type=int, default=60,
                        help='wait at most this long for the guests to settle (default 60)')
    parser.add_argument('--python', action='append', choices=interpreters.KINDS,
                        help='measure only this Python (again for another; default: all)')
    parser.add_argument('--baseline', metavar='DIR',
                        help='another deployment_scripts folder whose no-op re-runs are '
                             'timed after each no-op of --plugin, on the same guests')
    parser.add_argument('--plugin', default=os.path.join(REPO, 'deployment_scripts'),
                        help='the deployment_scripts folder to measure (default: this one)')
    parser.add_argument('--parallel', type=int, action='append', metavar='P',
                        help="spawn with apply --parallel P (again for more values, each "
                             "against the same parallel 1; default: the plugin's default)")
    parser.add_argument('--core-script', metavar='PATH',
                        help='also time Fuel\'s core generate_vms.sh on the same guests in '
                             'the same run: fuel-library\'s files/fuel-misc/generate_vms.sh '
                             '(e.g. `git show 73ca52d4f:files/fuel-misc/generate_vms.sh` in a '
                             'clone of openstack/fuel-library); needs xmlstarlet')
    parser.add_argument('--network', action='store_true',
                        help='time until every guest asks DHCP and TFTP for its boot file, '
                             'for the plugin and --core-script (see above)')
    args = parser.parse_args(argv)
    if args.network and not args.core_script:
        parser.error('--network needs --core-script')
    args.sizes = args.sizes or ([1, 10, 20] if args.network else [1, 5, 10, 20])
    if args.core_script and not shutil.which('xmlstarlet'):
        parser.error(CORE_SCRIPT_MISSING)
    if args.core_script and not os.path.isfile(args.core_script):
        parser.error('--core-script %s: no such file' % args.core_script)
    args.parallel = args.parallel or [None]
    args.parallel_label = str(args.parallel[0] or default_parallel(args.plugin))
    return args


def default_parallel(plugin):
    """The plugin's default --parallel, as its cli.py declares it."""
    with open(os.path.join(plugin, 'virt_guests', 'cli.py')) as stream:
        found = re.search(r"'--parallel', type=int, default=(\d+)", stream.read())
    return found.group(1) if found else '?'


NET_IDS = range(9881, 9901)
NET_UID = '9880'  # not another run's node: it could retire our guests as its own
NET_BRIDGE, NET_NS, NET_VETH = 'rfy-adm', 'rfy-master', ('rfy-mst1', 'rfy-mst0')
NET_MASTER, NET_POOL = '10.98.0.2', '10.98.0.100,10.98.0.199'
NET_TIMEOUT = 600


def net_astute(count, disk_dir, template):
    guests = [{'id': n, 'cpu': 1, 'mem_mib': 128, 'vda_size': '1M'}
              for n in list(NET_IDS)[:count]]
    return {'uid': NET_UID, 'roles': ['virt'], 'vms_conf': guests,
            'reduced-footprint': {'guest_bridges': NET_BRIDGE, 'guest_disk_dir': disk_dir,
                                  'guest_disk_cache': 'unsafe',
                                  'guest_cpu_model': 'hypervisor-default',
                                  'guest_domain_template': template,
                                  'host_reserved_mem_gib': '0'}}


def to_network(log, macs, command, env=None, cwd=None):
    """(seconds until the command returned, until every MAC's first DHCP
    request, until every one asked for its boot file), from its start."""
    from lab import pxe
    watch = pxe.Watch(log)
    result = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    returned = time.time() - watch.started
    if result.returncode != 0:
        raise SystemExit('%s failed:\n%s' % (' '.join(command), result.stdout[-3000:]))
    dhcp, tftp = watch.wait(macs, NET_TIMEOUT)
    if tftp is None:
        raise SystemExit('%s: not every guest asked for its boot file within %d s'
                         % (' '.join(command), NET_TIMEOUT))
    return returned, dhcp, tftp


def net_round(conn, workdir, count, node_path, args, log, disk_dir):
    """(plugin's (returned, dhcp, tftp), the core script's), same guests."""
    from virt_guests import render
    macs = [render.guest_mac(NET_UID, n, 0) for n in list(NET_IDS)[:count]]
    template = os.path.join(workdir, 'tcg-domain.xml')
    with open(os.path.join(REPO, 'deployment_scripts', 'templates', 'guest-domain.xml')) as src:
        text = src.read().replace("<domain type='kvm'>", "<domain type='qemu'>")
    with open(template, 'w') as stream:
        stream.write(text)
    with open(os.path.join(workdir, 'astute.yaml'), 'w') as stream:
        yaml.safe_dump(net_astute(count, disk_dir, template), stream)
    forget_input(workdir)
    ours = to_network(log, macs, ['sh', 'virt-guests', 'apply'],
                      plugin_env(workdir, node_path), os.path.join(workdir, 'plugin'))
    assert len(testguests.ours(conn, NET_IDS)) == count
    testguests.remove(conn, disk_dir, NET_IDS)
    top = tempfile.mkdtemp(prefix='rfy-core-', dir=workdir)
    libvirt_dir, template_dir = os.path.join(top, 'libvirt'), os.path.join(top, 'templates')
    os.makedirs(os.path.join(libvirt_dir, 'autostart'))
    os.makedirs(template_dir)
    os.makedirs(disk_dir)
    core_templates(workdir, node_path, template_dir)
    for name in os.listdir(template_dir):  # <name>.xml: what every script version reads
        os.rename(os.path.join(template_dir, name),
                  os.path.join(template_dir, name[len('template_'):]))
    core = to_network(log, macs, ['bash', args.core_script, libvirt_dir, template_dir],
                      dict(os.environ, LIBVIRT_DEFAULT_URI=URI))
    testguests.remove(conn, disk_dir, NET_IDS)
    shutil.rmtree(top)
    return ours, core


def network_main(args, conn):
    """--network: the time until Fuel can see the guests (module text)."""
    from lab import pxe
    paths.put_on_sys_path(paths.SCRIPTS)
    started = time.time()
    workdir = tempfile.mkdtemp(prefix='rfy-net-')
    disk_dir = '/var/lib/libvirt/images/rfy-net-%d' % os.getpid()
    shipped.node_scripts(os.path.join(workdir, 'plugin'), args.plugin)
    subprocess.run(['ip', 'link', 'add', NET_BRIDGE, 'type', 'bridge'], check=True)
    subprocess.run(['ip', 'link', 'set', NET_BRIDGE, 'up'], check=True)
    try:
        with pxe.master(workdir, NET_BRIDGE, NET_NS, NET_VETH, NET_MASTER,
                        NET_POOL) as (log, _):
            node_path = node_paths(workdir, ['python2.7'])['python2.7']
            net_round(conn, workdir, 1, node_path, args, log, disk_dir)  # warm-up
            print('%d run(s) per figure; min/median/max in seconds from the command\'s '
                  'start; plugin %s; load %s' % (args.runs, args.plugin, ' '.join(
                      open('/proc/loadavg').read().split()[:3])))
            print('%4s %-8s %20s %20s %20s' % ('N', '', 'command returned', 'all asked DHCP',
                                               'all asked boot file'))
            for count in args.sizes:
                rounds = [net_round(conn, workdir, count, node_path, args, log, disk_dir)
                          for _ in range(args.runs)]
                for index, label in enumerate(('plugin', 'script')):
                    print('%4d %-8s %20s %20s %20s' % ((count, label) + tuple(
                        spread([r[index][k] for r in rounds]) for k in range(3))))
                print('     plugin over script (boot file): %s; load %s' % (
                    ratio_spread([r[0][2] for r in rounds], [r[1][2] for r in rounds]),
                    ' '.join(open('/proc/loadavg').read().split()[:3])))
                sys.stdout.flush()
    finally:
        testguests.remove(conn, disk_dir, NET_IDS)
        subprocess.run(['ip', 'link', 'del', NET_BRIDGE])
        shutil.rmtree(workdir, ignore_errors=True)
        print('bench took %.0f s' % (time.time() - started))


def main(argv):
    args = parse_args(argv)
    if args.network:
        return network_main(args, libvirt.open(URI))
    started = time.time()
    conn = libvirt.open(URI)
    workdir = tempfile.mkdtemp(prefix='rfg-bench-')
    disk_dir = '/var/lib/libvirt/images/rfg-bench-%d' % os.getpid()
    shipped.node_scripts(os.path.join(workdir, 'plugin'), args.plugin)
    if args.baseline:
        shipped.node_scripts(os.path.join(workdir, 'baseline'), args.baseline)
        PLUGINS.append('baseline')
    subprocess.run(['ip', 'link', 'add', BRIDGE, 'type', 'bridge'], check=True)
    subprocess.run(['ip', 'link', 'set', BRIDGE, 'up'], check=True)
    try:
        paths = node_paths(workdir, args.python or interpreters.KINDS)
        for path in paths.values():  # warm-up: libvirt's first qemu start is slow
            one_size(conn, workdir, disk_dir, 1, path, args)
        print('%d run(s) per figure; min/median/max in seconds; plugin %s%s; load %s'
              % (args.runs, args.plugin, ', baseline %s' % args.baseline if args.baseline
                 else '', ' '.join(open('/proc/loadavg').read().split()[:3])))
        print('%4s %-10s %16s %16s %6s %16s %8s' % (
            'N', 'python', 'parallel ' + args.parallel_label, 'parallel 1',
            '%s/1' % args.parallel_label, 'no-op', '2.7/3'))
        for count in args.sizes:
            size_rows(conn, workdir, disk_dir, count, paths, args)
    finally:
        remove_guests(conn, disk_dir)
        subprocess.run(['ip', 'link', 'del', BRIDGE])
        shutil.rmtree(workdir, ignore_errors=True)
        print('bench took %.0f s; load %s' % (time.time() - started, ' '.join(
            open('/proc/loadavg').read().split()[:3])))


if __name__ == '__main__':
    sys.exit(results.run_and_record(
        'guests_spawn_network' if '--network' in sys.argv else 'guests_spawn',
        lambda: main(sys.argv[1:])))

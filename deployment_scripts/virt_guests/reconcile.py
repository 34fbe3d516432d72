"""This node's guests against vms_conf: read the facts, compute the plan,
apply it, verify it. Returns records; the command line (cli.py) logs them
and chooses the exit status.

libvirt-python is imported only when a connection is made: the `check`
task runs before the task that installs it.
"""
from __future__ import absolute_import, division, print_function

import collections
import grp

from rf_common.text import to_text
from . import domainxml
from . import host
from . import plan as planning
from . import render

# observed: plan.Observed (libvirt and the images); host: host.HostFacts.
Facts = collections.namedtuple('Facts', 'observed host')
# notes: what plan assumes apply will fix first; warnings: not refusals.
Survey = collections.namedtuple('Survey', 'facts actions problems notes warnings')
# plan_after: the plan made again after applying; left: its changes for
# guests that did not fail (they should be none).
Applied = collections.namedtuple('Applied', 'results plan_after left')
Retirement = collections.namedtuple('Retirement', 'problems state actions')


class Unavailable(Exception):
    """libvirt-python is missing, or libvirtd or qemu-img does not answer;
    nothing was changed."""


class LibvirtLost(Exception):
    """libvirt stopped answering while changes were being made."""


class Desired(object):
    """The validated input, rendered: what the guests should look like."""

    def __init__(self, spec):
        self.spec = spec
        template = render.load_template(spec.settings.domain_template or None)
        self.wants = [(render.want(g, spec.node, spec.settings), g.disk_bytes)
                      for g in spec.guests]
        self.by_name = domainxml.RenderedOnUse(template, self.wants, spec.settings)

    def plan(self, observed):
        return planning.plan(self.wants, observed, self.spec.node.uid,
                             self.spec.settings.remove_undeclared)

    def disk_paths(self):
        return [w.disk_path for w, _ in self.wants]

    def names(self):
        return [w.name for w, _ in self.wants]


def connect(uri):
    """A Connection to libvirtd at uri; Unavailable when it cannot be reached."""
    try:
        from . import hypervisor  # installed after the check task
    except ImportError as error:
        raise Unavailable('libvirt-python is missing (%s): run install-hypervisor.sh'
                          % error)
    try:
        return Connection(hypervisor, hypervisor.connect(uri))
    except hypervisor.HypervisorError as error:
        raise Unavailable(to_text(error))


class Connection(object):
    """A connection to libvirtd, and hypervisor.py (the module that speaks
    to it, and to qemu-img and the images): everything reconcile asks of
    them. Errors are Unavailable while reading (nothing changed yet),
    LibvirtLost once changes are being made."""

    def __init__(self, hypervisor, conn):
        self._hypervisor, self._conn = hypervisor, conn

    def _call(self, failure, function, *args):
        """function(*args); its HypervisorError raised as failure."""
        try:
            return function(*args)
        except self._hypervisor.HypervisorError as error:
            raise failure(to_text(error))

    def observe(self, disk_paths):
        """plan.Observed: the domains and the images at disk_paths."""
        return self._call(Unavailable, self._hypervisor.observe, self._conn, disk_paths)

    def observe_after_changes(self, disk_paths):
        """observe, once apply has changed something: LibvirtLost if it fails."""
        return self._call(LibvirtLost, self._hypervisor.observe, self._conn, disk_paths)

    def status(self, node_uid, declared_names):
        return self._call(Unavailable, self._hypervisor.status, self._conn, node_uid,
                          declared_names)

    def disk_info(self, path):
        return self._call(Unavailable, self._hypervisor.disk_info, path)

    def apply(self, actions, by_name, parallel):
        """Carry out actions (by_name: Desired.by_name); the guests' results."""
        return self._call(LibvirtLost, self._hypervisor.apply, self._conn, actions, by_name,
                          parallel)

    def retire(self, uuid, actions):
        return self._call(LibvirtLost, self._hypervisor.retire, self._conn, uuid, actions)

    def tighten_disks(self, paths):
        """Make the images at paths private; what was changed, as texts."""
        return self._hypervisor.tighten_disks(paths)


def fix_kvm():
    """What apply fixes on the node before checking it, or None."""
    return host.fix_kvm()


def read_facts(connection, desired):
    return Facts(observed=connection.observe(desired.disk_paths()),
                 host=host.read_facts(desired.spec))


def _new_disks(desired, actions):
    """Full sizes of the images the plan creates."""
    creating = set(a.name for a in actions if a.kind == planning.CREATE_DISK)
    return [size for want, size in desired.wants if want.name in creating]


def _kvm_group_exists():
    try:
        grp.getgrnam('kvm')
        return True
    except KeyError:
        return False


def assume_kvm_fixed(facts):
    """(host facts as apply will find them, note): apply first gives
    /dev/kvm to group kvm 0660 (host.fix_kvm)."""
    kvm = facts.kvm
    if kvm.exists and not host.check_kvm(kvm, facts.qemu_user, facts.qemu_groups):
        return facts, None
    if not kvm.exists or not _kvm_group_exists():
        return facts, None
    fixed = facts._replace(kvm=host.KvmFacts(True, 'kvm', kvm.mode | 0o660))
    return fixed, 'apply will give %s to group kvm, mode 0660' % host.KVM_PATH


def survey(connection, desired, for_plan):
    """Survey: the facts, the plan and what the node lacks for it.
    for_plan: count on apply's /dev/kvm fix, and say so in a note."""
    facts = read_facts(connection, desired)
    actions = desired.plan(facts.observed)
    host_facts, note = facts.host, None
    if for_plan:
        host_facts, note = assume_kvm_fixed(host_facts)
    new_disks = _new_disks(desired, actions)
    return Survey(facts=facts, actions=actions,
                  problems=host.check_host(desired.spec, host_facts, new_disks),
                  notes=[note] if note else [],
                  warnings=host.disk_dir_warnings(desired.spec.settings.disk_dir)
                  + host.disk_warnings(desired.spec, host_facts, new_disks))


def verify(connection, desired, results):
    """Applied: plan again; guests that succeeded need nothing more."""
    again = desired.plan(connection.observe_after_changes(desired.disk_paths()))
    failed = set(r.name for r in results if not r.ok)
    left = [a for a in planning.changes(again) if a.name not in failed]
    return Applied(results, again, left)


def apply(connection, desired, actions, parallel):
    """Carry out the plan, then verify it: Applied. LibvirtLost when
    libvirt stops answering."""
    results = connection.apply(actions, desired.by_name, parallel)
    return verify(connection, desired, results)


def tighten_disks(connection, desired, actions):
    """What was made private among the images of the declared guests the
    plan does not refuse (a refused guest's disk path is left alone)."""
    refused = set(a.name for a in planning.refusals(actions))
    return connection.tighten_disks(
        [w.disk_path for w, _ in desired.wants if w.name not in refused])


def _disk_uses(connection, state, observed):
    return [(ref.path, connection.disk_info(ref.path) if ref.path else None, use)
            for ref, use in zip(state.facts.disks,
                                planning.disk_uses(state.facts, observed))]


def plan_retire(connection, desired, request):
    """Retirement of request.name (problems: why not; then nothing else).
    request: name, confirm, remove_disk, dry_run."""
    observed = connection.observe([])
    problems = planning.retire_problems(
        request.name, request.confirm, observed.domains, desired.spec.node.uid,
        set(desired.names()), request.dry_run)
    if problems:
        return Retirement(problems, None, [])
    state = observed.domains[request.name]
    actions = planning.retire_plan(state, _disk_uses(connection, state, observed),
                                   request.remove_disk)
    return Retirement([], state, actions)


def retire(connection, retirement):
    """Carry out a Retirement; LibvirtLost when a step fails."""
    connection.retire(retirement.state.facts.uuid, retirement.actions)

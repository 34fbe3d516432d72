"""What every step gets: parameters, facts found at preflight, state,
the command runners, the log and the test hook."""
from __future__ import absolute_import, division, print_function

import os
import signal

from master_migration.commands import Remote

URI = 'qemu:///system'


class StepFailed(Exception):
    """A step could not do its job; the message says what to do."""


class RollbackIncomplete(StepFailed):
    """The guest may still hold the admin address: the old master must not
    take it back (the rollback stops there)."""


class Context(object):
    def __init__(self, params, facts, state, commands, log, pause_at=None):
        self.params, self.facts, self.state = params, facts, state
        self.commands, self.log = commands, log
        # The test hook's one value (cli reads RFM_TEST_PAUSE once).
        self.pause_at = pause_at
        # The copy's listing made before the services stop, for the final
        # sync's delta; in memory only (a resumed run lists the copy again).
        self.copy_listing = None
        # The source's listing then (manifest_walk.Snapshot): the stopped
        # listing reads again only what changed since.
        self.source_snapshot = None
        # Resolved once at preflight (a name may stop resolving once the
        # master's dnsmasq stops or its address moves).
        self.remote = Remote(commands, facts.destination_address or
                             params.destination, params.ssh_port,
                             params.ssh_user, params.ssh_identity,
                             params.ssh_known_hosts, alias=params.destination)

    def virsh(self, *args, **kwargs):
        # A busy libvirtd can take minutes to define a domain.
        kwargs.setdefault('timeout', 300)
        return self.remote.run(['virsh', '-c', URI] + list(args), **kwargs)

    def checkpoint(self, name):
        """Test hook (the fault tests cut ssh at each point of the
        hand-over): with pause_at == name the run stops here until it
        gets SIGCONT."""
        if name == self.pause_at:
            self.log.info('paused at %s (RFM_TEST_PAUSE)', name)
            os.kill(os.getpid(), signal.SIGSTOP)

    @property
    def image(self):
        return self.facts.image


def destination_paths(params):
    base = os.path.join(params.disk_dir, params.name)
    return {'image': base + '.img', 'docker_image': base + '-docker.img',
            'mount_point': base + '.mnt',
            'xml_path': base + '.xml', 'done_marker': base + '.migration-done'}


def copy_excludes(params, facts=None):
    """The operator's excludes plus this tool's own work folder when it lies
    inside the tree being copied (a stale state file must not reach the
    guest), and with the facts what is mounted there but is not the
    master's own (a container's root: never copied as files)."""
    patterns = list(params.exclude)
    if facts is not None:
        patterns += [p for p in facts.foreign_mounts if p not in patterns]
    root = params.source_root.rstrip('/') + '/'
    work = params.work_dir.rstrip('/') + '/'
    if work.startswith(root):
        patterns.append('/' + work[len(root):].rstrip('/'))
    return patterns

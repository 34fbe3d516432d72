"""The guest as libvirt on the virt node reports it (virsh over ssh):
ours or not, its state, its autostart."""
from __future__ import absolute_import, division, print_function

from master_migration.context import StepFailed

NO_DOMAIN = ('failed to get domain', 'domain not found')
SSH_FAILED = 255


class GuestUnknown(StepFailed):
    """ssh or libvirt failed: the guest's state is not known (it may run)."""


def guest_is_ours(ctx):
    result = ctx.virsh('domuuid', ctx.params.name, ok_codes=None)
    return (result.returncode == 0 and
            result.stdout.strip() == ctx.facts.domain_uuid)


def _unknown(ctx, what, result):
    tail = (result.stderr.strip().splitlines() or ['exit %d'
                                                   % result.returncode])[-1]
    return GuestUnknown('cannot read the %s of guest %s on %s (ssh or libvirt '
                        'failed: %s)' % (what, ctx.params.name,
                                         ctx.params.destination, tail))


def guest_state(ctx):
    """'running', 'shut off', ...; None only when libvirt says there is no
    such domain. An ssh or libvirt failure raises GuestUnknown."""
    result = ctx.virsh('domstate', ctx.params.name, ok_codes=None)
    if result.returncode == 0:
        return result.stdout.strip()
    if result.returncode != SSH_FAILED and any(
            m in result.stderr.lower() for m in NO_DOMAIN):
        return None
    raise _unknown(ctx, 'state', result)


def guest_autostart(ctx):
    """True/False from libvirt's dominfo; GuestUnknown when it cannot say."""
    result = ctx.virsh('dominfo', ctx.params.name, ok_codes=None)
    if result.returncode == 0:
        for line in result.stdout.splitlines():
            if line.lower().startswith('autostart:'):
                return line.split(':', 1)[1].strip() != 'disable'
    raise _unknown(ctx, 'autostart setting', result)

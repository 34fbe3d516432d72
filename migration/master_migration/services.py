"""Which master services to stop, in which order, and how to start them
again (Fuel 9 masters run systemd units, Fuel 8 masters docker
containers); the step that stops them, its undo and its dry-run lines."""
from __future__ import absolute_import, division, print_function

import time

from rf_common.text import to_text

from master_migration.commands import CommandError

# Stop order: the API and workers first, then what they talk to, the
# databases and the log daemon last (nothing writes after the final sync).
FUEL9_UNITS = [
    'nailgun', 'astute', 'oswl_flavor_collectord', 'oswl_image_collectord',
    'oswl_keystone_user_collectord', 'oswl_tenant_collectord',
    'oswl_vm_collectord', 'oswl_volume_collectord', 'statsenderd',
    'receiverd', 'assassind', 'ostf', 'nginx', 'openstack-keystone', 'httpd',
    'cobblerd', 'xinetd', 'dnsmasq', 'mcollective', 'rsyncd', 'crond',
    'rabbitmq-server', 'postgresql', 'rsyslog']
FUEL8_CONTAINERS = [
    'nailgun', 'ostf', 'keystone', 'nginx', 'astute', 'mcollective',
    'cobbler', 'rsync', 'rabbitmq', 'postgres', 'rsyslog']
DOCKER_UNITS = ['docker.socket', 'docker.service']


class ServiceError(Exception):
    pass


def has_tool(commands, tool):
    result = commands.run(['sh', '-c', 'command -v "$1"', 'sh', tool],
                          ok_codes=None)
    return result.returncode == 0


def resolve_kind(params, commands):
    """auto -> systemd or docker, from what the master has."""
    if params.services != 'auto':
        return params.services
    # dockerctl is Fuel 8's own tool; a Fuel 9 master may have docker too.
    if has_tool(commands, 'dockerctl'):
        return 'docker'
    if has_tool(commands, 'systemctl'):
        return 'systemd'
    raise ServiceError('services: cannot tell how this master runs its '
                       'services (no systemctl or dockerctl); set '
                       'services: commands with stop_commands/start_commands')


def active_units(commands, units):
    active = []
    for unit in units:
        result = commands.run(['systemctl', 'is-active', unit], ok_codes=None)
        if result.stdout.strip() == 'active':
            active.append(unit)
    return active


def running_containers(commands, short_names):
    """Map Fuel's short names to running container names (fuel-core-8.0-
    nailgun and the like), in stop order."""
    result = commands.run(['docker', 'ps', '--format', '{{.Names}}'])
    names = result.stdout.split()
    found = []
    for short in short_names:
        for name in names:
            if name == short or name.endswith('-' + short):
                found.append(name)
    return found


def plan_services(kind, params, commands):
    """Return (stop commands, start commands) for what runs now; start
    undoes stop in reverse order and only for what was running."""
    if kind == 'commands':
        return params.stop_commands, params.start_commands
    if kind == 'systemd':
        units = active_units(commands, params.systemd_units or FUEL9_UNITS)
        return ([['systemctl', 'stop', u] for u in units],
                [['systemctl', 'start', u] for u in reversed(units)])
    names = running_containers(commands,
                               params.docker_containers or FUEL8_CONTAINERS)
    tool = 'dockerctl' if has_tool(commands, 'dockerctl') else 'docker'
    stop = [[tool, 'stop', n] for n in names]
    start = [[tool, 'start', n] for n in reversed(names)]
    # Then docker itself: it writes its metadata (/var/lib/docker) and the
    # thin pool until it stops, and both are copied while stopped. Its
    # socket first, where there is one: a client call would start it again.
    if has_tool(commands, 'systemctl'):
        units = active_units(commands, DOCKER_UNITS)
        stop += [['systemctl', 'stop', u] for u in units]
        start[:0] = [['systemctl', 'start', u] for u in reversed(units)]
    return stop, start


def stop_services(ctx):
    svc = ctx.state.services
    if not svc:
        stop, start = plan_services(ctx.facts.services_kind, ctx.params,
                                    ctx.commands)
        svc = ctx.state.services = {'stop': stop, 'start': start}
    if not svc['stop']:
        ctx.log.warning('no running service found to stop: the final sync '
                        'runs with whatever still writes (see services / '
                        'systemd_units / docker_containers)')
    ctx.state.services_stopped = True
    if not ctx.state.downtime_started:
        ctx.state.downtime_started = time.time()
    for argv in svc['stop']:
        ctx.log.info('stopping: %s', ' '.join(argv))
        ctx.commands.run(argv, timeout=300)
    ctx.log.info('services stopped: downtime starts')


def lines_stop_services(ctx, out):
    if out.services_plan is None:
        out.note('decided at run time: the %s services running then'
                 % ctx.facts.services_kind)
        return
    out.note('decided at run time: those of these still running then')
    for argv in out.services_plan[0]:
        out.here(argv)


def undo_services(ctx):
    if not ctx.state.services_stopped:
        return []
    failed = []
    for argv in (ctx.state.services or {}).get('start', []):
        ctx.log.info('rollback: starting %s', ' '.join(argv))
        try:
            ctx.commands.run(argv, timeout=300)
        except CommandError as exc:
            ctx.log.error('rollback: %s', to_text(exc))
            failed.append(' '.join(argv))
    ctx.state.services_stopped = False
    return failed

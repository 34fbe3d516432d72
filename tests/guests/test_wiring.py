"""Fuel wiring of the guest tasks: order, anchors, timeouts, the core tasks
the role's group brings, and the custom graph matching the deployment tasks.
(What the real nailgun makes of them: tests/nailgun. vermin and yamllint
over the whole tree: tests/package/test_lint.py.)"""
import sys

import yaml

from guestlib import REPO, plugin_tasks

sys.path.insert(0, str(REPO / 'tools'))
import plugin_tree  # noqa: E402

ORDER = ['reduced-footprint-guest-tools', 'reduced-footprint-check-guests',
         'reduced-footprint-hypervisor', 'reduced-footprint-guests']


def commands(tasks):
    return [plugin_tree.task_command(REPO, t) for t in tasks]


def test_guest_tasks_are_puppet_tasks_of_the_group_between_netconfig_and_deploy_end():
    tasks = plugin_tasks()
    assert [t['id'] for t in tasks] == ORDER
    assert 'netconfig' in tasks[0]['requires']
    for task in tasks:
        # Fuel 8.0's granular deployment serializes only puppet tasks in a
        # role's group.
        assert task['groups'] == ['virt'] and task['type'] == 'puppet'
        assert 'deploy_end' in task['required_for']
        assert task['parameters']['timeout'] > 0


def test_each_step_stops_before_its_task_times_out():
    """The exec's own timeout is shorter than the task's, so a slow step
    fails with its output instead of being killed by Astute."""
    for task in plugin_tasks():
        manifest = (REPO / 'deployment_scripts' /
                    task['parameters']['puppet_manifest']).read_text()
        exec_timeout = int(manifest.split('timeout')[1].split('=>')[1].split(',')[0])
        assert 0 < exec_timeout < task['parameters']['timeout'], task['id']


def test_the_group_brings_netconfig_and_what_it_needs():
    tasks = yaml.safe_load((REPO / 'deployment_tasks.yaml').read_text())
    group = [t for t in tasks if t['type'] == 'group'][0]
    assert group['id'] == 'virt' and group['role'] == ['virt']
    for needed in ('hiera', 'globals', 'tools', 'netconfig'):
        assert needed in group['tasks']


def test_check_runs_before_anything_is_installed_for_the_hypervisor():
    cmds = commands(plugin_tasks())
    assert cmds.index('/bin/sh virt-guests check') < cmds.index('/bin/bash install-hypervisor.sh')


def test_spawn_guests_graph_holds_the_same_steps_self_contained():
    graph = yaml.safe_load((REPO / 'graphs' / 'spawn-guests.yaml').read_text())
    ids = [t['id'] for t in graph]
    assert ids == ORDER
    by_id = dict((t['id'], t) for t in plugin_tasks())
    for task in graph:
        assert set(task.get('requires', [])) <= set(ids)
        ours = by_id[task['id']]
        assert (plugin_tree.script_of(task['parameters']['cmd']) ==
                plugin_tree.script_of(plugin_tree.task_command(REPO, ours)))
        assert task['parameters']['timeout'] == ours['parameters']['timeout']
        assert task['parameters']['cwd'] == '/etc/fuel/plugins/reduced-footprint-1.0/'

"""Fuel wiring of the guest tasks: order, anchors, timeouts, and the custom
graph matching the deployment tasks. (vermin and yamllint over the whole
tree: tests/package/test_lint.py.)"""
import yaml

from guestlib import REPO, plugin_tasks


def test_guest_tasks_run_in_order_between_netconfig_and_deploy_end():
    tasks = plugin_tasks()
    assert [t['id'] for t in tasks] == [
        'reduced-footprint-guest-tools', 'reduced-footprint-check-guests',
        'reduced-footprint-hypervisor', 'reduced-footprint-guests']
    assert 'netconfig' in tasks[0]['requires']
    for task in tasks:
        assert task['role'] == ['virt'] and task['type'] == 'shell'
        assert 'deploy_end' in task['required_for']
        assert task['parameters']['timeout'] > 0


def test_check_runs_before_anything_is_installed_for_the_hypervisor():
    cmds = [t['parameters']['cmd'] for t in plugin_tasks()]
    assert cmds.index('sh virt-guests check') < cmds.index('bash install-hypervisor.sh')


def test_spawn_guests_graph_holds_the_same_tasks_self_contained():
    graph = yaml.safe_load((REPO / 'graphs' / 'spawn-guests.yaml').read_text())
    ids = [t['id'] for t in graph]
    assert ids == [t['id'] for t in plugin_tasks()]
    by_id = dict((t['id'], t) for t in plugin_tasks())
    for task in graph:
        assert set(task.get('requires', [])) <= set(ids)
        assert task['parameters']['cmd'] == by_id[task['id']]['parameters']['cmd']
        assert task['parameters']['timeout'] == by_id[task['id']]['parameters']['timeout']
        assert task['parameters']['cwd'] == '/etc/fuel/plugins/reduced-footprint-1.0/'

"""The tree passes fpb's check and our graph check; broken copies do not."""
import sys

import pytest
import yaml

from pkglib import REPO, run_tool

sys.path.insert(0, str(REPO / 'tools'))
import plugin_tree  # noqa: E402


def load(path):
    return yaml.safe_load(path.read_text())


def dump(path, data):
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_tree_is_valid():
    result = run_tool('check_plugin.py', REPO)
    assert result.returncode == 0, result.stdout
    assert 'plugin is valid' in result.stdout


def test_every_task_anchor_is_known():
    core = plugin_tree.core_tasks()
    for path in plugin_tree.task_files(REPO):
        tasks = plugin_tree.graph_tasks(path)
        ids = {t['id'] for t in tasks}
        for task in tasks:
            for dep in (task.get('requires') or []) + (task.get('required_for') or []):
                assert dep in ids or dep in core, (path.name, task['id'], dep)


def test_cycle_finder():
    tasks = [{'id': 'a', 'requires': ['c']}, {'id': 'b', 'requires': ['a']},
             {'id': 'c', 'requires': ['b']}, {'id': 'd', 'requires': ['a']}]
    cycle = plugin_tree.find_cycle(tasks)
    assert cycle[0] == cycle[-1] and set(cycle) == {'a', 'b', 'c'}
    assert plugin_tree.find_cycle(tasks[:2] + tasks[3:]) is None


def test_script_of_cmd():
    assert plugin_tree.script_of('sh virt-guests apply') == 'virt-guests'
    assert plugin_tree.script_of('python3 virt-guests apply') == 'virt-guests'
    assert plugin_tree.script_of('bash -e install.sh') == 'install.sh'
    assert plugin_tree.script_of('./run.sh --x') == './run.sh'


def break_metadata(tree):
    meta = load(tree / 'metadata.yaml')
    del meta['licenses']
    dump(tree / 'metadata.yaml', meta)


def break_task_type(tree):
    tasks = load(tree / 'deployment_tasks.yaml')
    tasks[1]['type'] = 'ansible'
    dump(tree / 'deployment_tasks.yaml', tasks)


def break_role_name(tree):
    roles = load(tree / 'node_roles.yaml')
    roles['Virt Node!'] = roles.pop('virt')
    dump(tree / 'node_roles.yaml', roles)


def break_script(tree):
    tasks = load(tree / 'deployment_tasks.yaml')
    manifest = tree / 'deployment_scripts' / tasks[-1]['parameters']['puppet_manifest']
    manifest.write_text(manifest.read_text().replace('virt-guests apply', 'no-such-script apply'))


def break_anchor(tree):
    tasks = load(tree / 'deployment_tasks.yaml')
    tasks[-1]['requires'] = ['netconfg']
    dump(tree / 'deployment_tasks.yaml', tasks)


def break_cycle(tree):
    tasks = load(tree / 'deployment_tasks.yaml')
    tasks[1]['requires'] = ['reduced-footprint-guests']
    dump(tree / 'deployment_tasks.yaml', tasks)


def break_volume_role(tree):
    volumes = load(tree / 'volumes.yaml')
    volumes['volumes_roles_mapping']['virtual'] = [{'allocate_size': 'min', 'id': 'os'}]
    dump(tree / 'volumes.yaml', volumes)


def break_task_role(tree):
    tasks = load(tree / 'deployment_tasks.yaml')
    tasks[2]['role'] = ['virtual']
    dump(tree / 'deployment_tasks.yaml', tasks)


@pytest.mark.parametrize('breakage, named', [
    (break_metadata, 'licenses'),
    (break_task_type, 'ansible'),
    (break_role_name, 'Virt Node!'),
    (break_script, 'no-such-script'),
    (break_anchor, "'netconfg'"),
    (break_cycle, 'cycle'),
    (break_volume_role, "'virtual'"),
    (break_task_role, "'virtual'"),
])
def test_broken_copy_is_refused(tree_copy, breakage, named):
    assert run_tool('check_plugin.py', tree_copy).returncode == 0
    breakage(tree_copy)
    result = run_tool('check_plugin.py', tree_copy)
    assert result.returncode == 1, result.stdout
    assert named in result.stdout, result.stdout

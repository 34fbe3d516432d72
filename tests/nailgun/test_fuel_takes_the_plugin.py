"""The real nailgun of Fuel 8.0 and 9.0 takes the plugin in: the package
installs with `fuel plugins --install`, its Settings section works, its role
is assigned, vms_conf is stored, and a deployment sends Astute the tasks a
virt node needs, in order (the recorded message)."""
import pytest
import yaml

from nailgun_suite import dump, run_check
from nailgun_lab import REPO
from lab_env import OURS, PLUGIN, chosen, ids, node_tasks, task_ids

pytestmark = pytest.mark.slow
NETCONFIG_NEEDS = ('hiera', 'globals', 'tools', 'netconfig')


def config():
    return yaml.safe_load((REPO / 'environment_config.yaml').read_text())['attributes']


def test_fuel_plugins_install_registers_the_package(nailgun):
    assert nailgun.install.returncode == 0, nailgun.install.stdout + nailgun.install.stderr
    assert 'successfully installed' in nailgun.install.stdout
    listed = nailgun.fuel('plugins', '--list')
    assert PLUGIN in listed.stdout and '1.0.0' in listed.stdout, listed.stdout
    metadata = yaml.safe_load((REPO / 'metadata.yaml').read_text())
    stored = [p for p in nailgun.get('/api/plugins/') if p['name'] == PLUGIN][0]
    for field in ('title', 'version', 'description', 'fuel_version', 'authors',
                  'licenses', 'homepage', 'package_version', 'is_hotpluggable'):
        assert stored[field] == metadata[field], field


def test_settings_section_has_every_attribute_and_enables(nailgun, env):
    section = env.section()
    assert section['metadata']['enabled'] is True
    # The section's title in the Settings tab is the plugin's title:
    # nailgun puts it over environment_config.yaml's own label.
    metadata = yaml.safe_load((REPO / 'metadata.yaml').read_text())
    assert section['metadata']['label'] == metadata['title']
    settings = chosen(section)
    for name, attr in config().items():
        if name != 'metadata':
            assert settings[name]['value'] == attr['value'], name


# A valid value other than the default, per setting (select and checkbox
# settings get theirs from the file itself).
NEW_VALUES = {
    'guest_default_cpu': '4', 'guest_default_mem_gib': '8',
    'guest_default_disk_size': '100G', 'guest_disk_dir': '/srv/guests',
    'guest_bridges': 'br-fw-admin,br-ex', 'guest_ovs_bridges': 'br-prv',
    'guest_vnc_listen': '127.0.0.2', 'host_reserved_mem_gib': '4',
    'guest_domain_template': '/etc/rf/guest.xml',
}


def new_value(name, attr):
    if attr['type'] == 'checkbox':
        return not attr['value']
    if attr['type'] == 'select':
        return [v['data'] for v in attr['values'] if v['data'] != attr['value']][0]
    return NEW_VALUES[name]


def test_every_setting_changes_through_nailgun_and_reaches_astute_yaml(nailgun, env):
    wanted = dict((n, new_value(n, a)) for n, a in config().items() if n != 'metadata')
    env.set_plugin(enabled=True, **wanted)
    settings = chosen(env.section())
    for name, value in wanted.items():
        assert settings[name]['value'] == value, name
    node = env.add_node(['rf-virt'])
    for astute in env.astute_yaml(node):
        for name, value in wanted.items():
            assert astute[PLUGIN][name] == value, name


BAD_VALUES = [
    ('guest_default_cpu', '0'), ('guest_default_mem_gib', 'lots'),
    ('guest_disk_dir', 'relative/dir'), ('guest_bridges', '-bad bridge'),
    ('guest_vnc_listen', '0.0.0.256'), ('guest_default_disk_size', '10Q'),
    ('guest_ovs_bridges', 'br prv'), ('host_reserved_mem_gib', '-1'),
    ('guest_domain_template', 'guest.xml'),
]


def test_every_regex_setting_has_a_bad_value_listed():
    regex = sorted(n for n, a in config().items() if 'regex' in a)
    assert regex == sorted(name for name, _ in BAD_VALUES)


@pytest.mark.parametrize('name, bad', BAD_VALUES)
def test_a_value_its_regex_refuses_is_stored_by_nailgun_and_refused_by_check(
        nailgun, env, name, bad, tmp_path):
    """nailgun checks a plugin setting's regex only in the UI: the API stores
    the value (8.0 and 9.0 alike), and it reaches astute.yaml. So the guest
    tasks' check is what stops it, by name, before the host is changed."""
    env.set_plugin(enabled=True, **{name: bad})
    assert chosen(env.section())[name]['value'] == bad
    node = env.add_node(['rf-virt'])
    env.set_vms_conf(node, [{'id': 1}])
    astute = env.astute_yaml(node)[0]
    assert astute[PLUGIN][name] == bad
    result = run_check(astute, tmp_path)
    assert result.returncode != 0, result.stdout
    assert name in result.stdout and bad in result.stdout, result.stdout


def test_roles_assign_alone_with_compute_and_not_with_controller(nailgun, env):
    env.add_node(['rf-virt'])
    env.add_node(['rf-virt', 'compute'])
    env.add_node(['controller'])
    both = env.add_node([])
    with pytest.raises(nailgun.ApiError) as refused:
        env.assign(both, ['rf-virt', 'controller'])
    assert refused.value.status in (400, 409), refused.value
    assert 'conflict' in refused.value.body.lower() or 'controller' in refused.value.body


def deploy_three(env, *others):
    virt = env.add_node(['rf-virt'])
    virt_compute = env.add_node(['rf-virt', 'compute'])
    controller = env.add_node(['controller'])
    env.set_vms_conf(virt, [{'id': 1, 'cpu': 2, 'mem': 2}])
    nodes = (virt, virt_compute, controller) + others
    env.provisioned(*nodes)
    return virt, virt_compute, controller, env.deploy(*nodes)


def assert_guest_tasks_follow_netconfig(order):
    for task in NETCONFIG_NEEDS + OURS:
        assert order.count(task) == 1, (task, order)
    positions = [order.index(t) for t in NETCONFIG_NEEDS + OURS]
    assert positions == sorted(positions), order


def test_task_based_deploy_runs_netconfig_then_the_guest_tasks_once(nailgun, env):
    if nailgun.release == '8.0':
        env.set_common('task_deploy', True)     # experimental in 8.0
    virt, virt_compute, controller, message = deploy_three(env)
    assert message['method'] == 'task_deploy', message['method']
    alone = ids(node_tasks(message, virt))
    assert_guest_tasks_follow_netconfig(alone)
    mixed = ids(node_tasks(message, virt_compute))
    assert_guest_tasks_follow_netconfig(mixed)
    assert 'top-role-compute' in mixed and len(mixed) == len(set(mixed))
    assert not set(OURS) & task_ids(message, controller)


def test_granular_deploy_of_8_0_runs_the_guest_tasks_on_virt_nodes(nailgun, env):
    """8.0's default engine serializes each role of a node on its own, with
    its group's tasks: the rf-virt entry runs netconfig and what it needs,
    then the guest tasks. A node with a second role runs those core tasks
    once per role, ours as any two core roles (compute + ceph-osd here)."""
    if nailgun.release != '8.0':
        pytest.skip('9.0 deploys only with the task-based engine')
    two_core = env.add_node(['compute', 'ceph-osd'])
    virt, virt_compute, controller, message = deploy_three(env, two_core)
    assert message['method'] == 'granular_deploy'
    [alone] = node_tasks(message, virt)
    assert_guest_tasks_follow_netconfig(ids(alone))
    for task in alone:
        assert task['type'] == 'puppet', task
    roles = entries_by_role(message, virt_compute)
    assert set(roles) == {'rf-virt', 'compute'}
    assert_guest_tasks_follow_netconfig(roles['rf-virt'])
    assert not set(OURS) & set(roles['compute'])
    assert not set(OURS) & task_ids(message, controller)
    core = entries_by_role(message, two_core)
    assert [core[r].count('netconfig') for r in ('compute', 'ceph-osd')] == [1, 1]


def entries_by_role(message, node_id):
    entries = [n for n in message['args']['deployment_info'] if n['uid'] == str(node_id)]
    return dict((e['role'], ids(t)) for e, t in zip(entries, node_tasks(message, node_id)))


def test_guest_tasks_run_from_the_plugin_folder(nailgun, env):
    virt, _, _, message = deploy_three(env)
    tasks = node_tasks(message, virt)
    tasks = tasks if message['method'] == 'task_deploy' else tasks[0]
    ours = [t for t in tasks if t['id'] in OURS]
    for task in ours:
        params = task['parameters']
        assert params['cwd'] == '/etc/fuel/plugins/reduced-footprint-1.0/'
        assert (REPO / 'deployment_scripts' / params['puppet_manifest']).is_file()
        assert params['timeout'] > 0


def test_vms_conf_is_in_the_virt_nodes_astute_yaml(nailgun, env):
    node = env.add_node(['rf-virt'])
    guests = [{'id': 1, 'cpu': 2, 'mem': 4, 'vda_size': '100G'},
              {'id': 2, 'cpu': 1, 'mem': 2}]
    assert env.set_vms_conf(node, guests)['vms_conf'] == guests
    for astute in env.astute_yaml(node):
        assert astute['vms_conf'] == guests, dump(astute.get('vms_conf'))
        assert astute['uid'] == str(node)


def test_custom_graph_runs_exactly_the_guest_tasks_in_order(nailgun, env, tmp_path):
    if nailgun.release == '8.0':
        pytest.skip('custom graphs came with Fuel 9.0')
    virt = env.add_node(['rf-virt'])
    env.provisioned(virt)
    graph = tmp_path / 'spawn-guests.yaml'
    graph.write_text((REPO / 'graphs' / 'spawn-guests.yaml').read_text()
                     .replace('role: [virt]', 'role: [rf-virt]'))
    upload = nailgun.fuel('graph', 'upload', '--env', str(env.id), '--type',
                          'spawn-guests', '--file', str(graph), fuel2=True)
    assert upload.returncode == 0, upload.stdout + upload.stderr
    before = len(nailgun.messages())
    run = nailgun.fuel('graph', 'execute', '--env', str(env.id), '--type',
                       'spawn-guests', '--nodes', str(virt), fuel2=True)
    assert run.returncode == 0, run.stdout + run.stderr
    [sent] = nailgun.messages()[before:]
    assert ids(node_tasks(sent['message'], virt)) == list(OURS)

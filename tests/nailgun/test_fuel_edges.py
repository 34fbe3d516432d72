"""What the real nailgun does at the plugin's edges: the `virt` flavour on a
stock release, bad vms_conf sent through the API, the role's restriction in
nailgun's own expression code, a virt node without guests."""
import json

import pytest
import yaml

from nailgun_suite import run_check, start_nailgun
from lab_env import OURS, Environment, task_ids
from nailgun_lab import REPO

pytestmark = pytest.mark.slow


@pytest.mark.parametrize('vms_conf, named', [
    ([{'cpu': 2, 'mem': 2}], 'id'),
    ([{'id': 0}], 'id'),
    ([{'id': 1, 'mem': 'lots'}], 'lots'),
    ([{'id': 1}, {'id': 1}], 'id'),
    ([{'id': 1, 'vda_size': '10Q'}], '10Q'),
    ([{'id': 1, 'cpu': -2}], '-2'),
])
def test_bad_vms_conf_through_the_api_is_refused_by_nailgun_or_by_check(
        nailgun, env, tmp_path, vms_conf, named):
    node = env.add_node(['rf-virt'])
    try:
        stored = env.set_vms_conf(node, vms_conf)['vms_conf']
    except nailgun.ApiError as refused:
        assert refused.status == 400, refused
        return
    assert stored == vms_conf          # what nailgun stores reaches the node
    [astute] = env.astute_yaml(node)[:1]
    assert astute['vms_conf'] == vms_conf
    result = run_check(astute, tmp_path)
    assert result.returncode != 0, result.stdout
    assert 'vms_conf' in result.stdout and named in result.stdout, result.stdout
    assert 'Traceback' not in result.stdout


def test_a_virt_node_without_guests_checks_clean(nailgun, env, tmp_path):
    node = env.add_node(['rf-virt'])
    [astute] = env.astute_yaml(node)[:1]
    assert astute['vms_conf'] == []
    result = run_check(astute, tmp_path)
    assert result.returncode == 0, result.stdout


def test_the_roles_restriction_parses_in_nailguns_expression_code(nailgun):
    roles = yaml.safe_load((REPO / 'node_roles.yaml').read_text())
    conditions = [r['condition'] for role in roles.values()
                  for r in role.get('restrictions', [])]
    assert conditions
    code = '''
import json, sys
from nailgun.expression import Expression
out = {}
for enabled in (True, False):
    models = {'settings': {'reduced-footprint': {'metadata': {'enabled': enabled}}}}
    out[str(enabled)] = [Expression(c, models, strict=True).evaluate()
                         for c in json.loads(sys.argv[1])]
print(json.dumps(out))
'''
    hidden = json.loads(nailgun.python(code, json.dumps(conditions)))
    # The role is shown only where the plugin is enabled.
    assert hidden == {'True': [False] * len(conditions), 'False': [True] * len(conditions)}


@pytest.fixture(scope='module', params=['8.0', '9.0'])
def stock_nailgun_with_virt_flavour(request, tmp_path_factory, postgres, plugin_rpm):
    server = start_nailgun(request.param, tmp_path_factory, postgres, name='virt-flavour')
    server.install = server.fuel('plugins', '--install', plugin_rpm)
    yield server
    server.stop()


def test_the_virt_flavour_installs_on_a_stock_release_but_its_role_is_refused(
        stock_nailgun_with_virt_flavour):
    """A stock release has a core role `virt`: nailgun registers and
    enables a package whose role is `virt` too, and refuses it only when the
    role is assigned (the README says to build ROLE=rf-virt for them)."""
    nailgun = stock_nailgun_with_virt_flavour
    assert nailgun.install.returncode == 0, nailgun.install.stdout + nailgun.install.stderr
    env = Environment.create(nailgun, 'virt-flavour')
    env.set_plugin(enabled=True)
    node = env.add_node([])
    with pytest.raises(nailgun.ApiError) as refused:
        env.assign(node, ['virt'])
    assert refused.value.status == 409, refused.value
    assert 'unable to register the following node roles: virt' in refused.value.body
    # The roles list, which the UI's Nodes tab reads, then fails in nailgun.
    with pytest.raises(nailgun.ApiError) as broken:
        nailgun.get('/api/clusters/{0}/roles/'.format(env.id))
    assert broken.value.status == 500


@pytest.fixture(scope='module', params=['8.0', '9.0'])
def nailgun_for_disabling(request, tmp_path_factory, postgres, rf_virt_rpm):
    """Its own server: nailgun 8.0 logs its own error in this case."""
    server = start_nailgun(request.param, tmp_path_factory, postgres, name='disabling')
    assert server.fuel('plugins', '--install', rf_virt_rpm).returncode == 0
    yield server
    server.stop()


def test_disabling_the_plugin_while_a_node_has_its_role(nailgun_for_disabling):
    """nailgun lets the plugin be disabled while a node keeps its role
    (docs/guests.md says to remove the role first). 9.0 then deploys the
    node without any guest task; 8.0 fails the deployment with its own
    error. Neither runs a guest task of a disabled plugin."""
    nailgun = nailgun_for_disabling
    env = Environment.create(nailgun, 'disabling')
    env.set_plugin(enabled=True)
    node = env.add_node(['rf-virt'])
    env.set_plugin(enabled=False)
    env.provisioned(node)
    before = len(nailgun.messages())
    started = nailgun.fuel('--env', str(env.id), 'node', '--deploy', '--node', str(node))
    assert started.returncode == 0, started.stdout + started.stderr
    [sent] = [m['message'] for m in nailgun.messages()[before:]]
    tasks = nailgun.get('/api/tasks/?cluster_id={0}'.format(env.id))
    deploy = [t for t in tasks if t['name'] == 'deployment'][-1]
    if nailgun.release == '8.0':
        assert sent is None
        assert deploy['status'] == 'error'
        assert 'rf-virt is not in the digraph' in deploy['message'], deploy
    else:
        assert not set(OURS) & task_ids(sent, node)


def test_vms_conf_on_a_node_without_the_role_makes_nothing(nailgun, env):
    """nailgun stores vms_conf on any node and serializes it for every node;
    only nodes with the role run the guest tasks."""
    controller = env.add_node(['controller'])
    env.set_vms_conf(controller, [{'id': 1}])
    assert env.astute_yaml(controller)[0]['vms_conf'] == [{'id': 1}]
    env.provisioned(controller)
    message = env.deploy(controller)
    assert 'netconfig' in task_ids(message, controller)
    assert not set(OURS) & task_ids(message, controller)

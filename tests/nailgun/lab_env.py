"""An environment in the lab's nailgun, driven the way an operator drives
one (the API calls the UI and the client make), and what nailgun makes of
it: the nodes' astute.yaml and the tasks it sends to Astute."""
import json

PLUGIN = 'reduced-footprint'
OURS = ('reduced-footprint-guest-tools', 'reduced-footprint-check-guests',
        'reduced-footprint-hypervisor', 'reduced-footprint-guests')


def sample_nodes(nailgun):
    """Node records as nailgun-agent reports them, from nailgun's own
    sample environment (interfaces, disks, CPUs, memory of real servers)."""
    path = (nailgun.home / 'src' / 'nailgun' / 'nailgun' / 'fixtures' /
            'sample_environment.json')
    records = json.loads(path.read_text())
    return [r['fields'] for r in records if r['model'] == 'nailgun.node']


class Environment(object):

    def __init__(self, nailgun, cluster_id):
        self.nailgun, self.id = nailgun, cluster_id
        self.nodes = {}

    created = [0]

    @classmethod
    def create(cls, nailgun, name):
        cls.created[0] += 1
        cluster = nailgun.post('/api/clusters/', {
            'name': '{0}-{1}'.format(name, cls.created[0]),
            'release_id': nailgun.release_id,
            'net_segment_type': 'vlan'})
        environment = cls(nailgun, cluster['id'])
        environment.use_lab_mirror()
        return environment

    def use_lab_mirror(self):
        """Every package repository of the environment on the lab's loopback
        mirror (the Settings tab's Repositories), so that nothing leaves the
        machine when nailgun reads their Release files."""
        attrs = self.attributes()['editable']
        repos = attrs['repo_setup']['repos']['value']
        for repo in repos:
            repo['uri'] = '{0}/{1}'.format(self.nailgun.mirror.url, repo['name'])
        self.nailgun.put('/api/clusters/{0}/attributes'.format(self.id),
                         {'editable': {'repo_setup': attrs['repo_setup']}})

    # -- Settings tab

    def attributes(self):
        return self.nailgun.get('/api/clusters/{0}/attributes'.format(self.id))

    def section(self):
        return self.attributes()['editable'][PLUGIN]

    def put_section(self, section):
        return self.nailgun.put('/api/clusters/{0}/attributes'.format(self.id),
                                {'editable': {PLUGIN: section}})

    def set_plugin(self, enabled=True, **values):
        section = self.section()
        section['metadata']['enabled'] = enabled
        settings = chosen(section)
        for name, value in values.items():
            settings[name]['value'] = value
        return self.put_section(section)

    def set_common(self, name, value):
        attrs = self.attributes()['editable']
        attrs['common'][name]['value'] = value
        self.nailgun.put('/api/clusters/{0}/attributes'.format(self.id),
                         {'editable': {'common': attrs['common']}})

    # -- Nodes tab

    added = [0]

    def add_node(self, roles):
        """A discovered node (as the agent reports it), given roles: one of
        nailgun's sample servers, with MACs of its own."""
        self.added[0] += 1
        sample = sample_nodes(self.nailgun)[0]
        meta = sample['meta']
        for index, nic in enumerate(meta['interfaces']):
            nic['mac'] = '52:54:00:{0:02x}:{1:02x}:{2:02x}'.format(
                self.added[0] // 256, self.added[0] % 256, index)
        node = self.nailgun.post('/api/nodes/', {
            'mac': meta['interfaces'][0]['mac'], 'meta': meta,
            'ip': '10.20.0.{0}'.format(10 + self.added[0] % 200),
            'status': 'discover'})
        if roles:
            self.assign(node['id'], roles)
        self.nodes[node['id']] = roles
        return node['id']

    def assign(self, node_id, roles):
        return self.nailgun.post(
            '/api/clusters/{0}/assignment/'.format(self.id),
            [{'id': node_id, 'roles': list(roles)}])

    def set_vms_conf(self, node_id, vms_conf):
        return self.nailgun.put('/api/nodes/{0}/vms_conf/'.format(node_id),
                                {'vms_conf': vms_conf})

    def provisioned(self, *node_ids):
        """What Astute's provisioning report sets (there is no Astute)."""
        self.nailgun.put('/api/nodes/', [
            {'id': n, 'status': 'provisioned', 'pending_addition': False}
            for n in node_ids])

    # -- Deploy

    def astute_yaml(self, node_id):
        """The node's astute.yaml(s) as nailgun serializes them: one per
        role on 8.0's granular deployment, one on the task-based engine."""
        every = self.nailgun.get(
            '/api/clusters/{0}/orchestrator/deployment/defaults/?nodes={1}'
            .format(self.id, node_id))
        # 9.0 adds an entry for the master.
        return [doc for doc in every if doc['uid'] == str(node_id)]

    def deploy(self, *node_ids):
        """`fuel --env N node --deploy --node ...`; the message nailgun sent."""
        before = len(self.nailgun.messages())
        result = self.nailgun.fuel('--env', str(self.id), 'node', '--deploy',
                                   '--node', ','.join(map(str, node_ids)))
        assert result.returncode == 0, result.stdout + result.stderr
        sent = self.nailgun.messages()[before:]
        assert len(sent) == 1, sent
        return sent[0]['message']


def chosen(section):
    """The settings of the plugin version chosen in a plugin's section: 8.0
    and 9.0 keep each installed version's attributes apart, under
    metadata.versions, and the one in use is metadata.chosen_id."""
    meta = section['metadata']
    for version in meta['versions']:
        if version['metadata']['plugin_id'] == meta['chosen_id']:
            return version
    raise AssertionError('no version {0} in {1}'.format(
        meta['chosen_id'], [v['metadata'] for v in meta['versions']]))


def task_graph(message, node_id):
    """A node's tasks in a task-based deployment message: 9.0 names the
    per-node graphs tasks_graph, 8.0 (experimental there) deployment_tasks."""
    args = message['args']
    graph = args['tasks_graph'] if 'tasks_graph' in args else args['deployment_tasks']
    return graph[str(node_id)]


def task_ids(message, node_id):
    """The ids of every task a node gets in a deployment message, unordered
    (a controller's graph is not one that a simple topological sort takes)."""
    if message['method'] == 'task_deploy':
        return {t['id'] for t in task_graph(message, node_id) if t['type'] != 'skipped'}
    return {t.get('id') for n in message['args']['deployment_info']
            if n['uid'] == str(node_id) for t in n['tasks']}


def node_tasks(message, node_id):
    """The tasks of one node in a deployment message, in the order Astute
    runs them: by priority (granular) or by their requires (task based)."""
    uid = str(node_id)
    if message['method'] == 'task_deploy':
        return _ordered(task_graph(message, node_id), uid)
    entries = [n for n in message['args']['deployment_info'] if n['uid'] == uid]
    return [[t for t in sorted(e['tasks'], key=lambda t: t['priority'])]
            for e in entries]


def _ordered(tasks, uid):
    """Topological order of one node's tasks (skipped ones left out)."""
    live = [t for t in tasks if t['type'] != 'skipped']
    ids = {t['id'] for t in live}
    needs = {t['id']: {r['name'] for r in t.get('requires', ())
                       if r['node_id'] == uid and r['name'] in ids}
             for t in live}
    for task in live:
        for later in task.get('required_for', ()):
            if later['node_id'] == uid and later['name'] in ids:
                needs[later['name']].add(task['id'])
    order, done = [], set()
    while len(order) < len(live):
        ready = sorted(t for t in needs if t not in done and needs[t] <= done)
        assert ready, 'cycle among {0}'.format(sorted(set(needs) - done))
        done.update(ready)
        order += [t for t in live if t['id'] in ready]
    return order


def ids(tasks):
    return [t.get('id') for t in tasks]

"""Reading and checking the plugin tree beyond what fpb checks.

fpb validates each file against its schema; it does not look at how the
files fit together: task anchors, cycles, the scripts the tasks call, the
role named in every file. Those checks live here, as pure functions over the
loaded files, so the tests can run them on broken copies of the tree.
"""
import pathlib
import re
import shlex

import yaml

HERE = pathlib.Path(__file__).resolve().parent
ROLE_NAME = re.compile(r'^[a-z0-9][a-z0-9_-]{0,63}$')
# Roles of stock Fuel 8.0/9.0 releases: a plugin role may not take their name
# (the default "virt" is the documented exception, see the README).
CORE_ROLES = {'controller', 'primary-controller', 'compute', 'cinder',
              'cinder-block-device', 'cinder-vmware', 'ceph-osd', 'mongo',
              'primary-mongo', 'base-os', 'ironic', 'compute-vmware', 'virt'}
INTERPRETERS = {'bash', 'sh', 'python', 'python2', 'python2.7', 'python3',
                '/bin/bash', '/bin/sh', '/usr/bin/python3', '/usr/bin/env'}


def load_yaml(path):
    with open(str(path)) as stream:
        return yaml.safe_load(stream)


def core_tasks():
    data = load_yaml(HERE / 'fuel_core_tasks.yaml')
    return set(data['stages']) | set(data['node_tasks'])


def plugin_roles(tree):
    return set(load_yaml(tree / 'node_roles.yaml') or {})


def task_files(tree):
    """deployment_tasks.yaml and every custom graph shipped in graphs/."""
    files = [tree / 'deployment_tasks.yaml']
    files += sorted((tree / 'graphs').glob('*.yaml'))
    return [f for f in files if f.exists()]


def graph_tasks(path):
    data = load_yaml(path) or []
    if isinstance(data, dict):      # a graph file may wrap its tasks
        data = data.get('tasks', [])
    return data


def script_of(cmd):
    """The script a shell task's cmd runs, relative to the plugin dir."""
    words = shlex.split(cmd)
    while words and (words[0] in INTERPRETERS or words[0].startswith('-')):
        words = words[1:]
    return words[0] if words else None


# The command a puppet task's manifest runs (deployment_scripts/puppet/:
# one reduced_footprint::step per manifest).
STEP_COMMAND = re.compile(r"""^\s*command\s*=>\s*'([^']*)'""", re.M)


def task_command(tree, task):
    """The command a task runs on the node: a shell task's cmd, or the
    command of the step its puppet manifest declares (None if none)."""
    params = task.get('parameters') or {}
    if task.get('type') == 'shell':
        return params.get('cmd')
    if task.get('type') == 'puppet':
        manifest = tree / 'deployment_scripts' / params.get('puppet_manifest', '')
        if manifest.is_file():
            found = STEP_COMMAND.findall(manifest.read_text())
            return found[0] if len(found) == 1 else None
    return None


def check_tasks(tree, path, roles, core):
    """Problems in one task file, as readable lines."""
    problems = []
    tasks = graph_tasks(path)
    ids = {t.get('id') for t in tasks}
    name = path.relative_to(tree)
    for task in tasks:
        where = '{0}: task {1!r}'.format(name, task.get('id'))
        problems += _check_anchors(task, where, ids, core)
        problems += _check_roles(task, where, roles)
        if task.get('type') == 'shell':
            problems += _check_script(tree, task, where)
        elif task.get('type') == 'puppet' and path.name == 'deployment_tasks.yaml':
            problems += _check_puppet(tree, task, where)
    cycle = find_cycle(tasks)
    if cycle:
        problems.append('{0}: tasks depend on each other in a cycle: {1}'
                        .format(name, ' -> '.join(cycle)))
    return problems


def _check_anchors(task, where, ids, core):
    problems = []
    for key in ('requires', 'required_for'):
        for dep in task.get(key) or []:
            if dep not in ids and dep not in core:
                problems.append(
                    '{0}: {1} {2!r} is neither a task of the plugin nor a core '
                    'Fuel 8.0/9.0 task (tools/fuel_core_tasks.yaml)'
                    .format(where, key, dep))
    return problems


def _check_roles(task, where, roles):
    problems = []
    for key in ('role', 'groups'):
        for role in task.get(key) or []:
            if role != '*' and not role.startswith('/') and role not in roles:
                problems.append('{0}: {1} {2!r} is not a role of the plugin '
                                '(node_roles.yaml has {3})'
                                .format(where, key, role, sorted(roles)))
    return problems


def _check_script(tree, task, where):
    cmd = (task.get('parameters') or {}).get('cmd', '')
    script = script_of(cmd)
    if not script:
        return ['{0}: shell task has no cmd'.format(where)]
    path = tree / 'deployment_scripts' / script
    if not path.is_file():
        return ['{0}: cmd {1!r} runs {2}, which is missing from '
                'deployment_scripts/'.format(where, cmd, script)]
    return []


def _check_puppet(tree, task, where):
    """A plugin puppet task: its manifest and modules are in
    deployment_scripts/ (nailgun runs them from the plugin's folder on the
    node), and the manifest runs one command whose script is there too."""
    params = task.get('parameters') or {}
    scripts = tree / 'deployment_scripts'
    problems = []
    for key in ('puppet_manifest', 'puppet_modules'):
        value = params.get(key, '')
        if not value or value.startswith('/') or not (scripts / value).exists():
            problems.append('{0}: {1} {2!r} is not a path in '
                            'deployment_scripts/'.format(where, key, value))
    if problems:
        return problems
    command = task_command(tree, task)
    if not command:
        return ['{0}: {1} declares no single reduced_footprint::step command'
                .format(where, params['puppet_manifest'])]
    script = script_of(command)
    if not script or not (scripts / script).is_file():
        return ['{0}: {1} runs {2!r}, whose script is missing from '
                'deployment_scripts/'.format(where, params['puppet_manifest'],
                                             command)]
    return []


def find_cycle(tasks):
    """A list of task ids forming a cycle, or None."""
    edges = {}
    for task in tasks:
        tid = task.get('id')
        for dep in task.get('requires') or []:
            edges.setdefault(dep, set()).add(tid)
        for dep in task.get('required_for') or []:
            edges.setdefault(tid, set()).add(dep)
    state = {}

    def visit(node, path):
        state[node] = 'open'
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 'open':    # back to a node on the stack
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = 'done'
        return None

    for start in sorted(edges):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def check_roles_everywhere(tree, roles):
    """Every file that names the role names one that node_roles.yaml has."""
    problems = []
    for role in sorted(roles):
        if not ROLE_NAME.match(role):
            problems.append('node_roles.yaml: role name {0!r} is not allowed: '
                            'use lower-case letters, digits, "_" and "-"'
                            .format(role))
    mapping = (load_yaml(tree / 'volumes.yaml') or {}).get(
        'volumes_roles_mapping') or {}
    for role in sorted(set(mapping) - roles):
        problems.append('volumes.yaml: volumes_roles_mapping names role {0!r}, '
                        'which node_roles.yaml does not define'.format(role))
    return problems


def check_tree(tree):
    tree = pathlib.Path(tree)
    roles = plugin_roles(tree)
    core = core_tasks()
    problems = check_roles_everywhere(tree, roles)
    for path in task_files(tree):
        problems += check_tasks(tree, path, roles, core)
    return problems


def rename_role(tree, old, new):
    """Rewrite every file of the tree that names role `old` to name `new`."""
    tree = pathlib.Path(tree)
    roles = load_yaml(tree / 'node_roles.yaml')
    roles[new] = roles.pop(old)
    _dump(tree / 'node_roles.yaml', roles)
    volumes = load_yaml(tree / 'volumes.yaml')
    mapping = volumes['volumes_roles_mapping']
    mapping[new] = mapping.pop(old)
    _dump(tree / 'volumes.yaml', volumes)
    for path in task_files(tree):
        _dump(path, _rename_in_tasks(load_yaml(path), old, new))


def _rename_in_tasks(data, old, new):
    tasks = data.get('tasks', []) if isinstance(data, dict) else data
    for task in tasks:
        if task.get('type') == 'group' and task.get('id') == old:
            task['id'] = new
        for key in ('role', 'groups', 'requires', 'required_for'):
            if task.get(key):
                task[key] = [new if r == old else r for r in task[key]]
    return data


def _dump(path, data):
    header = '# Generated by tools/rename_role.py for this build.\n'
    with open(str(path), 'w') as stream:
        stream.write(header)
        yaml.safe_dump(data, stream, default_flow_style=False, sort_keys=False)

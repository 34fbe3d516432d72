"""Plugin tasks run the way Astute runs them on a node, from the plugin's
folder (the task's cwd): a shell task's cmd with bash, a puppet task with
`puppet apply` of its manifest and modules (Debian's puppet here, Fuel's
3.8 on a node; the manifests keep to what both take)."""
import subprocess

# puppet apply --detailed-exitcodes: 0 nothing changed, 2 changes made; 4 and
# 6 mean a resource failed.
PUPPET_OK = (0, 2)


def argv(task):
    params = task['parameters']
    if task['type'] == 'shell':
        return ['bash', '-c', params['cmd']]
    if task['type'] == 'puppet':
        return ['puppet', 'apply', '--detailed-exitcodes', '--color=false',
                '--modulepath=' + params['puppet_modules'],
                params['puppet_manifest']]
    raise ValueError('task {0!r}: Astute type {1!r} is not run by the lab'
                     .format(task['id'], task['type']))


def run(task, cwd, env, timeout=None):
    """A CompletedProcess whose returncode is 0 when the task succeeded."""
    result = subprocess.run(argv(task), cwd=str(cwd), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True,
                            timeout=timeout or task['parameters']['timeout'])
    if task['type'] == 'puppet':
        result.returncode = 0 if result.returncode in PUPPET_OK else 1
    return result

"""Helpers of the guest tests: astute.yaml files, task commands run the way
Astute runs them, and the rfg test domains. Fixtures are in conftest.py."""
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPTS = REPO / 'deployment_scripts'
sys.path.insert(0, str(SCRIPTS))

# Like a Fuel node: the system python3 (with python3-yaml, -jsonschema and
# -libvirt from Debian), not whatever python3 comes first on this PATH.
NODE_PATH = '/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin'
NS = 'https://github.com/openstack/fuel-plugin-reduced-footprint/guest/1.0'
TEST_NODE_UID = '97'


def astute_doc(guests, settings=None, uid=TEST_NODE_UID, bridges=('rfg-adm',)):
    """An astute.yaml mapping as nailgun writes it for a virt node."""
    section = {'metadata': {'enabled': True, 'label': 'Reduced footprint'},
               'guest_bridges': ','.join(bridges), 'host_reserved_mem_gib': '0'}
    section.update(settings or {})
    return {
        'uid': uid, 'fqdn': 'node-%s.test.domain.local' % uid, 'roles': ['virt'],
        'vms_conf': guests, 'reduced-footprint': section,
        'network_scheme': {'transformations': [
            {'action': 'add-br', 'name': name} for name in bridges]},
    }


def write_astute(path, doc):
    path = pathlib.Path(path)
    path.write_text(yaml.safe_dump(doc, default_flow_style=False))
    return path


def task_env(astute_path, log_path):
    env = dict(os.environ, PATH=NODE_PATH, RF_ASTUTE_YAML=str(astute_path),
               RF_VIRT_GUESTS_LOG=str(log_path), LC_ALL='C')
    env.pop('RF_LIBVIRT_URI', None)
    return env


def run_cmd(cmd, cwd, env, timeout=600):
    """A task's cmd as Astute runs it: a shell command in the plugin dir."""
    return subprocess.run(['bash', '-c', cmd], cwd=str(cwd), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout)


def plugin_tasks():
    """The reduced-footprint-* shell tasks of deployment_tasks.yaml, in
    dependency order."""
    tasks = yaml.safe_load((REPO / 'deployment_tasks.yaml').read_text())
    ours = dict((t['id'], t) for t in tasks if t['id'].startswith('reduced-footprint-'))
    ordered, done = [], set()
    while len(ordered) < len(ours):
        for task_id, task in sorted(ours.items()):
            needs = set(task.get('requires', [])) & set(ours)
            if task_id not in done and needs <= done:
                ordered.append(task)
                done.add(task_id)
    return ordered


def ip(*args, check=True):
    return subprocess.run(['ip'] + list(args), check=check,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def our_test_domains(conn):
    """Domains in the rfg id range made by this plugin (never anything else)."""
    found = []
    for domain in conn.listAllDomains(0):
        name = domain.name()
        if not (name.endswith('_vm') and name[:-3].isdigit()
                and 9001 <= int(name[:-3]) <= 9099):
            continue
        root = ET.fromstring(domain.XMLDesc(0))
        if root.find('metadata/{%s}guest' % NS) is not None:
            found.append(domain)
    return found


def remove_test_domains(uri):
    import libvirt
    conn = libvirt.open(uri)
    try:
        for domain in our_test_domains(conn):
            try:
                if domain.isActive():
                    domain.destroy()
                domain.undefine()
            except libvirt.libvirtError:
                pass
    finally:
        conn.close()

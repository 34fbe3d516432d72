"""fpb builds the RPM; the RPM holds what Fuel and operators need."""
import pathlib
import subprocess

import pytest
import yaml

from lab import plugin_rpm
from pkglib import REPO, run_tool

PREFIX = plugin_rpm.PREFIX
RPM_NAME = 'reduced-footprint-1.0-1.0.0-1.noarch.rpm'


def build(out, *args):
    return pathlib.Path(plugin_rpm.build(out, *args))


def rpm_files(rpm):
    """{path: permission string} of every file in the package."""
    out = subprocess.run(
        ['rpm', '-qp', '--queryformat', '[%{FILENAMES} %{FILEMODES:perms}\n]',
         str(rpm)], stdout=subprocess.PIPE, text=True, check=True).stdout
    return dict(line.rsplit(' ', 1) for line in out.splitlines())


def unpack(rpm, dest):
    return pathlib.Path(plugin_rpm.unpack(rpm, dest))


def task_scripts(tasks):
    import sys
    sys.path.insert(0, str(REPO / 'tools'))
    import plugin_tree
    scripts = set()
    for task in tasks:
        if task['type'] == 'puppet':
            scripts.add(task['parameters']['puppet_manifest'])
        command = plugin_tree.task_command(REPO, task)
        if command:
            scripts.add(plugin_tree.script_of(command))
    return scripts


@pytest.fixture(scope='module')
def default_rpm(plugin_rpm):
    return pathlib.Path(plugin_rpm)


@pytest.mark.slow
def test_rpm_name_and_metadata(default_rpm):
    assert default_rpm.name == RPM_NAME
    info = subprocess.run(['rpm', '-qpi', str(default_rpm)],
                          stdout=subprocess.PIPE, text=True).stdout
    assert 'Apache License Version 2.0' in info


@pytest.mark.slow
def test_rpm_holds_plugin_files_with_exec_bits(default_rpm):
    files = rpm_files(default_rpm)
    for name in ('metadata.yaml', 'environment_config.yaml', 'node_roles.yaml',
                 'volumes.yaml', 'deployment_tasks.yaml'):
        assert PREFIX + name in files
    tasks = yaml.safe_load((REPO / 'deployment_tasks.yaml').read_text())
    for script in task_scripts(tasks):
        assert PREFIX + 'deployment_scripts/' + script in files, script
    for rel in ('deployment_scripts/virt-guests', 'bin/rf-migrate-master'):
        assert files[PREFIX + rel].startswith('-rwx'), (rel, files.get(PREFIX + rel))
    guest_code = [f for f in files if '/deployment_scripts/virt_guests/' in f]
    assert any(f.endswith('.py') for f in guest_code)
    assert not [f for f in files if '__pycache__' in f or f.endswith('.pyc')]


@pytest.mark.slow
def test_rpm_leaves_tests_and_developer_tools_out(default_rpm):
    shipped = [f[len(PREFIX):] for f in rpm_files(default_rpm) if f.startswith(PREFIX)]
    assert 'docs/guests.md' in shipped and 'migration/build_zipapp.py' in shipped
    unwanted = [f for f in shipped if f.split('/')[0] in ('tests', 'bench', '.ci')
                or f in ('Makefile', 'tools/setup', 'tools/fpb', 'tools/build_plugin.py')]
    assert not unwanted


@pytest.mark.slow
def test_rpm_links_migration_script_on_install(default_rpm):
    scripts = subprocess.run(['rpm', '-qp', '--scripts', str(default_rpm)],
                             stdout=subprocess.PIPE, text=True).stdout
    assert 'ln -sfn ' + PREFIX + 'bin/rf-migrate-master /usr/bin/rf-migrate-master' in scripts
    assert 'rm -f /usr/bin/rf-migrate-master' in scripts


@pytest.mark.slow
def test_migration_script_from_rpm_runs_alone(default_rpm, tmp_path):
    plugin = unpack(default_rpm, tmp_path / 'root')
    alone = tmp_path / 'alone'
    alone.mkdir()
    (alone / 'rf-migrate-master').write_bytes((plugin / 'bin/rf-migrate-master').read_bytes())
    (alone / 'rf-migrate-master').chmod(0o755)
    result = subprocess.run(['./rf-migrate-master', '--help'], cwd=str(alone),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert result.returncode == 0, result.stdout
    assert 'usage' in result.stdout.lower()


@pytest.mark.slow
def test_renamed_role_build(tmp_path):
    rpm = build(tmp_path / 'dist', '--role', 'rf-virt')
    assert rpm.parent.name == 'rf-virt'
    plugin = unpack(rpm, tmp_path / 'root')
    roles = yaml.safe_load((plugin / 'node_roles.yaml').read_text())
    assert list(roles) == ['rf-virt']
    volumes = yaml.safe_load((plugin / 'volumes.yaml').read_text())
    assert list(volumes['volumes_roles_mapping']) == ['rf-virt']
    graphs = ['graphs/' + p.name for p in (plugin / 'graphs').glob('*.yaml')]
    for name in ['deployment_tasks.yaml'] + graphs:
        text = (plugin / name).read_text()
        data = yaml.safe_load(text)
        tasks = data['tasks'] if isinstance(data, dict) else data
        named = {r for t in tasks for r in (t.get('role') or []) + (t.get('groups') or [])}
        assert named == {'rf-virt'}, (name, named)
    assert run_tool('check_plugin.py', plugin).returncode == 0
    # The work tree keeps the default name.
    assert list(yaml.safe_load((REPO / 'node_roles.yaml').read_text())) == ['virt']


@pytest.mark.parametrize('name, says', [
    ('controller', 'role of stock Fuel releases'),
    ('Virt!', 'not allowed'),
])
def test_bad_role_names_are_refused(tree_copy, name, says):
    result = run_tool('rename_role.py', tree_copy, name)
    assert result.returncode == 1
    assert says in result.stdout and repr(name) in result.stdout
    assert list(yaml.safe_load((tree_copy / 'node_roles.yaml').read_text())) == ['virt']


def test_rename_refuses_git_work_tree():
    result = run_tool('rename_role.py', REPO, 'rf-virt')
    assert result.returncode == 1
    assert 'make build ROLE=rf-virt' in result.stdout


@pytest.mark.slow
def test_rpm_installs_and_removes_cleanly(default_rpm, tmp_path):
    # `fuel plugins --install` is a yum install of this RPM; an rpm install
    # into a scratch root proves the package itself installs and removes.
    root = tmp_path / 'root'
    rpm = ['rpm', '--root', str(root), '--nodeps', '--noscripts']
    subprocess.run(['rpm', '--root', str(root), '--initdb'], check=True)
    subprocess.run(rpm + ['-i', str(default_rpm)], check=True)
    plugin = root / PREFIX.lstrip('/')
    assert (plugin / 'metadata.yaml').is_file()
    assert (plugin / 'deployment_scripts' / 'virt-guests').stat().st_mode & 0o111
    subprocess.run(rpm + ['-e', 'reduced-footprint-1.0'], check=True)
    assert not (plugin / 'metadata.yaml').exists()

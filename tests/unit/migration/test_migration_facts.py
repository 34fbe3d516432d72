"""The typed facts record: named fields with defaults, kept in the state
file as a JSON object; what --resume refuses to load."""
from __future__ import absolute_import, division, print_function

import json
import os

import pytest

from master_migration import cli
from master_migration.facts import Facts, FactsError
from master_migration.state import State
from samples import preflight_facts

PREFLIGHT_FACTS = preflight_facts()


def write_state(work, facts, preflight_done=True):
    path = os.path.join(work, 'state.json')
    steps = {'preflight': {'status': 'done'}} if preflight_done else {}
    with open(path, 'w') as handle:
        json.dump({'version': 1, 'created': 0, 'status': 'running',
                   'steps': steps, 'params': {}, 'facts': facts}, handle)
    return path


def test_a_state_written_by_this_version_loads_with_its_facts_typed(tmp_path):
    path = write_state(str(tmp_path), PREFLIGHT_FACTS)
    state = State.load(path)
    assert state.facts.image == '/var/lib/nova/fuel_master.img'
    assert state.facts.layout['swap_mib'] == 4096
    assert state.facts.replace_existing is False  # not set: the default
    state.facts.loop_device = '/dev/loop7'
    state.save()  # a fact set by a step reaches the file
    assert State.load(path).facts.loop_device == '/dev/loop7'


def test_resume_refuses_a_state_with_an_unknown_fact(tmp_path, capsys):
    work = str(tmp_path)
    path = write_state(work, dict(PREFLIGHT_FACTS, disk_serial='x'))
    code = cli.main(['--resume', '--work-dir', work, '--foreground'])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT
    assert 'unknown fact(s) disk_serial' in err and path in err
    assert 'move it away' in err
    assert not os.path.exists(os.path.join(work, 'migrate.log'))


def test_a_state_of_the_earlier_string_keys_loads_as_typed_fields(tmp_path):
    """The run's own keys as the earlier version wrote them (a dict of
    string keys): the same JSON, read and written by name."""
    path = write_state(str(tmp_path), PREFLIGHT_FACTS)
    with open(path) as handle:
        data = json.load(handle)
    data.update({'image_created': True, 'services_stopped': True,
                 'services': {'stop': [['svc', 'stop']], 'start': []},
                 'downtime_started': 1000.0, 'fixed_paths': ['etc/fstab'],
                 'warm_stats': {'seconds': 1.5}, 'unsettled': [],
                 'final_sent': ['etc/a'], 'final_boot_inputs': [],
                 'boot_loader_fstab': None, 'boot_loader_grub': 'g',
                 'error': None, 'switch_started': None})
    with open(path, 'w') as handle:
        json.dump(data, handle)
    state = State.load(path)
    assert state.services_stopped and state.downtime_started == 1000.0
    assert state.final_sent == ['etc/a'] and state.verify_seconds is None
    state.guest_started = 1040.0  # a field set is written at once
    assert State.load(path).data == dict(data, guest_started=1040.0)


def test_resume_refuses_a_state_with_a_key_this_version_does_not_know(
        tmp_path, capsys):
    work = str(tmp_path)
    path = write_state(work, PREFLIGHT_FACTS)
    with open(path) as handle:
        data = json.load(handle)
    with open(path, 'w') as handle:
        json.dump(dict(data, copy_checked=True), handle)
    code = cli.main(['--resume', '--work-dir', work, '--foreground'])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT
    assert 'unknown run state field(s) copy_checked' in err and path in err
    assert 'move it away' in err


def test_a_run_state_field_misspelt_is_an_error_not_a_new_key(tmp_path):
    state = State(os.path.join(str(tmp_path), 'state.json'))
    with pytest.raises(ValueError) as err:
        state.services_stoped = True
    assert 'unknown run state field services_stoped' in str(err.value)
    assert not os.path.exists(state.path)


def test_resume_refuses_a_state_that_lacks_a_fact_preflight_sets(
        tmp_path, capsys):
    work = str(tmp_path)
    facts = dict(PREFLIGHT_FACTS)
    del facts['root_uuid']
    write_state(work, facts)
    code = cli.main(['--resume', '--work-dir', work, '--foreground'])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT
    assert '"facts" lacks root_uuid, which preflight sets' in err


def test_a_required_fact_read_before_preflight_set_it_says_so():
    facts = Facts({})
    with pytest.raises(FactsError) as err:
        facts.root_uuid
    assert 'fact root_uuid' in str(err.value)
    assert 'preflight finds it' in str(err.value)
    assert facts.mkfs_options == [] and facts.replace_existing is False


def test_setting_an_unknown_fact_is_an_error_not_a_new_key():
    facts = Facts({})
    with pytest.raises(FactsError) as err:
        facts.root_uid = 'r-1'  # a typo
    assert 'unknown fact root_uid' in str(err.value)
    assert facts.data == {}
    with pytest.raises(FactsError):
        facts.update(imgae='/x.img')

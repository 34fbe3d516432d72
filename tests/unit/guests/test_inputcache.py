"""The cache of the last validated astute.yaml: a re-run on the same bytes
gets the same Spec and warnings without validating again; any other bytes,
a corrupt or an untrusted cache file mean a full validation."""
from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys

import pytest
import yaml

from lab.paths import pythonpath
from nodes import SCRIPTS, astute_doc
from virt_guests import inputcache, spec


@pytest.fixture
def cache(tmpdir, monkeypatch):
    path = str(tmpdir.join('cache', 'input.json'))
    monkeypatch.setenv('RF_VIRT_GUESTS_CACHE', path)
    return path


def write_astute(tmpdir, guests, **settings):
    path = str(tmpdir.join('astute.yaml'))
    with open(path, 'w') as stream:
        yaml.safe_dump(astute_doc(guests, settings=settings), stream)
    return path


def plant(cache_path, astute_path, guests):
    """Put another (valid) Spec under the key of astute_path's bytes: what
    load_spec returns shows whether it used the cache."""
    other = spec.build_spec(astute_doc(guests))
    with open(astute_path, 'rb') as stream:
        assert inputcache.store(inputcache.input_key(stream.read()), other)
    return other


def test_a_hit_gives_the_same_spec_and_warnings_as_a_validation(tmpdir, cache):
    from virt_guests import reconcile
    path = write_astute(tmpdir, [{'id': 1, 'mem': 2, u'f\xe4rbe': 'red'}, {'id': 2, 'ram': 1}],
                        guest_ovs_bridges='br-nowhere')
    validated = spec.load_spec(path)
    assert len(validated.warnings) == 3  # the unknown key, "ram" and the OVS bridge
    first = inputcache.load_spec(path)
    assert os.path.exists(cache)
    again = inputcache.load_spec(path)
    assert first == validated and again == validated
    assert again.warnings == validated.warnings
    assert [type(text) for text in again.warnings] == [type(text) for text in validated.warnings]
    assert reconcile.Desired(again).by_name == reconcile.Desired(validated).by_name
    assert type(again.guests) is tuple and type(again.settings.bridges) is tuple
    assert list(again.node.scheme_bridges.items()) == list(validated.node.scheme_bridges.items())


def test_the_cache_answers_for_the_same_bytes(tmpdir, cache):
    path = write_astute(tmpdir, [{'id': 1}])
    planted = plant(cache, path, [{'id': 7}])
    assert inputcache.load_spec(path) == planted
    assert inputcache.load_spec(path, cached=False).guests[0].id == 1  # as check does


def test_one_changed_byte_is_validated_again(tmpdir, cache):
    path = write_astute(tmpdir, [{'id': 1}])
    plant(cache, path, [{'id': 7}])
    with open(path) as stream:
        text = stream.read()
    with open(path, 'w') as stream:
        stream.write(text.replace('id: 1', 'id: 2'))
    assert inputcache.load_spec(path).guests[0].id == 2
    assert inputcache.load_spec(path).guests[0].id == 2  # and cached so


def test_bad_input_is_still_refused_and_not_cached(tmpdir, cache):
    path = write_astute(tmpdir, [{'id': 0}])
    for _ in range(2):
        with pytest.raises(spec.InvalidInput):
            inputcache.load_spec(path)
    assert not os.path.exists(cache)


@pytest.mark.parametrize('damage', [
    b'', b'{"format": 1, "key": ', b'[1, 2]', b'\xff\xfe',
    b'{"format": 1, "key": "%(key)s", "spec": {"node": [1]}}',
    b'{"format": 1, "key": "%(key)s", "spec": {"node": ["1", "", [], []], '
    b'"settings": [1], "guests": [], "warnings": []}}'],
    ids=['empty', 'cut', 'a list', 'not utf-8', 'short node', 'short settings'])
def test_a_corrupt_cache_is_ignored_and_replaced(tmpdir, cache, damage):
    path = write_astute(tmpdir, [{'id': 1}])
    inputcache.load_spec(path)
    with open(cache) as stream:
        key = json.load(stream)['key']
    with open(cache, 'wb') as stream:
        stream.write(damage.replace(b'%(key)s', key.encode('ascii')))
    assert inputcache.load_spec(path) == spec.load_spec(path)
    with open(cache) as stream:
        assert json.load(stream)['key'] == key


def test_a_cache_others_may_write_is_not_trusted(tmpdir, cache):
    path = write_astute(tmpdir, [{'id': 1}])
    plant(cache, path, [{'id': 7}])
    os.chmod(cache, 0o666)
    assert inputcache.load_spec(path).guests[0].id == 1


def test_the_cache_file_is_private(tmpdir, cache):
    inputcache.load_spec(write_astute(tmpdir, [{'id': 1}]))
    assert os.stat(cache).st_mode & 0o777 == 0o600
    assert os.stat(os.path.dirname(cache)).st_mode & 0o777 == 0o700


def test_a_changed_validator_is_another_key(tmpdir):
    key = inputcache.input_key(b'uid: 1\n')
    assert key == inputcache.input_key(b'uid: 1\n')
    assert key != inputcache.input_key(b'uid: 2\n')
    assert key.split('/')[1] == inputcache._code_digest()


def imports_after_load(path, cache_path):
    code = ('import sys; from virt_guests import inputcache; '
            'inputcache.load_spec(sys.argv[1]); '
            'print(" ".join(m for m in ("yaml", "jsonschema") if m in sys.modules))')
    env = dict(os.environ, PYTHONPATH=pythonpath(SCRIPTS), RF_VIRT_GUESTS_CACHE=cache_path)
    out = subprocess.check_output([sys.executable, '-c', code, path], env=env)
    return out.decode('ascii').split()


def test_a_hit_imports_neither_yaml_nor_jsonschema(tmpdir, cache):
    path = write_astute(tmpdir, [{'id': 1}])
    assert imports_after_load(path, cache) == ['yaml', 'jsonschema']
    assert imports_after_load(path, cache) == []


def test_check_always_validates_and_its_result_replaces_the_entry(tmpdir, cache, capsys):
    from virt_guests import cli
    path = write_astute(tmpdir, [{'id': 1}])
    plant(cache, path, [{'id': 7}])
    assert [w.name for w, _ in cli.load_desired(path).wants] == ['7_vm']
    assert cli.main(['check', '--astute', path, '--log-file', '']) == 0
    assert 'guest 1_vm' in capsys.readouterr().out
    assert [w.name for w, _ in cli.load_desired(path).wants] == ['1_vm']


def test_the_key_covers_every_module_validation_imports():
    """A plugin upgrade that changes what is accepted must not be answered
    from a cache entry of the old code (issue 23 moved checks to new modules)."""
    import re
    import rf_common
    folders = {'.': os.path.dirname(inputcache.__file__),
               'rf_common.': os.path.dirname(rf_common.__file__)}
    found, todo = set(), [('.', 'spec.py')]
    while todo:
        package, name = todo.pop()
        found.add((package, name))
        with open(os.path.join(folders[package], name)) as source:
            text = source.read()
        for module in re.findall(r'^\s*from (\.|rf_common\.)(\w*) import (\w+)', text, re.M):
            imported = (module[0], (module[1] or module[2]) + '.py')
            path = os.path.join(folders[imported[0]], imported[1])
            if imported not in found and os.path.exists(path):
                todo.append(imported)
    assert found == (set(('.', name) for name in inputcache.VALIDATING_CODE)
                     | set(('rf_common.', name) for name in inputcache.SHARED_VALIDATING_CODE))

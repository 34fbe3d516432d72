"""The 8.0-like source disk's recipe, without building anything: what
decides its cache key, and that the files it writes describe an 8.0
master's docker storage (docs/testing-docker-storage.md)."""
import copy

from . import dock_config as cfg
from . import dock_image


def test_recipe_key_follows_the_recipe():
    rcp = dock_image.recipe()
    key = dock_image.recipe_key(rcp)
    assert key == dock_image.recipe_key(copy.deepcopy(rcp))
    changed = copy.deepcopy(rcp)
    changed['packages'].append('vim')
    assert dock_image.recipe_key(changed) != key


def test_no_per_run_secret_in_the_recipe():
    files = dock_image.root_files()
    assert not any('/.ssh/' in path for path in files)
    assert '/root/migrate.yaml' not in files


def test_docker_uses_the_pool_as_on_fuel_8():
    files = dock_image.root_files()
    unit = files['/etc/systemd/system/docker.service'][1]
    assert 'EnvironmentFile=/etc/sysconfig/docker-storage' in unit
    assert '$DOCKER_STORAGE_OPTIONS' in unit
    setup = files['/usr/bin/docker-storage-setup'][1]
    assert '--zero n -c "${CHUNK_SIZE:-512K}" --thinpool' in setup
    assert 'dm.thinpooldev=/dev/mapper/docker-docker--pool' in setup
    assert cfg.docker_storage() in setup
    for short in cfg.CONTAINERS:
        assert 'docker start -a fuel-core-8.0-%s' % short in \
            files['/etc/systemd/system/docker-%s.service' % short][1]


def test_python27_gets_yaml_and_jsonschema():
    paths = dock_image.py27_files()
    assert any(p.endswith('/yaml/__init__.py') for p in paths)
    assert any(p.endswith('/jsonschema/__init__.py') for p in paths)

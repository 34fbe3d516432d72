"""Fast checks of the root builder's pure parts: which mirror it takes
and when a cached root counts as stale. No network, no root build."""
import pytest

from . import master_root

SOURCES = """Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_mirror_is_the_one_apt_uses_for_bookworm_main(tmp_path):
    (tmp_path / 'debian.sources').write_text(SOURCES)
    (tmp_path / 'other.sources').write_text(
        'Types: deb\nURIs: http://elsewhere/\nSuites: nodistro\nComponents: main\n')
    assert master_root.configured_mirror(str(tmp_path)) == \
        'http://mirror.example/debian'


def test_no_bookworm_mirror_is_a_clear_error(tmp_path):
    (tmp_path / 'debian.sources').write_text(SOURCES.replace('bookworm', 'trixie'))
    with pytest.raises(RuntimeError, match='no Debian bookworm mirror'):
        master_root.configured_mirror(str(tmp_path))


def test_cache_key_follows_the_recipe(monkeypatch):
    base = master_root.recipe_key(master_root.recipe('http://m/debian'))
    assert base == master_root.recipe_key(master_root.recipe('http://m/debian'))
    assert base != master_root.recipe_key(master_root.recipe('http://n/debian'))
    monkeypatch.setattr(master_root, 'PACKAGES', master_root.PACKAGES + ['vim'])
    assert base != master_root.recipe_key(master_root.recipe('http://m/debian'))


def test_recipe_puts_admin_address_on_the_nic_with_the_admin_mac():
    files = master_root.recipe('http://m/debian')['files']
    network = files['/etc/systemd/network/10-admin.network'][1]
    assert 'MACAddress=52:54:00:99:00:02' in network
    assert 'Address=10.99.0.2/24' in network
    astute = files['/etc/fuel/astute.yaml'][1]
    assert 'mac: 52:54:00:99:00:02' in astute and 'ipaddress: 10.99.0.2' in astute

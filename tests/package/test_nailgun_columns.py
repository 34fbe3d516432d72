"""Every metadata.yaml field that nailgun stores fits its database column,
in nailgun 8.0 and 9.0 (their `plugins` table, read from the upstream
sources in ../shared/upstream/). A field too long makes `fuel plugins
--install` fail with HTTP 500 on the master; the fpb schema does not check
lengths."""
import pathlib
import re
import tarfile

import pytest
import yaml

from lab.paths import REPO

UPSTREAM = pathlib.Path(REPO).parent / 'shared' / 'upstream'
MODEL = 'nailgun/nailgun/db/sqlalchemy/models/plugins.py'
COLUMN = re.compile(r'^    (\w+) = Column\(\s*String\((\d+)\)', re.M)


def plugin_columns(release):
    archive = UPSTREAM / 'fuel-web-{0}-nailgun.tar.gz'.format(release)
    if not archive.is_file():
        pytest.skip('{0} is missing: see tests/nailgun/README.md'.format(archive))
    with tarfile.open(str(archive)) as tar:
        member = [m for m in tar.getmembers() if m.name.endswith(MODEL)][0]
        source = tar.extractfile(member).read().decode()
    model = source[source.index('class Plugin(Base)'):]
    model = model[:model.index('\nclass ')] if '\nclass ' in model else model
    return dict((name, int(size)) for name, size in COLUMN.findall(model))


def too_long(metadata, columns):
    return ['{0}: {1} characters, the column holds {2}'.format(
        field, len(str(metadata[field])), size)
        for field, size in sorted(columns.items())
        if field in metadata and len(str(metadata[field])) > size]


@pytest.mark.parametrize('release', ['8.0', '9.0'])
def test_metadata_fits_nailgun_columns(release):
    columns = plugin_columns(release)
    assert {'name', 'title', 'version', 'description', 'package_version'} <= set(columns)
    metadata = yaml.safe_load((pathlib.Path(REPO) / 'metadata.yaml').read_text())
    assert too_long(metadata, columns) == []


def test_the_410_character_description_of_before_is_caught():
    metadata = yaml.safe_load((pathlib.Path(REPO) / 'metadata.yaml').read_text())
    metadata['description'] = 'x' * 410
    assert too_long(metadata, plugin_columns('8.0')) == [
        'description: 410 characters, the column holds 400']

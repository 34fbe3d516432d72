"""The pure unit tests of the guest package (spec, plan, render, host
checks, helpers): no daemon, no root, no host command. They run under
Python 2.7 (pytest 4.6) and Python 3, so: no f-strings, no pathlib, no
subprocess.run, no keyword-only arguments."""
from __future__ import absolute_import, division, print_function

import sys

from lab.paths import SCRIPTS, put_on_sys_path

put_on_sys_path(SCRIPTS)


import pytest  # noqa: E402


@pytest.fixture(params=['libyaml', 'pure'])
def yaml_loader(request, monkeypatch):
    """The test runs twice: astute.yaml read through libyaml (what a node
    whose PyYAML has the binding uses, Fuel's included) and through PyYAML's
    pure-Python loader; the same words are expected from both."""
    from virt_guests import yamlload
    if request.param == 'libyaml' and yamlload.LOADERS['libyaml'] is None:
        pytest.skip('PyYAML %s of %s has no libyaml binding (yaml.__with_libyaml__ is '
                    'False): `tools/setup test` installs libyaml-dev and builds it'
                    % (yamlload.yaml.__version__, sys.executable))
    monkeypatch.setattr(yamlload, 'loader_name', lambda: request.param)
    return request.param

"""Fuel 9.0: the docker VG is there but docker does not use it. The same
source disk made 9.0-like (no dockerctl, no docker storage configuration,
docker not started); the shipped script's dry run under python2.7 must
plan to leave the VG behind (docker_vg: auto) and change nothing."""
import pytest

from lab import virt

from . import dock_config as cfg
from . import dock_lab

pytestmark = [pytest.mark.slow, pytest.mark.kvm]


@pytest.fixture(scope='module')
def planned(system_libvirt, zipapp, tmp_path_factory):
    work = tmp_path_factory.mktemp('rfe-docker9')
    with dock_lab.running(work, zipapp, 'docker_9_0_dry_run', fuel9=True) as lab:
        rc, out = lab.source('vgs --noheadings -o vg_name; systemctl is-active docker', 60)
        lab.vgs = out.split()
        lab.exit_code, lab.output = lab.migrate('--dry-run')
        lab.defined = virt.exists(cfg.COPY_GUEST)
        yield lab


def test_the_vg_is_there_and_docker_does_not_run(planned):
    assert planned.vgs[:1] == ['docker'], planned.vgs
    assert 'active' not in planned.vgs[1:], planned.vgs


def test_dry_run_plans_to_leave_the_vg_behind(planned):
    assert planned.exit_code == 0, planned.failure_report()
    assert 'docker storage: VG docker is not used by docker' in planned.output, \
        planned.output[-4000:]
    assert 'left behind' in planned.output
    assert 'carried block for block' not in planned.output
    assert not planned.defined

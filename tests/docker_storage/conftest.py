"""Fixtures of the docker storage proof (prefix rfe, subnets 10.94.0.0/24
admin and 10.93.0.0/24 lab control): the shared ones (zipapp,
system_libvirt) come from tests/conftest.py; the lab is dock_lab.running()."""

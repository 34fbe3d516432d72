"""Fixtures of the boot proof (prefix rfb, subnet 10.99.0.0/24): the
shared ones (zipapp, system_libvirt) come from tests/conftest.py; each
scenario's lab is boot_lab.running()."""

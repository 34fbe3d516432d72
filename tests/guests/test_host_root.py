"""fix_kvm changes a device file's group: it needs root (and a kvm group).
The pure host checks are in tests/unit/guests/test_host.py."""
import os
import stat

import guestlib  # noqa: F401  (puts deployment_scripts on sys.path)
from virt_guests import host


def test_fix_kvm_gives_a_device_file_to_group_kvm(tmp_path):
    """On a stand-in file (the real /dev/kvm is shared with other tests)."""
    device = tmp_path / 'kvm'
    device.write_text('')
    os.chmod(str(device), 0o600)
    message = host.fix_kvm(str(device))
    info = os.stat(str(device))
    assert stat.S_IMODE(info.st_mode) == 0o660
    assert host.read_kvm(str(device)).group == 'kvm'
    assert 'now group kvm mode 0660' in message
    assert host.fix_kvm(str(device)) is None

"""Settings that are well formed but wrong on a host: a system folder as
the guests' disk folder, a device name a command would read as an option.
Pure; spec.py reports them with the setting's name."""
from __future__ import absolute_import, division, print_function

import os
import re

# Guest images are never put here: a typo or a hostile setting would mix
# them with (or chmod) the system's own files.
SYSTEM_DIRS = ('/', '/var', '/var/lib', '/var/log', '/home', '/tmp', '/opt', '/srv',
               '/mnt', '/media')
SYSTEM_TREES = ('/etc', '/proc', '/sys', '/dev', '/run', '/boot', '/usr', '/bin',
                '/sbin', '/lib', '/lib32', '/lib64', '/root', '/var/run', '/var/lock')
BAD_BRIDGE = (' would be read as an option or names no device: a name may not '
              'begin with "-" nor be "." or ".."')


def is_system(path):
    """A system folder or one below a system tree ('..' is refused on its
    own, not here)."""
    if '..' in path.split('/'):
        return False
    path = os.path.normpath(re.sub('/+', '/', path))
    return path in SYSTEM_DIRS or any(path == top or path.startswith(top + '/')
                                      for top in SYSTEM_TREES)


def bridge_name_ok(name):
    """The kernel's rules for a device name, and no option for a command."""
    return not name.startswith('-') and name not in ('.', '..')

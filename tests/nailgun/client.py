"""The real python-fuelclient (`fuel`, `fuel2`) pointed at the lab.

Runs under the lab's Python 2.7: `python client.py fuel|fuel2 ARGS...`.
Two things of the client are bent to the lab, nothing else:
- it is "on the master" (it asks `rpm -q fuel`, which this machine has not);
- the master's plugin folder, /var/www/nailgun/plugins in the client's code,
  is the lab's scratch copy ($RF_LAB_PLUGINS), where nailgun looks too.
`fuel plugins --install` then runs `yum -y install FILE`: tests/nailgun/bin/yum
installs the RPM with rpm into the lab's scratch root.
"""
import os
import sys

from fuelclient.objects import plugins


def main(argv):
    root = os.environ['RF_LAB_PLUGINS'].rstrip('/')
    plugins.IS_MASTER = True
    plugins.PLUGINS_PATH = root + '/'
    plugins.METADATA_MASK = root + '/*/metadata.yaml'
    if argv[0] == 'fuel2':
        from fuelclient.main import main as fuel2
        return fuel2(argv[1:])
    from fuelclient.cli.parser import main as fuel
    return fuel(argv)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

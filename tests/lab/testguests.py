"""The guests the guest suites and bench/guests_spawn.py make: ids 9001-9099
(names 9001_vm ...) carrying the plugin's metadata. Only those are ever
listed or removed here, never another domain of this host."""
import shutil
import xml.etree.ElementTree as ET

NS = 'https://github.com/openstack/fuel-plugin-reduced-footprint/guest/1.0'
IDS = range(9001, 9100)


def ours(conn, ids=IDS):
    """libvirt domains in the id range (default: the tests') that the plugin made."""
    found = []
    for domain in conn.listAllDomains(0):
        name = domain.name()
        if not (name.endswith('_vm') and name[:-3].isdigit() and int(name[:-3]) in ids):
            continue
        if ET.fromstring(domain.XMLDesc(0)).find('metadata/{%s}guest' % NS) is not None:
            found.append(domain)
    return found


def remove(conn, disk_dir=None, ids=IDS):
    """Stop and undefine them (a domain gone meanwhile is fine); remove
    disk_dir with their images when given. ids: another suite's range."""
    import libvirt
    for domain in ours(conn, ids):
        try:
            if domain.isActive():
                domain.destroy()
            domain.undefine()
        except libvirt.libvirtError:
            pass
    if disk_dir:
        shutil.rmtree(disk_dir, ignore_errors=True)

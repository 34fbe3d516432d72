"""Both tools, run as the operator runs them, on hostile input under the C
locale and C.UTF-8 (issue 23): the same bytes out under both, a refusal
(exit 2) by name, no traceback, no forged line. Run by the interpreter of
the test run, so Python 2.7 and 3 in turn."""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys
import threading

import pytest

from lab.paths import MIGRATION, SCRIPTS, pythonpath

LOCALES = ('C', 'C.UTF-8')
FORGED = u'virt-guests: verified: a new plan has no changes left'
ASTUTE = {
    'a forged log line': u'uid: "97"\nfqdn: "n\u00e9"\nvms_conf:\n- {id: 1, vda_size: '
                         u'"7\u20acG\\n%s"}\n' % FORGED,
    'a key twice': u'uid: "97"\nvms_conf:\n- {id: 1, mem: 2, mem: 64}\n',
    'a huge number': u'uid: "97"\nvms_conf:\n- {id: 1, vda_size: "%s"}\n' % ('9' * 100000),
}
CONFIG = {
    'a key twice': u'memory: 2G\nmemory: 64G\n',
    'not UTF-8': b'name: \xff\xfe\n',
    'an alias': u'name: &n fuel\nvcpus: *n\n',
}


def run(argv, path, locale):
    env = dict(os.environ, LC_ALL=locale, LANG=locale,
               PYTHONPATH=pythonpath(SCRIPTS, MIGRATION))
    env.pop('PYTHONIOENCODING', None)
    child = subprocess.Popen([sys.executable, '-m'] + argv, env=env, cwd=path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timer = threading.Timer(20, child.kill)  # a blocked run fails, not hangs
    timer.start()
    out, err = child.communicate()
    timer.cancel()
    timer.join()
    assert child.returncode != -9, 'blocked under %s: %s' % (locale, argv)
    return child.returncode, out, err


def under_both_locales(argv, path):
    (status, out, err), again = [run(argv, path, locale) for locale in LOCALES]
    assert (status, out, err) == again  # the same bytes under both locales
    assert status == 2 and b'Traceback' not in out + err, (out + err).decode('utf-8')
    return (out + err).decode('utf-8')


def write(tmpdir, name, text):
    path = tmpdir.join(name)
    path.write_binary(text if isinstance(text, bytes) else text.encode('utf-8'))
    return str(path)


@pytest.mark.parametrize('text', list(ASTUTE.values()), ids=list(ASTUTE))
def test_virt_guests_check_refuses_the_same_way_under_both_locales(tmpdir, text):
    path = write(tmpdir, 'astute.yaml', text)
    said = under_both_locales(['virt_guests', 'check', '--astute', path, '--log-file', ''],
                              str(tmpdir))
    assert ('%s: 1 problem(s), nothing was changed' % path) in said
    assert not any(line.startswith(FORGED) for line in said.splitlines())


def test_virt_guests_refuses_a_fifo_under_both_locales(tmpdir):
    fifo = str(tmpdir.join('astute.yaml'))
    os.mkfifo(fifo)
    said = under_both_locales(['virt_guests', 'check', '--astute', fifo, '--log-file', ''],
                              str(tmpdir))
    assert 'got a FIFO (named pipe), not a regular file' in said


@pytest.mark.parametrize('text', list(CONFIG.values()), ids=list(CONFIG))
def test_rf_migrate_master_refuses_the_same_way_under_both_locales(tmpdir, text):
    path = write(tmpdir, 'migrate.yaml', text)
    said = under_both_locales(['master_migration', '--config', path, 'virt-1', '--dry-run'],
                              str(tmpdir))
    assert said.startswith('rf-migrate-master: cannot go on:\n  - --config %s: ' % path)

"""Serve the real nailgun on loopback, with Astute replaced by a recorder.

Runs under the lab's Python 2.7 (.lab/nailgun-<release>/venv), with
NAILGUN_CONFIG set by tests/nailgun/lab.py:

    python serve.py PORT MESSAGES_FILE

Everything is nailgun's own code but `nailgun.rpc.cast`, the one call that
hands a task to Astute over AMQP: here it appends the message, as JSON, one
line per message, to MESSAGES_FILE. That is what Astute would have received.

The lab talks only to loopback: nailgun fetches the Release file of every
package repository with a priority while it serializes a deployment, so the
lab's environments point their repositories at its loopback mirror
(nailgun_lab.Mirror), and this process refuses, with an error nailgun logs,
any connection or name lookup that is not loopback.
"""
import json
import socket
import sys

from nailgun import rpc


def recorder(path):
    def cast(name, message, service=False):
        with open(path, 'a') as out:
            out.write(json.dumps({'queue': name, 'service': service,
                                  'message': message}) + '\n')
    return cast


LOOPBACK = ('127.', '::1', 'localhost')


def loopback_only():
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def check(host):
        if not str(host).startswith(LOOPBACK):
            raise socket.error('the nailgun lab talks only to loopback, '
                               'not to {0}'.format(host))

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            check(address[0])
        return connect(sock, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host is not None:
            check(host)
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect
    socket.getaddrinfo = guarded_getaddrinfo


def main(port, messages):
    loopback_only()
    rpc.cast = recorder(messages)
    from nailgun.app import build_app
    from nailgun.app import build_middleware
    from nailgun.app import run_server
    run_server(build_middleware(build_app().wsgifunc), ('127.0.0.1', port))


if __name__ == '__main__':
    main(int(sys.argv[1]), sys.argv[2])

"""The "master service" of the migration tests: appends numbered records
under the master's data tree (fsync each), adds and deletes small files.
    writer.py start ROOT PIDFILE     (daemonizes)
    writer.py stop PIDFILE           (idempotent: waits until it is gone)
"""
import os
import signal
import sys
import time


def last_seq(log):
    seq = 0
    if os.path.exists(log):
        for line in open(log):
            parts = line.split()
            if len(parts) >= 2 and parts[0] in ('rec', 'stop'):
                seq = max(seq, int(parts[1]))
    return seq


def serve(root, pidfile):
    data = os.path.join(root, 'var/lib/writer')
    chunks = os.path.join(data, 'chunks')
    os.makedirs(chunks, exist_ok=True)
    log_path = os.path.join(data, 'records.log')
    seq = last_seq(log_path)
    log = open(log_path, 'a')
    stopping = []
    signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
    with open(pidfile + '.tmp', 'w') as handle:
        handle.write(str(os.getpid()))
    os.rename(pidfile + '.tmp', pidfile)
    while not stopping:
        seq += 1
        log.write('rec %d %.6f\n' % (seq, time.time()))
        log.flush()
        os.fsync(log.fileno())
        if seq % 10 == 0:
            with open(os.path.join(chunks, 'c%07d' % seq), 'wb') as chunk:
                chunk.write(os.urandom(2048))
            old = os.path.join(chunks, 'c%07d' % (seq - 100))
            if os.path.exists(old):
                os.unlink(old)
        time.sleep(0.01)
    log.write('stop %d %.6f\n' % (seq, time.time()))
    log.flush()
    os.fsync(log.fileno())
    os.unlink(pidfile)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(pidfile):
    try:
        pid = int(open(pidfile).read())
    except (OSError, ValueError):
        return 0
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
    for _ in range(200):
        if not alive(pid) or not os.path.exists(pidfile):
            return 0
        time.sleep(0.05)
    return 1


def main():
    if sys.argv[1] == 'stop':
        return stop(sys.argv[2])
    root, pidfile = sys.argv[2], sys.argv[3]
    if os.fork():
        for _ in range(100):
            if os.path.exists(pidfile):
                return 0
            time.sleep(0.05)
        return 1
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    serve(root, pidfile)
    os._exit(0)


if __name__ == '__main__':
    sys.exit(main())

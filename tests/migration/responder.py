"""Stand-in for the migrated guest's OS in the migration tests (the tree is
not bootable; the boot-proof tests boot a real OS): answers ssh with a
banner and the API port with HTTP, inside netns rfm-guest."""
import socket
import sys
import threading


def serve(port, reply, read_first=False):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(('0.0.0.0', port))
    server.listen(8)
    while True:
        conn, _ = server.accept()
        try:
            conn.settimeout(2)
            if read_first:
                conn.recv(1024)
            conn.sendall(reply)
        except OSError:
            pass
        finally:
            conn.close()


if __name__ == '__main__':
    api = int(sys.argv[1])
    threading.Thread(target=serve, args=(22, b'SSH-2.0-standin\r\n'),
                     daemon=True).start()
    serve(api, b'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', True)

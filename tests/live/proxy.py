"""A TCP relay between a server and its database, which a test can cut and restore.

The outage tests point a server's DATABASE_URL at the relay instead of at PostgreSQL, so that the
database can become unreachable for the server alone: the real PostgreSQL is never stopped.
"""

import contextlib
import socket
import threading

from tests.live.servers import HOST


class TcpRelay:
    """Relays every connection to (target_host, target_port) until cut.

    Cut "refused": open connections are closed and new ones are closed at once, as when the
    database process is gone. Cut "silent": open connections are closed and new ones are
    accepted but never answered, as when the database host is unreachable; only a connect
    timeout ends the wait.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server((HOST, 0))
        self.port: int = self.listener.getsockname()[1]
        self.mode = "relay"
        self.lock = threading.Lock()
        self.open_sockets: set[socket.socket] = set()
        self.accepting = threading.Thread(target=self.accept_forever, daemon=True)
        self.accepting.start()

    def accept_forever(self) -> None:
        """Accept connections until closed; relay, refuse or hold each as the mode says."""
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # the listener was closed
            with self.lock:
                mode = self.mode
                self.open_sockets.add(client)
            if mode == "refused":
                self.close_socket(client)
            elif mode == "relay":
                threading.Thread(target=self.relay, args=(client,), daemon=True).start()
            # "silent": keep the socket open and never answer.

    def relay(self, client: socket.socket) -> None:
        """Connect to the target and pump bytes both ways until either side closes."""
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            self.close_socket(client)
            return
        upstream.settimeout(None)
        with self.lock:
            self.open_sockets.add(upstream)
        pump = threading.Thread(target=self.pump, args=(upstream, client), daemon=True)
        pump.start()
        self.pump(client, upstream)
        pump.join()

    def pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Copy bytes from source to sink; when one ends, close both."""
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        self.close_socket(source)
        self.close_socket(sink)

    def close_socket(self, sock: socket.socket) -> None:
        """Shut a socket down both ways and close it (the peer sees the connection end)."""
        with self.lock:
            self.open_sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self, mode: str = "refused") -> None:
        """Make the database unreachable: "refused" or "silent" (see the class docstring)."""
        assert mode in ("refused", "silent")
        with self.lock:
            self.mode = mode
            open_sockets = list(self.open_sockets)
        for sock in open_sockets:
            self.close_socket(sock)

    def restore(self) -> None:
        """Relay again; connections held by a silent cut are closed, so their clients retry."""
        self.cut("refused")
        with self.lock:
            self.mode = "relay"

    def close(self) -> None:
        """Stop listening and close every connection."""
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        self.accepting.join(timeout=10)
        self.cut()

"""A TCP proxy tests put in front of a real backend (broker, database) to cut, restore or stall it.

From the clients' side: a backend that goes away and comes back (`cut`, `restore`, `outage`): while cut,
connecting is refused and every open connection is dropped; or one that accepts connections and then
never answers (`stall`), as a blocked or hung server does.
"""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int, listen_port: int):
        self._upstream = (upstream_host, upstream_port)
        self.port = listen_port
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.accepted = 0  # connections taken since the start: what a client opened through the proxy
        self.cuts = 0  # how many times it was cut (the fault run reports it)
        self.dropped = 0  # how many open connections the cuts dropped
        self._flowing = threading.Event()
        self._flowing.set()

    def start(self) -> "TcpProxy":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    @property
    def upstream(self) -> tuple[str, int]:
        """The backend's own address: for a test's connection that no cut may touch."""
        return self._upstream

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections) // 2

    def cut(self) -> None:
        """Refuse new connections and drop every open one, as a stopped broker or database would."""
        with self._lock:
            if self._listener is not None:
                try:  # wakes the thread blocked in accept(); close() alone would leave the port listening
                    self._listener.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self._listener.close()
                self._listener = None
                self.cuts += 1
            self.dropped += len(self._connections) // 2
            for connection in self._connections:
                _drop(connection)
            self._connections.clear()

    def restore(self) -> None:
        if self.is_cut:
            self.start()

    @contextmanager
    def outage(self, seconds: float):
        """Cut, stay cut for `seconds`, restore (also when the body fails)."""
        self.cut()
        try:
            time.sleep(seconds)
            yield
        finally:
            self.restore()

    def stall(self) -> None:
        """Keep every connection open (and accept new ones) but pass nothing either way from now on."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self._upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut while this one was being connected
                    client.close()
                    upstream.close()
                    return
                self._connections |= {client, upstream}
                self.accepted += 1
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                self._flowing.wait()  # stalled: hold the bytes, as a hung server would
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections -= {source, target}  # closed connections are not kept
            for end in (source, target):
                _drop(end)


def _drop(connection: socket.socket) -> None:
    """Shut down, then close: a close alone, while the other pump is blocked reading the socket, sends no FIN,
    and the server behind would keep the session (and its transaction's locks) open."""
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    connection.close()

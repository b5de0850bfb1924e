"""The proxy the system tests cut really cuts: while cut, connecting is refused and open connections are dropped;
once restored, connections work again. (Without this, a fault run could pass without any fault.)"""
from __future__ import annotations

import socket
import threading

import pytest

from clinic_shared.testing import free_port
from clinic_shared.tcp_proxy import TcpProxy


@pytest.fixture
def echo_server():
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=connection: [c.sendall(d) for d in iter(lambda: c.recv(1024), b"")],
                             daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def echo(port: int, payload: bytes = b"ping") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as connection:
        connection.sendall(payload)
        return connection.recv(1024)


def test_a_cut_refuses_and_drops_then_a_restore_lets_through(echo_server):
    proxy = TcpProxy("127.0.0.1", echo_server, free_port()).start()
    try:
        assert echo(proxy.port) == b"ping"
        held = socket.create_connection(("127.0.0.1", proxy.port), timeout=3)
        held.sendall(b"a")
        assert held.recv(1024) == b"a"

        with proxy.outage(0.2):
            assert proxy.is_cut and proxy.cuts == 1 and proxy.dropped == 1
            assert held.recv(1024) == b""  # the open connection was dropped
            with pytest.raises(ConnectionRefusedError):
                echo(proxy.port)
        held.close()
        assert echo(proxy.port, b"back") == b"back"
    finally:
        proxy.cut()

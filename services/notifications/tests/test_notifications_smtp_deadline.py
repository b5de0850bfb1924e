"""An SMTP session is cut once it has taken `timeout` (after connecting), however slowly the server answers: each
reply here comes well within the timeout, but all of them together would take far longer, and the dispatcher's
lease must outlast the whole send."""
import socket
import threading
import time

import pytest

from notifications.delivery import OutgoingEmail, SmtpTransport

REPLY_PAUSE = 0.3  # each reply, well within the timeout


class DawdlingServer:
    """Greets, then answers every command (`250`, `354` to DATA) after REPLY_PAUSE, and never ends a session."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sessions: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.sessions.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    @staticmethod
    def _serve(connection: socket.socket) -> None:
        try:
            connection.sendall(b"220 dawdling\r\n")
            for line in connection.makefile("rb"):
                time.sleep(REPLY_PAUSE)
                connection.sendall(b"354 go on\r\n" if line.upper().startswith(b"DATA") else b"250 ok\r\n")
        except OSError:
            pass

    def close(self) -> None:
        self.listener.close()
        for connection in self.sessions:
            connection.close()


@pytest.fixture
def dawdling_server():
    server = DawdlingServer()
    yield server
    server.close()


def test_sessions_one_after_another_are_each_cut_at_their_own_timeout(dawdling_server):
    """EHLO, MAIL, RCPT and DATA alone take 4 × REPLY_PAUSE, more than the timeout: each session is cut at it."""
    transport = SmtpTransport(f"smtp://127.0.0.1:{dawdling_server.port}", timeout=1.0)
    message = OutgoingEmail("bookings@clinic.example", "ada@example.org", b"Subject: x\r\n\r\nbody\r\n")
    for _ in range(3):
        started = time.monotonic()
        with pytest.raises(OSError):  # smtplib's errors are OSErrors
            transport.send(message, "n1")
        assert 0.9 * transport.timeout <= time.monotonic() - started < 2 * transport.timeout

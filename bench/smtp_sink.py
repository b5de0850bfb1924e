"""A real SMTP server (aiosmtpd) in a process of its own, counting what it receives.

The bench's mail server must not share the load generator's interpreter: sixteen client threads holding
the GIL delay every SMTP reply, and the notifications worker's sends then wait on the bench, not on itself.
A clinic's mail server is another machine altogether."""
from __future__ import annotations

import multiprocessing
from contextlib import contextmanager


class _Counter:
    def __init__(self, received):
        self.received = received

    async def handle_DATA(self, server, session, envelope):
        with self.received.get_lock():
            self.received.value += 1
        return "250 OK"


def _serve(port: int, received, ready, stop) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(_Counter(received), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class SmtpSink:
    def __init__(self, url: str, received):
        self.url = url
        self._received = received

    @property
    def received(self) -> int:
        return self._received.value


@contextmanager
def smtp_sink():
    """An SmtpSink: `.url` to send to, `.received` how many messages arrived."""
    from clinic_shared.testing import free_port

    context = multiprocessing.get_context("spawn")
    port, received, ready, stop = free_port(), context.Value("i", 0), context.Event(), context.Event()
    process = context.Process(target=_serve, args=(port, received, ready, stop), daemon=True)
    process.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the SMTP sink did not start")
        yield SmtpSink(f"smtp://127.0.0.1:{port}", received)
    finally:
        stop.set()
        process.join(10)
        if process.is_alive():
            process.kill()

"""A real SMTP server in the test process (aiosmtpd), so delivery tests go over a socket
to a server that can be stopped, made to refuse, or slowed, and then come back."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from bench.processes import free_port


class _Recorder:
    """The aiosmtpd handler: keeps what arrives, or refuses it while told to."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refusing = False
        self.delay = 0.0
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refusing:
            return "451 4.3.0 Try again later (refusing on purpose)"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
        return "250 OK"


class SmtpServer:
    """One SMTP server on a loopback port that stays the same across stop() and start()."""

    def __init__(self) -> None:
        self.port = free_port()
        self.recorder = _Recorder()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.recorder.messages)

    def start(self) -> None:
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse(self, refusing: bool = True) -> None:
        self.recorder.refusing = refusing

    def slow_down(self, seconds: float) -> None:
        self.recorder.delay = seconds

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The messages once at least `count` have arrived; fails after `timeout`."""
        with self.recorder.arrived:
            arrived = self.recorder.arrived.wait_for(
                lambda: len(self.recorder.messages) >= count, timeout
            )
        if not arrived:
            raise AssertionError(
                f"{len(self.recorder.messages)} of {count} messages arrived in {timeout}s"
            )
        return self.messages


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpServer]:
    """A running SMTP server, with the product's mail settings pointed at it."""
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    try:
        yield server
    finally:
        server.stop()

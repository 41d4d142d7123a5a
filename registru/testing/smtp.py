"""A real SMTP server on loopback for the tests of mail (aiosmtpd), collecting what it receives."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

# Where the server can hold a client still: before the message's DATA begins (the sender has
# recorded nothing yet), or after it accepted the message but before it answers (the sender has
# recorded it as sent and is waiting for the reply).
HoldPoint = Literal["before-data", "before-reply"]


@dataclass
class Inbox:
    messages: list[Message] = field(default_factory=list)
    # Answer this many DATA commands with a temporary refusal before accepting again.
    refuse_next: int = 0
    # Hold the client still when this many messages have been accepted (see HoldPoint).
    hold_after: int | None = None
    hold_point: HoldPoint = "before-reply"
    held: bool = False
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    # Turn away a client's connections beyond this many at once (421), as servers limit them.
    max_connections: int | None = None
    open_connections: int = 0
    turned_away: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        if self.hold_point == "before-data":
            await self._hold()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return "451 4.3.0 Try again later"
        self.messages.append(message_from_bytes(envelope.content))
        if self.hold_point == "before-reply":
            await self._hold()
        return "250 OK"

    async def _hold(self) -> None:
        # At or past the count, once: a worker sending a group at a time skips over exact counts.
        if self.hold_after is None or len(self.messages) < self.hold_after or self.held:
            return
        self.held = True
        if self.hold_point == "before-reply":
            await self._settle()
        self.holding.set()
        while not self.release.is_set():
            await asyncio.sleep(0.01)

    async def _settle(self) -> None:
        """Let the rest of the client's group arrive: a worker that sends a group at a time writes
        all of its dots, then reads the replies, and the kill is meant for that wait. (Between
        its commit and its last dot lies the window the design leaves open, docs/consent.md.)"""
        seen = -1
        while seen != len(self.messages):
            seen = len(self.messages)
            await asyncio.sleep(0.3)

    def message_ids(self) -> list[str]:
        return [str(message["Message-ID"]) for message in self.messages]


def body_of(message: Message) -> str:
    """The text of a received single-part message."""
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Session(SMTP):
    """aiosmtpd's session, turning a connection away when the inbox has enough open."""

    turned_away = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        inbox = self.event_handler
        if inbox.max_connections is not None and inbox.open_connections >= inbox.max_connections:
            self.turned_away = True
            inbox.turned_away += 1
            transport.write(b"421 4.7.0 Too many connections from your address\r\n")  # type: ignore[attr-defined]
            transport.close()
            return
        inbox.open_connections += 1
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if not self.turned_away:
            self.event_handler.open_connections -= 1
            super().connection_lost(error)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Session(self.handler, **self.SMTP_kwargs)


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = _Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        inbox.release.set()
        controller.stop()

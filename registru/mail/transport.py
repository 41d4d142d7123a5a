"""Handing messages to the mail server, so that a crash can neither send one twice nor lose one
(but for a window of one socket write).

SMTP has no two-phase commit: once the server has answered 250 to the final dot, the message is
delivered, and a client that dies before it records so will send it again. We move the record
ahead of that moment: the whole message goes to the server except the final ``.``; then the
caller commits "sent"; then the dot goes, and the server accepts. A crash before the commit leaves
an incomplete transaction the server discards (the message is retried, once); a crash after it
only between the commit and a three-byte write. If the server then refuses, the caller is told
and turns "sent" back into a retry or a failure.

The SMTP connection comes from Django's mail API as configured in ``MAILERS`` and is reused for
every message of a batch. Outside production, without an SMTP host, messages go to a local
mailbox directory that the Outbox page shows (so a newcomer can click a consent link).
"""

from __future__ import annotations

import email.policy
import smtplib
import socket
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage, mailers

Commit = Callable[[], None]
# Headers are folded at 998 characters, the limit of RFC 5322, not at the recommended 78: a
# List-Unsubscribe URL longer than 78 characters has nowhere to fold and would otherwise be
# turned into an RFC 2047 encoded word, which mail clients do not read as a URL.
WIRE_POLICY = email.policy.SMTP.clone(max_line_length=998)


class TemporaryFailureError(Exception):
    """Try again later (4xx, a dropped connection)."""


class PermanentFailureError(Exception):
    """Do not try again (5xx)."""


class Transport(Protocol):
    def open(self) -> None: ...
    def close(self) -> None: ...
    def send(self, message: EmailMessage, commit: Commit) -> None: ...


class SmtpTransport:
    """Split-DATA delivery over the connection of ``MAILERS["default"]``."""

    def __init__(self) -> None:
        self.backend = mailers.default
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        if self.smtp is None:
            try:
                self.backend.open()
            except OSError as exc:
                raise TemporaryFailureError(f"cannot reach the mail server: {exc}") from exc
            self.smtp = getattr(self.backend, "connection", None)
            if self.smtp is not None and self.smtp.sock is not None:
                # The final dot goes in a write of its own: without TCP_NODELAY, Nagle's algorithm
                # holds it back until the server's delayed ACK (40 ms a message on Linux).
                self.smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        try:
            self.backend.close()
        finally:
            self.smtp = None

    def send(self, message: EmailMessage, commit: Commit) -> None:
        self.open()
        assert self.smtp is not None
        try:
            self._send(self.smtp, message, commit)
        except smtplib.SMTPResponseException as exc:
            self._reset()
            raise (TemporaryFailureError if 400 <= exc.smtp_code < 500 else PermanentFailureError)(
                f"{exc.smtp_code} {exc.smtp_error!r}"
            ) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise TemporaryFailureError(f"the connection dropped: {exc}") from exc

    def _send(self, smtp: smtplib.SMTP, message: EmailMessage, commit: Commit) -> None:
        sender, recipients = message.from_email, message.recipients()
        smtp.ehlo_or_helo_if_needed()
        _expect(smtp.mail(sender), 250)
        for recipient in recipients:
            _expect(smtp.rcpt(recipient), 250, 251)
        smtp.putcmd("data")
        _expect(smtp.getreply(), 354)
        payload = _wire_bytes(message.message(policy=WIRE_POLICY))
        smtp.send(payload)  # everything but the final dot: not yet a message for the server
        commit()
        smtp.send(b".\r\n")
        _expect(smtp.getreply(), 250)

    def _reset(self) -> None:
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()


def _expect(reply: tuple[int, bytes], *codes: int) -> None:
    code, text = reply
    if code not in codes:
        raise smtplib.SMTPResponseException(code, text)


def _wire_bytes(message: Message) -> bytes:
    """The message as DATA carries it: CRLF line ends, leading dots doubled, ending in CRLF."""
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    lines = [b"." + line if line.startswith(b".") else line for line in raw.split(b"\r\n")]
    body = b"\r\n".join(lines)
    return body if body.endswith(b"\r\n") else body + b"\r\n"


class MailboxTransport:
    """The embedded default: messages are written as .eml files in the data directory."""

    def __init__(self) -> None:
        self.directory = Path(settings.DATA_DIR) / "mailbox"

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        pass

    def send(self, message: EmailMessage, commit: Commit) -> None:
        self.open()
        name = message.extra_headers.get("Message-ID", "message").strip("<>").replace("/", "_")
        pending = self.directory / f"{name}.eml.part"
        pending.write_bytes(message.message(policy=WIRE_POLICY).as_bytes())
        commit()
        pending.rename(self.directory / f"{name}.eml")


def transport() -> Transport:
    return SmtpTransport() if settings.MAIL_TRANSPORT == "smtp" else MailboxTransport()

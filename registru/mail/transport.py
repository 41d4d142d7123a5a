"""Handing messages to the mail server, so that a crash can neither send one twice nor lose one
(but for a window of a few socket writes).

SMTP has no two-phase commit: once the server has answered 250 to the final dot, the message is
delivered, and a client that dies before it records so will send it again. We move the record
ahead of that moment: the whole message goes to the server except the final ``.``; then the
caller commits "sent"; then the dot goes, and the server accepts. A crash before the commit leaves
an incomplete transaction the server discards (the message is retried, once); a crash after it
loses a message only between the commit and the write of its dot. If the server then refuses,
the caller is told and turns "sent" back into a retry or a failure.

Messages go a group at a time over ``MAIL_CONNECTIONS`` connections side by side (16 by
default), one SMTP transaction per connection: each command goes out on every connection before
the replies are read, so the round trips overlap, and the caller records the whole group as sent
in one commit before any of its dots is written. One commit per group instead of one per message
is what makes the worker fast (B8 in docs/benchmarks.md); the window above is then the time it
takes to write the group's dots, three-byte writes one after the other right after the commit.
A connection the server refuses to open while it keeps others open (a limit per client) is
given up for the rest of the run, so the groups shrink to what the server allows.

The SMTP connections come from Django's mail API as configured in ``MAILERS`` and are reused for
every message of a run. Outside production, without an SMTP host, messages go to a local
mailbox directory that the Outbox page shows (so a newcomer can click a consent link).
"""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage, mailers

from registru.mail.composition import WIRE_POLICY, wire_bytes

Commit = Callable[[], None]
# Given the indexes of the messages whose DATA waits for its final dot, record them as sent in
# one commit and return the indexes recorded (a message another worker has taken over is not).
CommitMany = Callable[[list[int]], Sequence[int]]
# Per message: None once the server has accepted it, otherwise why not.
Outcome = Exception | None


class TemporaryFailureError(Exception):
    """Try again later (4xx, a dropped connection)."""


class PermanentFailureError(Exception):
    """Do not try again (5xx)."""


class NotRecordedError(Exception):
    """The caller did not record the message as sent: its DATA was abandoned, nothing was sent."""


class Transport(Protocol):
    @property
    def lanes(self) -> int: ...  # messages sent side by side (the size of a group)

    def open(self) -> None: ...
    def close(self) -> None: ...
    def send(self, message: EmailMessage, commit: Commit) -> None: ...
    def send_many(self, messages: Sequence[EmailMessage], commit: CommitMany) -> list[Outcome]: ...


def connections() -> int:
    return max(1, int(getattr(settings, "MAIL_CONNECTIONS", 1)))


class _Lane:
    """One SMTP connection of ``MAILERS["default"]``, opened when first needed."""

    def __init__(self) -> None:
        self.backend = mailers.default
        self.smtp: smtplib.SMTP | None = None
        # The server would not open this connection while it kept others open (a limit of
        # connections per client): the lane is given up for the rest of the run.
        self.refused = False

    def open(self) -> smtplib.SMTP:
        if self.smtp is None:
            try:
                self.backend.open()
            except OSError as exc:
                raise TemporaryFailureError(f"cannot reach the mail server: {exc}") from exc
            self.smtp = getattr(self.backend, "connection", None)
            if self.smtp is None:
                raise TemporaryFailureError("the mail backend opened no connection")
            if self.smtp.sock is not None:
                # The final dot goes in a write of its own: without TCP_NODELAY, Nagle's algorithm
                # holds it back until the server's delayed ACK (40 ms a message on Linux).
                self.smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.smtp.ehlo_or_helo_if_needed()
        return self.smtp

    def close(self) -> None:
        """Say goodbye (QUIT) and close; only between transactions."""
        try:
            self.backend.close()
        except (smtplib.SMTPException, OSError):
            self.drop()
        finally:
            self.smtp = None

    def drop(self) -> None:
        """Close the socket without a word: in the middle of DATA a QUIT would be taken for part
        of the message (and its reply waited for in vain); the server discards the message."""
        if self.smtp is not None:
            self.smtp.close()
        self.backend.connection = None  # type: ignore[attr-defined]  # the SMTP backend's attribute
        self.smtp = None

    def reset(self) -> None:
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.drop()


class SmtpTransport:
    """Split-DATA delivery over up to ``lanes`` connections of ``MAILERS["default"]``."""

    def __init__(self, lanes: int | None = None) -> None:
        self._lanes = [_Lane() for _ in range(lanes or connections())]

    @property
    def lanes(self) -> int:
        return max(1, len(self._usable()))

    def _usable(self) -> list[_Lane]:
        return [lane for lane in self._lanes if not lane.refused] or self._lanes[:1]

    def open(self) -> None:
        self._lanes[0].open()

    def close(self) -> None:
        for lane in self._lanes:
            lane.close()

    def send(self, message: EmailMessage, commit: Commit) -> None:
        """One message: ``commit`` records it as sent (and may raise to abandon it)."""

        def commit_one(indexes: list[int]) -> list[int]:
            commit()
            return indexes

        outcome = self.send_many([message], commit_one)[0]
        if outcome is not None:
            raise outcome

    def send_many(self, messages: Sequence[EmailMessage], commit: CommitMany) -> list[Outcome]:
        """Up to ``lanes`` messages, one per connection; ``commit`` records them as sent before any
        final dot is written. If ``commit`` raises, every DATA is abandoned and the error raised."""
        if len(messages) > self.lanes:
            raise ValueError(f"at most {self.lanes} messages at a time")
        group = _Group(self._usable()[: len(messages)], messages)
        group.open()
        group.run_envelopes()
        group.send_payloads()
        waiting = group.live()
        if waiting:
            try:
                recorded = set(commit(waiting))
            except BaseException:
                group.abandon(waiting)
                raise
            group.abandon([i for i in waiting if i not in recorded], NotRecordedError("not recorded as sent"))
            group.finish([i for i in waiting if i in recorded])
        return group.outcomes


class _Group:
    """Messages in flight side by side, message ``i`` on lane ``i``."""

    def __init__(self, lanes: list[_Lane], messages: Sequence[EmailMessage]) -> None:
        self.lanes = lanes
        self.outcomes: list[Outcome] = [None] * len(messages)
        self.payloads = [wire_bytes(message) for message in messages]
        # The envelope's commands, each with the replies that let the transaction go on.
        self.commands = [
            [("mail", f"FROM:{smtplib.quoteaddr(message.from_email)}", (250,))]
            + [("rcpt", f"TO:{smtplib.quoteaddr(recipient)}", (250, 251)) for recipient in message.recipients()]
            + [("data", "", (354,))]
            for message in messages
        ]
        self.smtp: list[smtplib.SMTP | None] = [None] * len(messages)

    def live(self) -> list[int]:
        return [i for i, outcome in enumerate(self.outcomes) if outcome is None]

    def open(self) -> None:
        for i, lane in enumerate(self.lanes):
            try:
                self.smtp[i] = lane.open()
            except TemporaryFailureError as exc:
                self.outcomes[i] = exc
            except (smtplib.SMTPException, OSError) as exc:
                self.fail(i, exc)
        if any(smtp is not None for smtp in self.smtp):  # the server is there, it limits us
            for i, lane in enumerate(self.lanes):
                lane.refused = lane.refused or isinstance(self.outcomes[i], TemporaryFailureError)

    def run_envelopes(self) -> None:
        """MAIL, RCPT..., DATA: each step sent on every connection, then the replies read."""
        for step in range(max(len(commands) for commands in self.commands)):
            asked = [i for i in self.live() if step < len(self.commands[i])]
            for i in asked:
                verb, argument, _codes = self.commands[i][step]
                self.attempt(i, smtplib.SMTP.putcmd, verb, argument)
            for i in asked:
                self.attempt(i, _reply, *self.commands[i][step][2])

    def send_payloads(self) -> None:
        """Everything but the final dot: not yet a message for the server."""
        for i in self.live():
            self.attempt(i, smtplib.SMTP.send, self.payloads[i])

    def finish(self, recorded: list[int]) -> None:
        """The dots, written one after the other right after the commit; then the replies."""
        for i in recorded:
            self.attempt(i, smtplib.SMTP.send, b".\r\n")
        for i in recorded:
            self.attempt(i, _reply, 250)

    def abandon(self, indexes: list[int], why: Exception | None = None) -> None:
        """Drop the connections whose DATA will not end: the server discards what it received."""
        for i in indexes:
            self.lanes[i].drop()
            self.smtp[i] = None
            if why is not None:
                self.outcomes[i] = why

    def attempt(self, i: int, step: Callable[..., object], *args: object) -> None:
        """``step(smtp, *args)`` on message ``i``'s connection, unless that message has failed."""
        if self.outcomes[i] is not None:
            return
        smtp = self.smtp[i]
        assert smtp is not None
        try:
            step(smtp, *args)
        except (smtplib.SMTPException, OSError) as exc:
            self.fail(i, exc)

    def fail(self, i: int, exc: Exception) -> None:
        if isinstance(exc, smtplib.SMTPResponseException):
            self.lanes[i].reset()
            kind = TemporaryFailureError if 400 <= exc.smtp_code < 500 else PermanentFailureError
            error: Exception = kind(f"{exc.smtp_code} {exc.smtp_error!r}")
        else:
            self.lanes[i].drop()
            error = TemporaryFailureError(f"the connection dropped: {exc}")
        error.__cause__ = exc
        self.outcomes[i] = error
        self.smtp[i] = None


def _reply(smtp: smtplib.SMTP, *codes: int) -> None:
    _expect(smtp.getreply(), *codes)


def _expect(reply: tuple[int, bytes], *codes: int) -> None:
    code, text = reply
    if code not in codes:
        raise smtplib.SMTPResponseException(code, text)


class MailboxTransport:
    """The embedded default: messages are written as .eml files in the data directory."""

    lanes = 1

    def __init__(self) -> None:
        self.directory = Path(settings.DATA_DIR) / "mailbox"

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        pass

    def send(self, message: EmailMessage, commit: Commit) -> None:
        self.open()
        final = self.path_of(message.extra_headers.get("Message-ID", "message"))
        pending = final.with_suffix(".eml.part")
        pending.write_bytes(message.message(policy=WIRE_POLICY).as_bytes())
        commit()
        pending.rename(final)

    def path_of(self, message_id: str) -> Path:
        """Where the message with this Message-ID is (or would be) kept."""
        return self.directory / f"{message_id.strip('<>').replace('/', '_')}.eml"

    def remove(self, message_ids: Iterable[str]) -> None:
        """Delete the copies of these messages (an erasure: they hold the person's name and
        address); a copy that is not there is no error."""
        for message_id in message_ids:
            final = self.path_of(message_id)
            final.unlink(missing_ok=True)
            final.with_suffix(".eml.part").unlink(missing_ok=True)

    def send_many(self, messages: Sequence[EmailMessage], commit: CommitMany) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for i, message in enumerate(messages):

            def commit_one(i: int = i) -> None:
                if not commit([i]):
                    raise NotRecordedError("not recorded as sent")

            try:
                self.send(message, commit_one)
                outcomes.append(None)
            except NotRecordedError as exc:
                outcomes.append(exc)
        return outcomes


def transport() -> Transport:
    return SmtpTransport() if settings.MAIL_TRANSPORT == "smtp" else MailboxTransport()

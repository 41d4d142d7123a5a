"""A message's wire bytes (what SMTP's DATA carries), composed quickly for the common case.

Nearly everything the outbox sends is one text/plain part in UTF-8, with ASCII addresses and a
handful of headers. Django's ``EmailMessage.message()`` builds it through the ``email``
package's modern policy, whose header parsing and folding cost about 2 ms a message: more than
everything else a delivery worker does for a message put together (B8 in docs/benchmarks.md).
For that common case the bytes are assembled here from the standard library's own parts
(``email.header`` for RFC 2047 encoded words, ``email.utils`` for the date), and what a mail
reader parses out of them is what it parses out of Django's (a property test in
``mail/tests/test_composition.py`` holds the two side by side). Anything else (attachments,
alternatives, non-ASCII addresses, a body line too long for 8bit, a header with a line break)
goes through Django, which also raises Django's own errors for bad headers.
"""

from __future__ import annotations

import email.policy
import functools
from datetime import UTC, datetime
from email.header import Header
from email.message import Message
from email.utils import format_datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

# Headers are folded at 998 characters, the limit of RFC 5322, not at the recommended 78: a
# List-Unsubscribe URL longer than 78 characters has nowhere to fold and would otherwise be
# turned into an RFC 2047 encoded word, which mail clients do not read as a URL.
WIRE_POLICY = email.policy.SMTP.clone(max_line_length=998)
MAX_LINE = 998
# Headers the quick path writes itself; an extra header by one of these names takes the slow path.
OWN_HEADERS = {"content-type", "content-transfer-encoding", "mime-version", "subject", "from", "to", "bcc"}


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as DATA carries it: CRLF line ends, leading dots doubled, ending in CRLF."""
    quick = _quick(message)
    return quick if quick is not None else _dot_stuffed(message.message(policy=WIRE_POLICY))


def _quick(message: EmailMessage) -> bytes | None:
    if not _plain(message):
        return None
    body_lines = _body_lines(str(message.body))
    if body_lines is None:
        return None
    header_lines = _header_lines(message, body_lines)
    if header_lines is None:
        return None
    return b"\r\n".join([*header_lines, b"", *body_lines]) + b"\r\n"


def _plain(message: EmailMessage) -> bool:
    """One text/plain part in UTF-8 to plain ASCII addresses, nothing else."""
    addresses = [message.from_email, *message.to]
    return (
        not message.attachments
        and not getattr(message, "alternatives", None)
        and not message.cc
        and not message.reply_to
        and message.content_subtype == "plain"
        and (message.encoding or settings.DEFAULT_CHARSET).lower() in {"utf-8", "utf8"}
        and isinstance(message.body, str)
        and len(message.to) == 1
        and all(isinstance(address, str) and _safe_ascii(address) and "@" in address for address in addresses)
        and all(_safe_ascii(name) and name.lower() not in OWN_HEADERS for name in message.extra_headers)
    )


def _safe_ascii(text: str) -> bool:
    return text.isascii() and "\r" not in text and "\n" not in text


def _body_lines(body: str) -> list[bytes] | None:
    """The body's lines in UTF-8, leading dots doubled; None if one is too long for 8bit."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if len(lines) > 1 and lines[-1] == "":  # a final line break ends the last line
        lines.pop()
    try:
        encoded = [line.encode() for line in lines]
    except UnicodeEncodeError:  # a lone surrogate: Django knows what to do with it
        return None
    if any(len(line) > MAX_LINE for line in encoded):
        return None
    return [b"." + line if line.startswith(b".") else line for line in encoded]


def _header_lines(message: EmailMessage, body_lines: list[bytes]) -> list[bytes] | None:
    ascii_body = all(line.isascii() for line in body_lines)
    subject = _text_header("Subject", str(message.subject))
    extras = [_text_header(name, str(value)) for name, value in message.extra_headers.items()]
    if subject is None or None in extras:
        return None
    extra_names = {name.lower() for name in message.extra_headers}
    lines = [
        'Content-Type: text/plain; charset="utf-8"',
        f"Content-Transfer-Encoding: {'7bit' if ascii_body else '8bit'}",
        "MIME-Version: 1.0",
        subject,
        f"From: {message.from_email}",
        f"To: {message.to[0]}",
    ]
    if "date" not in extra_names:
        lines.append(f"Date: {format_datetime(_now())}")
    lines.extend(line for line in extras if line is not None)
    return [line.encode("ascii") for line in lines]


def _text_header(name: str, value: str) -> str | None:
    """``Name: value``, non-ASCII text as RFC 2047 encoded words; None where only Django should
    decide (a line break in the value, which Django refuses as a header injection)."""
    if "\r" in value or "\n" in value or "=?" in value:
        return None
    if value.isascii():
        line = f"{name}: {value}"
        return line if len(line) <= MAX_LINE else None
    return f"{name}: {_encoded_words(name, value)}"


@functools.lru_cache(maxsize=256)
def _encoded_words(name: str, value: str) -> str:
    """Remembered: a campaign's subject is the same for all its messages of one language, and
    the standard library's encoder takes about a millisecond for one."""
    # Leading blanks are folding white space to a reader, not text: left out, as Django does.
    return Header(value.lstrip(" \t"), "utf-8", header_name=name).encode(linesep="\r\n")


def _now() -> datetime:
    return timezone.localtime() if settings.EMAIL_USE_LOCALTIME else datetime.now(UTC)


def _dot_stuffed(message: Message) -> bytes:
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    lines = [b"." + line if line.startswith(b".") else line for line in raw.split(b"\r\n")]
    body = b"\r\n".join(lines)
    return body if body.endswith(b"\r\n") else body + b"\r\n"

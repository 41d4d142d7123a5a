"""The quick composition of plain-text messages reads, to a mail reader, exactly as Django's."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage as ParsedMessage

import pytest
from django.core.mail import EmailMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registru.mail import composition
from registru.mail.composition import WIRE_POLICY, wire_bytes

HEADERS = {
    "Message-ID": "<0123456789abcdef@registru.localhost>",
    "List-Unsubscribe": "<https://registru.example/p/u/" + "a" * 120 + ">",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    "Date": "Sun, 29 Nov 2026 23:37:42 +0000",  # fixed, so that both sides carry the same
}
# Printable text, Romanian letters, dots at line starts, every kind of line break.
TEXT = st.text(alphabet=st.sampled_from(list("abc xyz.ăâîșțĂÂÎȘȚ€😀\n\r\t=?-")), max_size=400)
SUBJECT = st.text(alphabet=st.sampled_from(list("abc XYZ ăîșțĂ€=?_-:;\"'")), max_size=200)


def parsed(wire: bytes) -> ParsedMessage:
    unstuffed = b"\r\n".join(line[1:] if line.startswith(b"..") else line for line in wire.split(b"\r\n"))
    message = email.message_from_bytes(unstuffed, policy=email.policy.default)
    assert isinstance(message, ParsedMessage)
    return message


def django_wire(message: EmailMessage) -> bytes:
    return composition._dot_stuffed(message.message(policy=WIRE_POLICY))


def what_a_reader_sees(wire: bytes) -> tuple[list[tuple[str, str]], str]:
    message = parsed(wire)
    headers = sorted((name.lower(), str(value)) for name, value in message.items())
    return headers, message.get_content()


def letter(subject: str, body: str, **extra: str) -> EmailMessage:
    headers = HEADERS | extra
    return EmailMessage(
        subject=subject, body=body, from_email="registru@exemplu.ro", to=["ana.popescu@exemplu.ro"], headers=headers
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=SUBJECT, body=TEXT)
def test_a_reader_sees_the_same_message_as_djangos(subject: str, body: str) -> None:
    message = letter(subject, body)
    assert what_a_reader_sees(wire_bytes(message)) == what_a_reader_sees(django_wire(message))


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Acordul dumneavoastră pentru comunicări", "Bună ziua,\n\n.o linie cu punct\n..două\n"),
        ("", ""),
        ("ASCII only", "no line break at the end"),
        ("Țară", "ă" * 600),  # 1,200 bytes on one line: too long for 8bit, Django decides
        ("=?utf-8?q?looks_encoded?=", "text"),  # Django decides
    ],
)
def test_examples_read_the_same(subject: str, body: str) -> None:
    message = letter(subject, body)
    wire = wire_bytes(message)
    assert what_a_reader_sees(wire) == what_a_reader_sees(django_wire(message))
    assert all(len(line) <= 998 for line in wire.split(b"\r\n"))
    assert not any(line.startswith(b".") and not line.startswith(b"..") for line in wire.split(b"\r\n")[:-1])


def test_the_quick_path_is_taken_for_an_ordinary_invitation() -> None:
    assert composition._quick(letter("Acordul dumneavoastră", "Bună ziua,\nhttps://x.example/p/i/abc\n")) is not None


@pytest.mark.parametrize(
    "message",
    [
        EmailMessage(subject="s", body="b", from_email="a@x.ro", to=["b@x.ro"], cc=["c@x.ro"]),
        EmailMessage(subject="s", body="b", from_email="a@x.ro", to=["ștefan@x.ro"]),
        EmailMessage(subject="s", body="b", from_email="a@x.ro", to=["b@x.ro"], headers={"From": "c@x.ro"}),
    ],
    ids=["cc", "non-ascii-address", "own-from-header"],
)
def test_unusual_messages_go_through_django(message: EmailMessage) -> None:
    assert composition._quick(message) is None
    assert parsed(wire_bytes(message))["To"] == parsed(django_wire(message))["To"]


def test_a_header_with_a_line_break_is_refused_as_django_refuses_it() -> None:
    message = letter("Subject\r\nBcc: victim@exemplu.ro", "body")
    with pytest.raises(ValueError, match=r"[Hh]eader"):
        django_wire(message)
    with pytest.raises(ValueError, match=r"[Hh]eader"):
        wire_bytes(message)

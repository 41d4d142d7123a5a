"""The ``id`` path converter: a record id, at most 18 digits.

Django's ``int`` converter accepts any number of digits; a 30-digit id would overflow the
database driver and answer 500 instead of 404.
"""

from __future__ import annotations


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class TokenConverter:
    """An opaque signed token (django.core.signing: base64url and ``:``), the only text a public
    URL carries. It holds ids and nonces, never personal data (see portal.tokens)."""

    regex = "[A-Za-z0-9_=:-]{1,600}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value

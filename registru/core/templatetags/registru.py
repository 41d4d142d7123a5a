"""Template filters for Registru's pages."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import template

from registru.core.stored_texts import translated

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """+40722123456 shown as +40 722 123 456; anything unparseable is shown as stored."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@register.filter
def stored_text(value: Any) -> str:
    """A label or reason the system stored in one language, in the reader's (``core.stored_texts``)."""
    return translated(value)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``mapping|get_item:key``: a dictionary's value for a key held in a variable."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def split(value: str) -> list[str]:
    """``"a b c"|split``: a list written inline in a template."""
    return value.split()

"""Form widgets shared by Registru's pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils import formats


class DateInput(forms.DateInput):
    """The browser's date picker. It reads only ISO dates (2026-12-31): a date the field
    accepted in another form (31.12.2026, typed into a link) is shown in ISO as well, not left
    blank while it still filters."""

    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, str):
            for pattern in formats.get_format("DATE_INPUT_FORMATS"):
                try:
                    return datetime.strptime(value.strip(), pattern).date().isoformat()  # noqa: DTZ007 (a date)
                except ValueError:
                    continue
            return value
        return super().format_value(value)

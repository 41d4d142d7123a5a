"""Keyset pagination with opaque cursors.

A cursor is a signed reference to the last row of a page, never its values, so a cursor in
a URL or a log carries no personal data; and it is resolved within the caller's own scope,
so a forged cursor cannot be used to probe where a hidden record sorts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import Model, Q, QuerySet

CURSOR_SALT = "registru.cursor"


class InvalidCursorError(ValueError):
    pass


@dataclass(frozen=True)
class Sort:
    """An ordering by one column then the primary key, in one direction.

    ``tiebreak`` names the primary key as the query should say it: a column of a joined table
    that holds the same value can let the database read one index in order.
    """

    field: str
    descending: bool = False
    tiebreak: str = "pk"

    @property
    def order_by(self) -> tuple[str, str]:
        sign = "-" if self.descending else ""
        return (f"{sign}{self.field}", f"{sign}{self.tiebreak}")


@dataclass
class Page[M: Model]:
    items: list[M]
    next_cursor: str | None
    previous_cursor: str | None
    # Set when the results are for a corrected search ("did you mean ...").
    corrected_query: str | None = None


def make_cursor(pk: Any, sort_name: str, *, backwards: bool = False) -> str:
    return signing.dumps({"pk": pk, "s": sort_name, "b": backwards}, salt=CURSOR_SALT, compress=True)


def read_cursor(cursor: str, sort_name: str) -> tuple[Any, bool]:
    try:
        value = signing.loads(cursor, salt=CURSOR_SALT)
    except signing.BadSignature as exc:
        raise InvalidCursorError("the cursor is not valid") from exc
    if not isinstance(value, dict) or value.get("s") != sort_name:
        raise InvalidCursorError("the cursor belongs to another sort order")
    return value["pk"], bool(value.get("b"))


def _after(sort: Sort, anchor: dict[str, Any], *, backwards: bool) -> Q:
    """Rows strictly after (or before) the anchor row in the sort order."""
    forward = not sort.descending
    if backwards:
        forward = not forward
    op = "gt" if forward else "lt"
    value = anchor[sort.field]
    return Q(**{f"{sort.field}__{op}": value}) | Q(**{sort.field: value, f"{sort.tiebreak}__{op}": anchor["pk"]})


def paginate[M: Model](queryset: QuerySet[M], sort: Sort, sort_name: str, cursor: str | None, limit: int) -> Page[M]:
    backwards = False
    filtered = queryset
    if cursor:
        pk, backwards = read_cursor(cursor, sort_name)
        anchor = queryset.filter(pk=pk).values(sort.field, "pk").first()
        if anchor is None:
            raise InvalidCursorError("the cursor points at a record that is no longer listed")
        filtered = queryset.filter(_after(sort, anchor, backwards=backwards))
    ordering = sort.order_by
    if backwards:
        ordering = tuple(name[1:] if name.startswith("-") else f"-{name}" for name in ordering)  # type: ignore[assignment]
    rows = list(filtered.order_by(*ordering)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    has_next = more if not backwards else True
    has_previous = bool(cursor) and (more if backwards else True)
    return Page(
        items=rows,
        next_cursor=make_cursor(rows[-1].pk, sort_name) if rows and has_next else None,
        previous_cursor=(make_cursor(rows[0].pk, sort_name, backwards=True) if rows and has_previous else None),
    )

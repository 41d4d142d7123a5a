"""Telling which export a (leaked) file came from (docs/exports.md, "Fingerprint").

Every row of the file is looked up twice: its Ref marker, and the keyed digest of its other
cells. Rows may be missing, reordered, or have lost their Ref column; header and watermark
rows simply match nothing. The export with the most matching rows wins; canary rows, unique
to one export, settle a tie between exports of the same people.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registru.exports.fingerprint import digest_key, looks_like_code, row_digest
from registru.exports.models import ExportRequest, ExportRow
from registru.exports.writer import neutralised

LOOKUP_CHUNK = 500


@dataclass
class Match:
    export: ExportRequest
    markers: int = 0
    values: int = 0
    canaries: int = 0
    people: set[int] = field(default_factory=set)
    digests: set[str] = field(default_factory=set)

    @property
    def rows(self) -> int:
        """Rows of the file traced to this export, by either layer."""
        return max(self.markers, self.values)

    @property
    def score(self) -> tuple[int, int, int]:
        return (self.rows, self.canaries, self.markers)


def read_rows(path: Path) -> list[list[Any]]:
    """The cells of every row of a CSV file, or of every sheet of a spreadsheet."""
    if path.suffix.lower() in (".csv", ".txt"):
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        try:
            dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        return list(csv.reader(io.StringIO(text, newline=""), dialect))
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    return [row for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python()]


def _as_written(row: list[Any]) -> list[Any]:
    """A row as its digest was taken when the file was made: cells that look like formulas with
    the apostrophe a CSV file carries (an XLSX file marks them "quote prefix" instead)."""
    return [neutralised(cell) if isinstance(cell, str) else cell for cell in row]


def identify(rows: Iterable[list[Any]]) -> list[Match]:
    """The exports the rows come from, best first (empty when nothing matches)."""
    rows = list(rows)
    key = digest_key()
    codes = [cell for row in rows for cell in row if looks_like_code(cell)]
    digests = [digest for digest in (row_digest(_as_written(row), key) for row in rows) if digest]
    matches: dict[int, Match] = {}
    for found in _lookup("code", codes):
        _match(matches, found).markers += 1
        _people(matches, found)
    for found, times in _lookup_counted(digests):
        match = _match(matches, found)
        _people(matches, found)
        if found.digest in match.digests:
            continue  # two rows of one export with the same values
        match.digests.add(found.digest)
        match.values += times
        match.canaries += times if found.canary else 0
    return sorted(matches.values(), key=lambda match: match.score, reverse=True)


def _lookup(column: str, values: list[str]) -> Iterable[ExportRow]:
    unique = sorted(set(values))
    for start in range(0, len(unique), LOOKUP_CHUNK):
        yield from ExportRow.objects.filter(**{f"{column}__in": unique[start : start + LOOKUP_CHUNK]})


def _lookup_counted(digests: list[str]) -> Iterable[tuple[ExportRow, int]]:
    # A digest appears in every export of the same person with the same fields: each export
    # counts the rows of the file it holds.
    times = Counter(digests)
    for found in _lookup("digest", digests):
        yield found, times[found.digest]


def _match(matches: dict[int, Match], row: ExportRow) -> Match:
    if row.request_id not in matches:
        matches[row.request_id] = Match(ExportRequest.objects.select_related("requester").get(pk=row.request_id))
    return matches[row.request_id]


def _people(matches: dict[int, Match], row: ExportRow) -> None:
    if row.person_id is not None:
        matches[row.request_id].people.add(row.person_id)

"""``registru exports identify FILE`` names the export a leaked file came from."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from registru.exports.services.requests import file_path
from registru.exports.tests.conftest import ask, made, rows_of
from registru.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def exports(cast, settings):
    settings.EXPORT_APPROVAL_THRESHOLD = 100
    for _ in range(8):
        PersonFactory(owner=cast.alice)
    # The same people and fields twice, and another requester: only the Ref column and the
    # canary rows tell the first two apart.
    return [made(ask(cast.alice)), made(ask(cast.alice)), made(ask(cast.bob))]


def _identify(path: Path) -> str:
    out = io.StringIO()
    call_command("exports", "identify", str(path), stdout=out)
    return out.getvalue()


def _first_named(output: str) -> int:
    return int(output.split("export #")[1].split(":", maxsplit=1)[0])


def _write_csv(path: Path, rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_it_names_the_export_of_an_untouched_file(exports) -> None:
    for export in exports:
        output = _identify(file_path(export))
        assert _first_named(output) == export.pk
        assert "requested by" in output


def test_it_names_the_export_after_rows_were_removed_and_reordered(exports, tmp_path) -> None:
    rows = rows_of(exports[1])[3:]  # no watermark, no header
    leaked = _write_csv(tmp_path / "leak.csv", list(reversed(rows[::2])))
    assert _first_named(_identify(leaked)) == exports[1].pk


def test_it_names_the_export_after_the_marker_column_was_removed(exports, tmp_path) -> None:
    rows = [row[:-1] for row in rows_of(exports[0])[3:]]
    leaked = _write_csv(tmp_path / "leak.csv", rows[::-1])
    assert _first_named(_identify(leaked)) == exports[0].pk


def test_it_fails_on_an_unrelated_file(exports, tmp_path) -> None:
    leaked = _write_csv(tmp_path / "other.csv", [["Nume", "Email"], ["Ion Ionescu", "ion@example.com"]])
    with pytest.raises(CommandError):
        _identify(leaked)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_rows_whose_cells_look_like_formulas_are_named_without_their_marker(cast, settings, tmp_path, fmt) -> None:
    """Phone numbers start with "+": an XLSX file holds them as they are (quote prefix), a CSV
    file with an apostrophe. Either way the rows' digests still name the export."""
    settings.EXPORT_APPROVAL_THRESHOLD = 100
    for _ in range(6):
        PersonFactory(owner=cast.alice, phones=["+40722123456"])
    export = made(ask(cast.alice, fields=["given_name", "family_name", "phones"], fmt=fmt))
    # No watermark, no header, no marker; and only the real people's rows (the made-up rows
    # that mark the file would name it on their own).
    phone = "+40722123456" if fmt == "xlsx" else "'+40722123456"
    rows = [row[:-1] for row in rows_of(export)[3:] if row[2] == phone]
    assert len(rows) == 6
    leaked = _write_csv(tmp_path / "leak.csv", rows)
    assert _first_named(_identify(leaked)) == export.pk

"""Export files go to the test's own directory; helpers to ask for, make and read exports."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from registru.exports import services
from registru.exports.models import ExportRequest
from registru.exports.services.requests import file_path
from registru.people.selectors import PeopleFilter


@pytest.fixture(autouse=True)
def _export_dir(settings: Any, tmp_path: Path) -> None:
    settings.EXPORT_DIR = tmp_path / "exports"
    settings.EXPORT_APPROVAL_THRESHOLD = 5


def ask(user: Any, fields: list[str] | None = None, fmt: str = "xlsx", **criteria: Any) -> ExportRequest:
    return services.request_export(
        actor=user, criteria=PeopleFilter(**criteria), fields=fields or ["given_name", "family_name", "emails"],
        fmt=fmt, purpose="Ofertă de reînnoire a contractelor",
    )  # fmt: skip


def made(export: ExportRequest) -> ExportRequest:
    result = services.generate_export(export.pk)
    assert result is not None
    return result


def sheet_rows(path: Path) -> list[list[Any]]:
    if path.suffix == ".csv":
        import csv
        import io

        return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def rows_of(export: ExportRequest) -> list[list[Any]]:
    return sheet_rows(file_path(export))


def xlsx_part(path: Path, name: str) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name).decode()


HEADER_ROW = 2  # after the two watermark lines

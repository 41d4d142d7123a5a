"""Writing export files, XLSX or CSV, a row at a time (constant memory), every cell as text.

A cell that starts with ``= + - @``, a tab or a carriage return would be run as a formula
by a spreadsheet. XLSX cells are written with ``write_string``, so nothing is ever stored as a
formula, and such a cell is marked "quote prefix" (as Excel marks a cell typed with an
apostrophe): it stays text when edited, and its value is unchanged (``+40…`` reads ``+40…``).
A CSV file has no cell formats: there such a cell gets an apostrophe in front.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def neutralised(text: str) -> str:
    return "'" + text if looks_like_formula(text) else text


@dataclass(frozen=True)
class Watermark:
    """What names the file's origin: in its first rows and (XLSX) its document properties."""

    export_id: int
    title: str
    requester: str
    lines: list[str]
    comments: str


class SheetWriter(Protocol):
    def row(self, cells: list[str]) -> None: ...

    def close(self) -> None: ...


def _properties(watermark: Watermark) -> dict[str, str]:
    return {
        "title": watermark.title,
        "subject": watermark.title,
        "author": watermark.requester,
        "comments": watermark.comments,
        "keywords": f"registru export {watermark.export_id}",
        "category": "Registru export",
    }


class XlsxWriter:
    def __init__(self, path: Path, watermark: Watermark, headers: list[str]) -> None:
        options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                   "strings_to_numbers": False}  # fmt: skip
        self.book = xlsxwriter.Workbook(str(path), options)
        self.book.set_properties(_properties(watermark))
        self.book.set_custom_property("Registru export id", str(watermark.export_id))
        self.book.set_custom_property("Registru requester", watermark.requester)
        self.sheet = self.book.add_worksheet("Export")
        # Each style twice: as it is, and marked "quote prefix" for cells that look like formulas.
        self.plain = (None, self.book.add_format({"quote_prefix": True}))
        self.bold = (self.book.add_format({"bold": True}), self.book.add_format({"bold": True, "quote_prefix": True}))
        self.next = 0
        for line in watermark.lines:
            self._write([line], self.bold)
        self._write(headers, self.bold)

    def _write(self, cells: list[str], styles: tuple[Any, Any]) -> None:
        for column, text in enumerate(cells):
            if text:
                self.sheet.write_string(self.next, column, text, styles[looks_like_formula(text)])
        self.next += 1

    def row(self, cells: list[str]) -> None:
        self._write(cells, self.plain)

    def close(self) -> None:
        self.book.close()


class CsvWriter:
    def __init__(self, path: Path, watermark: Watermark, headers: list[str]) -> None:
        # UTF-8 with a byte order mark: Excel then reads the diacritics right.
        self.handle = path.open("w", encoding="utf-8-sig", newline="")
        self.csv = csv.writer(self.handle)
        for line in watermark.lines:
            self.row([line])
        self.row(headers)

    def row(self, cells: list[str]) -> None:
        self.csv.writerow([neutralised(text) for text in cells])

    def close(self) -> None:
        self.handle.close()


def open_writer(fmt: str, path: Path, watermark: Watermark, headers: list[str]) -> SheetWriter:
    return XlsxWriter(path, watermark, headers) if fmt == "xlsx" else CsvWriter(path, watermark, headers)

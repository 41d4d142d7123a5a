"""Making the file: the asked columns only, the requester's scope, no formula, the watermark."""

from __future__ import annotations

import pytest
from django.utils import timezone

from registru.exports.models import ExportRow, ExportStatus
from registru.exports.services.requests import file_path
from registru.exports.tests.conftest import HEADER_ROW, ask, made, rows_of, xlsx_part
from registru.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


def _data_rows(export):
    real = set(ExportRow.objects.filter(request=export, canary=False).values_list("code", flat=True))
    return [row for row in rows_of(export)[HEADER_ROW + 1 :] if row[-1] in real]


def test_it_writes_exactly_the_asked_columns_and_the_marker(cast) -> None:
    export = made(ask(cast.alice, fields=["family_name", "job_title"]))
    assert export.status == ExportStatus.READY
    assert rows_of(export)[HEADER_ROW] == ["Family name", "Job title", "Ref"]


def test_it_holds_only_the_requesters_scope(cast) -> None:
    mine = PersonFactory(owner=cast.alice, family_name="Alicescu")
    export = made(ask(cast.alice, fields=["id", "family_name"]))
    exported = {int(float(row[0])) for row in _data_rows(export)}
    assert exported == {cast.alice_person.pk, mine.pk}
    assert export.row_count == 2


def test_it_leaves_out_erased_people(cast) -> None:
    from django.core.exceptions import ValidationError

    from registru.people import services as people

    gone = PersonFactory(owner=cast.alice)
    people.erase_person(gone, actor=cast.dora, reason="Art. 17")
    with pytest.raises(ValidationError):
        ask(cast.alice, fields=["id"], archived=True)  # the erased person is the only archived one


def test_it_leaves_out_people_whose_processing_is_restricted(cast) -> None:
    from registru.people import services as people

    kept = PersonFactory(owner=cast.alice, family_name="Alicescu")
    people.restrict_processing(cast.alice_person, actor=cast.dora, ground="legal_claims", reason="proces în curs")
    export = made(ask(cast.alice, fields=["id", "family_name"]))
    assert {int(float(row[0])) for row in _data_rows(export)} == {kept.pk}


def test_it_never_exports_more_than_the_approved_count(cast) -> None:
    export = ask(cast.alice, fields=["id"])
    PersonFactory(owner=cast.alice)
    export = made(export)
    assert (export.row_count, export.capped_at) == (1, 2)


def test_it_records_the_file_hash_and_rows(cast) -> None:
    import hashlib

    export = made(ask(cast.alice))
    assert export.sha256 == hashlib.sha256(file_path(export).read_bytes()).hexdigest()
    assert (export.progress_done, export.progress_total) == (1, 1)


FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(1)", "\tx", "\rx"]


def _person_with(owner, text):
    """The services strip whitespace; an import or an old row may still hold it."""
    from django.db import transaction

    from registru.core.context import service_scope
    from registru.people.models import Person

    person = PersonFactory(owner=owner)
    with transaction.atomic(), service_scope():
        Person.objects.filter(pk=person.pk).update(job_title=text, given_name=text)
    return person


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_it_neutralises_formulas(cast, fmt, settings) -> None:
    settings.EXPORT_APPROVAL_THRESHOLD = 50
    for text in FORMULAS:
        _person_with(cast.alice, text)
    export = made(ask(cast.alice, fields=["given_name", "job_title"], fmt=fmt))
    titles = sorted(row[1] for row in _data_rows(export) if row[1])
    if fmt == "csv":  # no cell formats: an apostrophe in front
        assert titles == sorted("'" + text for text in FORMULAS)
        assert all(not row[0].startswith(("=", "+", "-", "@")) for row in _data_rows(export))
    else:  # the value as it is, in a cell marked "quote prefix", written as text
        assert titles == sorted(FORMULAS)
        assert 'quotePrefix="1"' in xlsx_part(file_path(export), "xl/styles.xml")
        sheet = xlsx_part(file_path(export), "xl/worksheets/sheet1.xml")
        assert sheet.count('t="inlineStr"') >= 2 * len(FORMULAS)  # strings, never formulas
    assert all(isinstance(row[0], str) for row in _data_rows(export))


def test_the_xlsx_holds_no_formula_element(cast, settings) -> None:
    settings.EXPORT_APPROVAL_THRESHOLD = 50
    for text in FORMULAS:
        _person_with(cast.alice, text)
    export = made(ask(cast.alice, fields=["job_title"]))
    assert "<f>" not in xlsx_part(file_path(export), "xl/worksheets/sheet1.xml")
    assert "<f " not in xlsx_part(file_path(export), "xl/worksheets/sheet1.xml")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_first_row_names_requester_request_and_time(cast, fmt) -> None:
    export = made(ask(cast.alice, fmt=fmt))
    first = rows_of(export)[0][0]
    assert f"Export #{export.pk}" in first
    assert "Alice Anghel (alice)" in first
    assert export.generated_at is not None
    assert timezone.localtime(export.generated_at).strftime("%Y-%m-%d %H:%M") in first


def test_the_xlsx_properties_carry_the_watermark(cast) -> None:
    export = made(ask(cast.alice))
    core = xlsx_part(file_path(export), "docProps/core.xml")
    custom = xlsx_part(file_path(export), "docProps/custom.xml")
    assert "Alice Anghel (alice)" in core
    assert f"Registru export #{export.pk}" in core
    assert f"<vt:lpwstr>{export.pk}</vt:lpwstr>" in custom


def test_the_csv_starts_with_a_byte_order_mark(cast) -> None:
    export = made(ask(cast.alice, fmt="csv"))
    assert file_path(export).read_bytes().startswith(b"\xef\xbb\xbf")


def test_it_mixes_in_a_canary_row(cast) -> None:
    export = made(ask(cast.alice))
    assert ExportRow.objects.filter(request=export, canary=True).count() == 1
    assert len(rows_of(export)) == HEADER_ROW + 1 + 2

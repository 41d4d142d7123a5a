"""``dumpdata`` refuses personal data, the trail and the keys: they leave Registru only through
its procedures. Other models still dump."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from registru.consent.models import Purpose

pytestmark = pytest.mark.django_db


def dump(*labels: str, **options: object) -> str:
    out = io.StringIO()
    call_command("dumpdata", *labels, stdout=out, **options)
    return out.getvalue()


@pytest.mark.parametrize("label", ["people", "people.person", "audit", "audit.auditevent", "vault", "mail"])
def test_it_refuses_personal_data_the_trail_and_the_keys(cast, label: str) -> None:
    with pytest.raises(CommandError, match="export procedure") as refused:
        dump(label)
    assert refused.value.returncode == 2


def test_it_refuses_everything_at_once_too(cast) -> None:
    with pytest.raises(CommandError, match=r"people\.Person"):
        dump()


def test_it_prints_nothing_of_a_person_when_it_refuses(cast, capsys) -> None:
    with pytest.raises(CommandError):
        dump("people")
    assert "Ștefănescu" not in capsys.readouterr().out


def test_it_still_dumps_a_model_that_holds_no_personal_data(cast) -> None:
    Purpose.objects.create(code="newsletter", name_ro="Buletin", name_en="Newsletter", channels=["email"])
    assert [row["fields"]["code"] for row in json.loads(dump("consent.purpose"))] == ["newsletter"]


def test_leaving_the_personal_models_out_dumps_the_rest(cast) -> None:
    Purpose.objects.create(code="events", name_ro="Evenimente", name_en="Events", channels=["email"])
    rows = json.loads(dump("consent", exclude=["consent.consent", "consent.consentevent"]))
    assert {row["model"] for row in rows} >= {"consent.purpose"}

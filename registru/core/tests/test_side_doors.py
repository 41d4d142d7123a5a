"""No side doors: nothing shows or writes personal data outside the scoped, audited paths."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client

from registru.core.models import GuardedModel
from registru.core.pii import personal_data_models, unclassified_fields

pytestmark = pytest.mark.django_db


def test_it_does_not_install_the_django_admin() -> None:
    # If the admin is ever enabled for configuration, it must register no personal-data model.
    if "django.contrib.admin" in settings.INSTALLED_APPS:
        from django.contrib import admin

        assert not set(admin.site._registry) & set(personal_data_models())


def test_it_classifies_every_field_of_every_personal_data_model() -> None:
    models = personal_data_models()
    assert {m._meta.label for m in models} >= {
        "people.Person",
        "people.Organization",
        "people.Affiliation",
        "people.Note",
    }
    assert {m._meta.label: unclassified_fields(m) for m in models} == {m._meta.label: [] for m in models}


def test_it_guards_every_model_that_declares_personal_data() -> None:
    assert [m._meta.label for m in personal_data_models() if not issubclass(m, GuardedModel)] == []


def test_it_notices_an_unclassified_field() -> None:
    class Fake:
        PII = {"id": "none"}

        class _meta:  # noqa: N801
            concrete_fields = [type("F", (), {"name": "id"}), type("F", (), {"name": "nickname"})]

    assert unclassified_fields(Fake) == ["nickname"]  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["/people/", "/organizations/", "/account/", "/api/v1/people", "/api/v1/organizations"])
def test_it_shows_nothing_to_anonymous_visitors(cast, url: str) -> None:
    response = Client().get(url)
    assert response.status_code in (302, 401)
    assert cast.alice_person.family_name.encode() not in response.content


def test_every_app_model_is_either_personal_data_or_known_to_hold_none() -> None:
    known_without_pii = {
        "accounts.Team", "accounts.User", "accounts.ApiToken", "audit.AuditEvent", "audit.AuditBatch",
        "audit.AuditCheckpoint", "audit.AuditPrune", "audit.TrailVerification", "vault.Keyring", "vault.PersonKey",
        "consent.Purpose", "consent.Notice",
        # What a campaign or mailing asks and whom it selects (a filter, not the people).
        "campaigns.Campaign", "campaigns.Mailing", "questionnaires.Questionnaire", "questionnaires.Question",
        # Access control: policies, and references to people by id (no values of theirs).
        "accounts.RolePolicy", "accounts.AccessRequest", "accounts.ViewedPerson", "accounts.ViewAlert",
        "accounts.ViewBlock",
        # Staff's own security records (devices, IP addresses), kept for the security log.
        "accounts.DeviceSession",
        # Export requests, downloads, row fingerprints: ids, codes, keyed digests (search text sealed).
        "exports.ExportRequest", "exports.ExportDownload", "exports.ExportRow",
    }  # fmt: skip
    ours = [m for m in apps.get_models() if m.__module__.startswith("registru.")]
    unaccounted = {m._meta.label for m in ours} - {m._meta.label for m in personal_data_models()} - known_without_pii
    assert unaccounted == set()

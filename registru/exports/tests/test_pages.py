"""The export pages and the export register."""

from __future__ import annotations

import pytest

from registru.audit.models import AuditEvent
from registru.exports.models import ExportRequest, ExportStatus
from registru.exports.tests.conftest import ask, made

pytestmark = pytest.mark.django_db


def test_the_people_list_filter_can_be_posted_to_the_new_export_form(cast, client_for) -> None:
    response = client_for(cast.alice).post("/exports/new/", {"q": "Ștefănescu", "status": "active"})
    assert response.status_code == 200
    assert b"1 person in your scope matches" in response.content
    assert not ExportRequest.objects.exists()


def test_it_asks_for_an_export_from_the_form(cast, client_for) -> None:
    data = {"q": "", "purpose": "Ofertă de reînnoire", "format": "csv", "columns": ["given_name", "emails"]}
    response = client_for(cast.alice).post("/exports/new/", data)
    export = ExportRequest.objects.get()
    assert response.status_code == 302
    assert (export.fields, export.format, export.status) == (["given_name", "emails"], "csv", ExportStatus.APPROVED)


def test_the_form_refuses_roles_without_the_permission(cast, client_for) -> None:
    assert client_for(cast.mara).get("/exports/new/").status_code == 403
    assert AuditEvent.objects.filter(action="security.access_denied", actor_id=cast.mara.pk).exists()


def test_the_pages_answer(cast, client_for) -> None:
    export = made(ask(cast.alice))
    alice = client_for(cast.alice)
    for url in ("/exports/", f"/exports/{export.pk}/", f"/exports/{export.pk}/progress/"):
        assert alice.get(url).status_code == 200
    assert client_for(cast.bob).get("/exports/approvals/").status_code == 200
    assert client_for(cast.carol).get(f"/exports/{export.pk}/").status_code == 404


def test_an_approver_decides_on_the_page(cast, client_for, settings) -> None:
    settings.EXPORT_APPROVAL_THRESHOLD = 0
    export = ask(cast.alice)
    client_for(cast.bob).post(f"/exports/{export.pk}/approve/", {"note": "ok"})
    assert ExportRequest.objects.get(pk=export.pk).status == ExportStatus.APPROVED


@pytest.mark.parametrize(("language", "quoted"), [("ro", "„Ștefănescu”"), ("en", "“Ștefănescu”")])
def test_the_page_quotes_the_search_and_the_note_as_its_language_does(
    cast, client_for, settings, language, quoted
) -> None:
    settings.EXPORT_APPROVAL_THRESHOLD = 0
    export = ask(cast.alice, query="Ștefănescu")
    client_for(cast.bob).post(f"/exports/{export.pk}/approve/", {"note": "Ștefănescu"})
    page = client_for(cast.alice).get(f"/exports/{export.pk}/", headers={"accept-language": language}).content.decode()
    assert page.count(quoted) == 2  # the search term, and the approver's note


def test_the_register_lists_request_decision_hash_rows_and_downloads(cast, client_for, settings) -> None:
    settings.EXPORT_APPROVAL_THRESHOLD = 0
    from registru.exports import services

    export = made(services.approve_export(ask(cast.alice), actor=cast.bob))
    client_for(cast.alice).get(f"/exports/{export.pk}/download/")
    page = client_for(cast.dora).get("/exports/register/").content.decode()
    assert "Alice Anghel (alice)" in page
    assert "Bob Barbu (bob)" in page
    assert export.sha256[:10] in page
    assert "alice" in page
    csv_text = client_for(cast.dora).get("/exports/register/csv/").content.decode("utf-8-sig")
    line = csv_text.splitlines()[1]
    assert export.sha256 in line
    assert "Bob Barbu (bob)" in line
    assert ",1," in line
    assert AuditEvent.objects.filter(action="export.register_exported", actor_id=cast.dora.pk).exists()


@pytest.mark.parametrize("who", ["alice", "bob", "admin", "audra"])
def test_only_the_dpo_reads_and_exports_the_register(cast, client_for, who) -> None:
    client = client_for(getattr(cast, who))
    assert client.get("/exports/register/").status_code == 403
    assert client.get("/exports/register/csv/").status_code == 403


def test_the_nav_offers_exports_to_those_who_may(cast, client_for) -> None:
    assert b'href="/exports/"' in client_for(cast.alice).get("/exports/").content
    assert b"/exports/" not in client_for(cast.audra).get("/audit/").content


def test_the_register_names_the_fields_as_the_form_does(cast, client_for) -> None:
    ask(cast.alice, fields=["given_name", "emails"])
    page = client_for(cast.dora).get("/exports/register/", headers={"accept-language": "ro"}).content.decode()
    assert "<td>Prenume, Adrese de e-mail</td>" in page


def test_the_pages_show_the_downloads_against_their_limit(cast, client_for, settings) -> None:
    settings.EXPORT_MAX_DOWNLOADS = 3
    export = made(ask(cast.alice))
    alice = client_for(cast.alice)
    alice.get(f"/exports/{export.pk}/download/")
    alice.get(f"/exports/{export.pk}/download/")
    assert "Downloads: 2 of 3." in alice.get(f"/exports/{export.pk}/").content.decode()
    assert "Downloads: 2 of 3." in alice.get("/exports/").content.decode()
    assert "2 of 3<br>alice" in client_for(cast.dora).get("/exports/register/").content.decode()

"""Search by name, email, phone or employer, from the index, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registru.core.pagination import Sort
from registru.people import services
from registru.people.models import Person, SearchWord
from registru.people.search import normalize
from registru.people.selectors import PeopleFilter, filter_people, list_people
from registru.testing.factories import SETUP, PersonFactory

pytestmark = pytest.mark.django_db


def found(user, query: str) -> set[str]:
    return set(filter_people(user, PeopleFilter(query=query)).values_list("family_name", flat=True))


@pytest.fixture
def people(cast):
    PersonFactory(
        given_name="Ștefan",
        family_name="Țăranu",
        emails=["stefan@agro-baragan.ro"],
        phones=["0722 111 222"],
        owner=cast.dora,
    )
    PersonFactory(
        given_name="Ana",
        family_name="Popa",
        emails=["ana.popa@firma.ro"],
        phones=["+49 40 1234567"],
        owner=cast.dora,
    )
    PersonFactory(
        given_name="Ana",
        family_name="Popovici",
        emails=["contact@100%_real.ro".replace("%_", "")],
        owner=cast.dora,
    )
    return cast


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("taranu", {"Țăranu"}),
        ("ȚĂRANU", {"Țăranu"}),
        ("stefan taranu", {"Țăranu"}),
        ("popa", {"Popa"}),
        ("pop", {"Popa", "Popovici"}),
        ("agro-baragan", {"Țăranu"}),
        ("0722 111 222", {"Țăranu"}),
        ("0722111222", {"Țăranu"}),
        ("+40 722 111 222", {"Țăranu"}),
        ("1234567", {"Popa"}),
        ("mureșul", {"Ștefănescu"}),  # the employer's name
        ("po", {"Popa", "Popovici"}),  # too short for trigrams: a family-name prefix
        ("nimeni", set()),
    ],
)
def test_it_finds_people(people, query: str, expected: set[str]) -> None:
    assert found(people.dora, query) == expected


@pytest.mark.parametrize(
    "query",
    ['"', "pop AND", "pop OR ana", "NEAR(pop)", "pop*", "%", "_", "\\", "100%", "a'b", "'; DROP TABLE x; --"],
)
def test_it_treats_operators_and_wildcards_as_plain_text(people, query: str) -> None:
    assert found(people.dora, query) <= {"Popa", "Popovici", "Țăranu", "Ștefănescu", "Rădulescu", "Țurcanu"}
    if "%" in query or query == "_":
        assert found(people.dora, query) == set()


def test_it_searches_only_within_the_users_scope(people) -> None:
    assert found(people.alice, "a") <= {"Ștefănescu"}
    assert found(people.alice, "turcanu") == set()


def test_it_follows_an_employer_rename(people) -> None:
    services.update_organization(people.alice_org, {"name": "Textile Ardeal SA"}, actor=SETUP)
    assert found(people.dora, "ardeal") == {"Ștefănescu"}
    assert found(people.dora, "muresul") == set()


def test_it_forgets_an_employer_when_the_affiliation_ends(people) -> None:
    [affiliation] = people.alice_person.affiliations.all()
    services.update_affiliation(affiliation, {"since": "2015-01-01", "until": "2016-01-01"}, actor=SETUP)
    assert found(people.dora, "muresul") == set()


def test_it_follows_a_contact_change(people) -> None:
    person = Person.objects.get(family_name="Popa")
    services.update_person(person, {"emails": ["noua@adresa.ro"]}, actor=SETUP)
    assert found(people.dora, "adresa.ro") == {"Popa"}
    assert found(people.dora, "ana.popa@firma") == set()


def test_it_normalises_case_and_diacritics() -> None:
    assert normalize("  Ștefănescu-Țurcanu  ÎNCEPE ") == "stefanescu-turcanu incepe"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=40))
def test_it_never_fails_on_arbitrary_text(people, text: str) -> None:
    found(people.dora, text)


@pytest.mark.parametrize("typo", ["popsecu", "popescuu", "popecsu", "pqpescu", "ppescu"])
def test_it_corrects_a_one_letter_typo_when_nothing_matches(cast, typo: str) -> None:
    PersonFactory(given_name="Ana", family_name="Popescu", owner=cast.dora)
    page = list_people(cast.dora, PeopleFilter(query=f"ana {typo}"))
    assert [p.family_name for p in page.items] == ["Popescu"]
    assert page.corrected_query == "ana popescu"


def test_it_does_not_correct_a_search_that_found_someone(people) -> None:
    page = list_people(people.dora, PeopleFilter(query="popa"))
    assert page.corrected_query is None
    assert [p.family_name for p in page.items] == ["Popa"]


def test_it_forgets_a_word_nobody_has_any_more(people) -> None:
    person = Person.objects.get(family_name="Țăranu")
    services.update_person(person, {"family_name": "Lungu"}, actor=SETUP)
    assert not SearchWord.objects.filter(word="taranu").exists()
    assert SearchWord.objects.get(word="lungu").people == 1
    assert list_people(people.dora, PeopleFilter(query="taranu")).items == []


def test_it_counts_a_word_once_per_person(people) -> None:
    assert SearchWord.objects.get(word="ana").people == 2


def test_it_offers_the_corrected_search_through_the_api(people, api_for) -> None:
    import json

    body = json.dumps({"q": "tarany"})
    page = api_for(people.dora).post("/api/v1/people/search", data=body, content_type="application/json").json()
    assert page["corrected_query"] == "taranu"
    assert [item["family_name"] for item in page["items"]] == ["Țăranu"]


def test_the_rebuild_command_recreates_the_index_and_vocabulary(people) -> None:
    import io

    from django.core.management import call_command

    words = dict(SearchWord.objects.values_list("word", "people"))
    out = io.StringIO()
    call_command("search", "rebuild", stdout=out)
    assert "people indexed" in out.getvalue()
    assert dict(SearchWord.objects.values_list("word", "people")) == words
    assert found(people.dora, "taranu") == {"Țăranu"}


def test_a_search_with_typos_asks_the_vocabulary_once(cast) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    PersonFactory(given_name="Ana", family_name="Popescu", owner=cast.dora)
    with CaptureQueriesContext(connection) as queries:
        page = list_people(cast.dora, PeopleFilter(query="anna popsecu"))
    assert page.corrected_query == "ana popescu"
    assert sum("people_searchword" in query["sql"] for query in queries.captured_queries) == 1


def test_a_search_that_matches_nothing_reads_no_list(people) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page = list_people(people.dora, PeopleFilter(query="zqxwvk"))
    assert page.items == []
    # The index said nobody: no page of people is read, and nothing is left to correct.
    statements = [query["sql"] for query in queries.captured_queries]
    assert not any('people_person"' in sql and ("json_each" in sql or "unnest" in sql) for sql in statements)
    assert sum("people_searchword" in sql for sql in statements) == 1


def test_it_prefers_a_swapped_letter_to_a_wrong_one(cast) -> None:
    # "tarnau" is two letters swapped in "taranu" and one wrong letter in "tarnai": the swap is
    # the likelier slip, though more people are called Tarnai.
    for _ in range(3):
        PersonFactory(given_name="Ion", family_name="Tarnai", owner=cast.dora)
    PersonFactory(given_name="Ana", family_name="Taranu", owner=cast.dora)
    page = list_people(cast.dora, PeopleFilter(query="tarnau"))
    assert page.corrected_query == "taranu"


def test_it_offers_the_next_correction_when_the_likeliest_finds_nobody_in_scope(people) -> None:
    # Three people outside Alice's scope are called Lungu, one in it Lunga: both are a wrong
    # letter away from "lungx", Lungu the likelier, but Alice may not see them.
    for _ in range(3):
        PersonFactory(given_name="Ion", family_name="Lungu", owner=people.dora)
    PersonFactory(given_name="Ana", family_name="Lunga", owner=people.alice)
    page = list_people(people.alice, PeopleFilter(query="lungx"))
    assert page.corrected_query == "lunga"
    assert [p.family_name for p in page.items] == ["Lunga"]
    assert list_people(people.dora, PeopleFilter(query="lungx")).corrected_query == "lungu"


def index_state() -> tuple[dict, dict, dict]:
    """Documents, vocabulary and (on SQLite) FTS5 rows, as the index holds them now."""
    from django.db import connection

    from registru.people.models import PersonSearchDocument

    rows = PersonSearchDocument.objects.values_list("person_id", "document", "words", "sort_key")
    documents = {row[0]: row[1:] for row in rows}
    words = dict(SearchWord.objects.values_list("word", "people"))
    fts = {}
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT rowid, document FROM people_search_fts")
            fts = dict(cursor.fetchall())
    return documents, words, fts


def test_the_services_keep_the_index_exactly_as_a_full_rebuild_makes_it(cast) -> None:
    """Creates index a new person without reading anything back, and updates rebuild from the
    values just written: the result must equal rebuilding every document from the rows."""
    import io

    from django.core.management import call_command

    ana = services.create_person(
        {"given_name": "Ana", "family_name": "Ionescu", "emails": ["ana@firma.ro"], "phones": ["0722 123 456"]},
        actor=SETUP,
    )
    services.create_person({"given_name": "Ioana", "family_name": "Ionescu"}, actor=SETUP)
    mihai = services.create_person(
        {"given_name": "Mihai", "family_name": "Ștefănescu", "emails": ["m@x.ro"]}, actor=SETUP
    )
    services.update_person(ana, {"family_name": "Popescu", "phones": ["+40 744 000 111"]}, actor=SETUP)
    services.erase_person(mihai, actor=SETUP, reason="Cerere de ștergere")
    services.update_person(ana, {"emails": ["ana.popescu@firma.ro"], "job_title": "Jurist"}, actor=SETUP)
    incremental = index_state()
    documents, words, _fts = incremental
    assert documents
    assert words
    # The documents' copy of the name order is the people's own (the walk lists by it).
    assert {pk: document[2] for pk, document in documents.items()} == dict(Person.objects.values_list("pk", "sort_key"))

    call_command("search", "rebuild", stdout=io.StringIO())
    assert incremental == index_state()


def test_a_term_the_sample_shows_common_is_not_probed_in_the_index_and_still_found_exactly(cast, monkeypatch) -> None:
    """A term that many of the sampled documents hold is listed by walking the names, without
    asking the index for its first matches; a rare one is still asked for. Both exact."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from registru.people import search

    probe = "people_search_fts MATCH" if connection.vendor == "sqlite" else "WHERE document LIKE"
    # A data set of a few dozen people: the thresholds scaled down to it.
    monkeypatch.setattr(search, "COMMON_SAMPLE_FACTOR", 0.1)
    monkeypatch.setattr(search, "MIN_COMMON_HITS", 2)
    monkeypatch.setattr(search, "DENSE_SHARE", 0.0)
    monkeypatch.setattr(search, "FEWEST_MANY", 1)
    # The sample spreads over the ids up to the highest; PostgreSQL's sequences do not roll back
    # with each test, so this test's few people may sit anywhere: sample every one of them.
    monkeypatch.setattr(search, "_sample_ids", lambda top_id: list(Person.objects.values_list("pk", flat=True)))
    search._people_estimates.clear()
    expected = {
        PersonFactory(family_name=f"Acme{i}", emails=[f"p{i}@acme-grup.ro"], owner=cast.dora).pk for i in range(12)
    }
    PersonFactory(family_name="Rar", emails=["unic@rar-firma.ro"], owner=cast.dora)

    with CaptureQueriesContext(connection) as common:
        page = list_people(cast.dora, PeopleFilter(query="@acme-grup.ro"), limit=50)
    assert {person.pk for person in page.items} == expected
    assert not any(probe in query["sql"] for query in common.captured_queries)

    with CaptureQueriesContext(connection) as rare:
        page = list_people(cast.dora, PeopleFilter(query="@rar-firma.ro"), limit=50)
    assert [person.family_name for person in page.items] == ["Rar"]
    assert any(probe in query["sql"] for query in rare.captured_queries)


@pytest.mark.parametrize("way", ["walk", "collect", "scope"])
def test_an_agent_searching_a_common_term_finds_exactly_their_own_matches_whichever_way(
    cast, monkeypatch, way: str
) -> None:
    """A narrow list (an agent's) and a common term: the people are found by walking the list
    and testing each, by collecting every match of the term and keeping the agent's, or by
    reading the agent's scope through its indexes and testing each, as the cost model chooses.
    Every way gives the same people, paged the same way both ways, and none of the matches
    outside the agent's scope (a former employee of her organization among them)."""
    from datetime import date

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from registru.people import search
    from registru.people.services import related

    monkeypatch.setattr(search, "COMMON_SAMPLE_FACTOR", 0.1)
    monkeypatch.setattr(search, "MIN_COMMON_HITS", 2)
    monkeypatch.setattr(search, "FEWEST_MANY", 1)
    monkeypatch.setattr(search, "DENSE_SHARE", 1.1)  # every list is a narrow one here
    monkeypatch.setattr(search, "_sample_ids", lambda top_id: list(Person.objects.values_list("pk", flat=True)))
    asked: list[tuple] = []

    def choose(*args: object, **costs: float) -> str:
        asked.append(args)
        return way

    monkeypatch.setattr(search, "_narrow_way", choose)
    search._people_estimates.clear()
    own = [PersonFactory(family_name=f"Acme{i}", emails=[f"p{i}@acme-grup.ro"], owner=cast.alice) for i in range(5)]
    own.append(PersonFactory(family_name="Angajat", emails=["ang@acme-grup.ro"], employer=cast.alice_org))
    for i in range(12):
        PersonFactory(family_name=f"Alt{i}", emails=[f"q{i}@acme-grup.ro"], owner=cast.dora)
    PersonFactory(family_name="Acmeist", emails=["pop@alt.ro"], owner=cast.alice)
    former = PersonFactory(family_name="Fost", emails=["fost@acme-grup.ro"], owner=cast.dora)
    related.create_affiliation(
        former, cast.alice_org, {"since": date(2020, 1, 1), "until": date(2021, 1, 1)}, actor=SETUP
    )
    archived = PersonFactory(family_name="Arhivat", emails=["arh@acme-grup.ro"], owner=cast.alice)
    services.archive_person(archived, actor=SETUP)  # in her scope, not in her list

    with CaptureQueriesContext(connection) as captured:
        page = list_people(cast.alice, PeopleFilter(query="@acme-grup.ro"), limit=50)
    expected = [person.pk for person in sorted(own, key=lambda person: (person.sort_key, person.pk))]
    assert [person.pk for person in page.items] == expected
    assert asked, "the cost model was not asked"
    statements = [query["sql"] for query in captured.captured_queries]
    collecting = "people_search_fts MATCH" if connection.vendor == "sqlite" else "WITH matches AS MATERIALIZED"
    assert any(collecting in sql for sql in statements) is (way == "collect")
    assert any("UNION ALL" in sql and "LIMIT" in sql for sql in statements) is (way == "scope")
    assert _pages(cast.alice, "@acme-grup.ro", "name", 2) == (expected, expected)


def test_a_narrow_list_finds_a_common_term_in_the_way_that_reads_least() -> None:
    """The cost model's own examples: a sales agent's 1 % of a million people."""
    from registru.people.search import _narrow_way

    million = 1_000_000
    costs = {"walk_cost": 1.0, "scope_cost": 2.0}
    # An email domain every eighth person has: 21,000 walked, 120,000 collected, 20,000 for the scope.
    assert _narrow_way(0.01, 0.12, 0.01, million, **costs) == "scope"
    assert _narrow_way(0.01, 0.12, None, million, **costs) == "walk"  # no scope offered: a DPO's filter
    assert _narrow_way(0.01, 0.03, None, million, **costs) == "collect"  # 83,000 walked against 30,000
    assert _narrow_way(0.01, 0.5, 0.01, million, **costs) == "walk"  # 5,000 walked
    assert _narrow_way(0.0, 0.5, None, million, **costs) == "collect"  # the sample saw nobody of the list
    assert _narrow_way(0.01, 0.12, 0.3, million, **costs) == "walk"  # a manager's wide team behind a filter


@pytest.fixture
def walked(monkeypatch):
    """Searches answered by walking the list in name order, whatever their number of matches
    (on a few dozen people every search would otherwise collect and sort its matches)."""
    from registru.people import search

    monkeypatch.setattr(search, "WALK_COST_RATIO", {"sqlite": 1e-9, "postgresql": 1e-9})
    monkeypatch.setattr(search, "DOCUMENT_WALK_COST_RATIO", {"sqlite": 1e-9})
    monkeypatch.setattr(search, "FEWEST_MANY", 1)
    monkeypatch.setattr(search, "DENSE_SHARE", 0.0)
    search._people_estimates.clear()


def _pages(user, query: str, sort: str, limit: int) -> tuple[list[int], list[int]]:
    """Every page of a search forwards, then every page back from the last: the ids in order."""
    forwards, cursor, pages = [], None, []
    while True:
        page = list_people(user, PeopleFilter(query=query), sort=sort, cursor=cursor, limit=limit)
        pages.append(page)
        forwards += [person.pk for person in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    backwards, cursor = [person.pk for person in pages[-1].items], pages[-1].previous_cursor
    while cursor:
        page = list_people(user, PeopleFilter(query=query), sort=sort, cursor=cursor, limit=limit)
        backwards = [person.pk for person in page.items] + backwards
        cursor = page.previous_cursor
    return forwards, backwards


ORDERS = {"name": ("sort_key", False), "-name": ("sort_key", True), "newest": ("created_at", True)}


@pytest.mark.parametrize("sort", list(ORDERS))
def test_a_walk_pages_exactly_both_ways(cast, walked, sort: str) -> None:
    """A walk by name lists by the documents' copy of the name order, another by the person's
    own column; ties by id, archived people left out, forwards and back: the same list as
    sorting the matches."""
    names = ["Ionescu", "Ionescu", "Ionescu", "Ăvram", "Avram", "Zamfir", "Ștefan", "Stan", "Bălan", "Ionescu"]
    matching = [
        PersonFactory(given_name="Ana", family_name=family, emails=[f"p{i}@acme-grup.ro"], owner=cast.dora)
        for i, family in enumerate(names * 2)
    ]
    for person in matching[:3]:
        services.archive_person(person, actor=SETUP)
    PersonFactory(family_name="Ionescu", emails=["alt@alta-firma.ro"], owner=cast.dora)
    field, descending = ORDERS[sort]
    listed = sorted(matching[3:], key=lambda person: (getattr(person, field), person.pk), reverse=descending)
    expected = [person.pk for person in listed]

    forwards, backwards = _pages(cast.dora, "@acme-grup.ro", sort, limit=4)

    assert forwards == expected
    assert backwards == expected


def test_a_walk_on_sqlite_reads_the_covering_index_of_the_documents(cast, walked) -> None:
    """SQLite walks the documents' (sort key, person, document) index in order: no table row is
    read for a person whose document does not match, and nothing is sorted."""
    from django.db import connection

    from registru.people import search

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL walks the person's name index")
    for i in range(5):
        PersonFactory(family_name=f"Acme{i}", emails=[f"p{i}@acme-grup.ro"], owner=cast.dora)
    people = search.filter_people(Person.objects.filter(archived_at__isnull=True), "@acme-grup.ro")
    sort = search.walk_order(people, Sort("sort_key"))
    sql, params = people.order_by(*sort.order_by)[:26].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " / ".join(row[-1] for row in cursor.fetchall())

    assert "USING COVERING INDEX people_search_walk" in plan
    assert "TEMP B-TREE" not in plan
    # Listed in another order, no index would serve a join of the documents: none is made.
    newest = search.filter_people(Person.objects.all(), "@acme-grup.ro", by_name=False)
    assert "people_personsearchdocument" not in str(newest.order_by("-created_at", "-pk").query).split("WHERE")[0]


@pytest.mark.parametrize("sort", list(ORDERS))
def test_a_walk_lists_only_the_users_own_people(cast, walked, sort: str) -> None:
    """A walk tests the documents of the user's scoped list, not of everyone: an agent's
    search never shows another agent's people, whichever way it is answered."""
    own = {PersonFactory(family_name=f"Al{i}", emails=[f"a{i}@acme-grup.ro"], owner=cast.alice).pk for i in range(4)}
    for i in range(6):
        PersonFactory(family_name=f"Al{i}", emails=[f"d{i}@acme-grup.ro"], owner=cast.dora)

    forwards, backwards = _pages(cast.alice, "@acme-grup.ro", sort, limit=3)

    assert set(forwards) == own
    assert backwards == forwards


def test_migrate_puts_back_the_walk_index_a_table_rebuild_dropped() -> None:
    """SQLite drops a table's indexes when a migration rebuilds it; the covering index of the
    documents, unknown to Django's migration state, comes back with the next ``migrate``."""
    import io

    from django.core.management import call_command
    from django.db import connection

    from registru.people import search

    if connection.vendor != "sqlite":
        pytest.skip("the covering index exists on SQLite only")

    def present() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = %s", [search.WALK_INDEX])
            return cursor.fetchone()[0] == 1

    assert present()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {search.WALK_INDEX}")
    assert not present()

    call_command("migrate", verbosity=0, stdout=io.StringIO())

    assert present()

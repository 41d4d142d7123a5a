"""Finding people by name, email, phone or employer, fast on a million rows.

Each person has one normalised search document (lower case, no diacritics, phone numbers in
international and national digits, names of current employers). SQLite indexes it with an
FTS5 trigram table; PostgreSQL with a pg_trgm GIN index. Both answer substring queries from
the index; neither is ever asked to scan the table.

Results come in list order, which the index does not know. A term with few matches is
answered by taking every match from the index and sorting them; a term with many
("@gmail.com", "maria") by walking the list in its order and testing each row's document
until the page is full, which stops early where matches are dense, while sorting 300,000
matches would not. The index is asked for the first matches up to the point where the two
ways cost the same: if it has fewer, they are the answer; if not, the list is walked. A narrow
list (an agent's accounts, say) is different: there a walk mostly reads rows the user may not
see. For a common term it is walked, or the term's matches are collected, or the user's scope is
read through its own indexes and each person tested, whichever reads fewest rows
(``_narrow_way``). Matches of a name prefix ("pop", "popescu ana") are all found in one
range of the name order, so a list by name shows those first (``split_by_name``): a range
scan, however common the name.
"""

from __future__ import annotations

import json
import math
import re
import string
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Literal

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, ExpressionWrapper, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from registru.core.pagination import Sort
from registru.people.models import Person, PersonSearchDocument, SearchWord
from registru.people.scopes import current_affiliations

MIN_TRIGRAM = 3
MIN_CORRECTABLE = 4  # shorter words have too many one-letter neighbours to guess from
MAX_TERMS = 6
MAX_QUERY_LENGTH = 200
# Sorting costs every match once; a walk reads about 25 × people / matches rows to fill a page.
# The two cost the same at sqrt(25 × people × ratio) matches, where ratio is what a row walked
# costs over a match sorted, as measured on a million people (docs/benchmarks.md). A walk
# through a person index in the list's order, looking up each document, costs 1.4 (SQLite) and
# 1.2 (PostgreSQL) times a match sorted; SQLite's walk in name order through the covering index
# of the documents, 0.19 µs a row against 1.8 µs a match sorted.
WALK_COST_RATIO = {"sqlite": 1.4, "postgresql": 1.2}
DOCUMENT_WALK_COST_RATIO = {"sqlite": 0.11}
FEWEST_MANY = 200
# The walk pays only where most rows of the list are visible; the share is estimated from a
# sample of this many people.
DENSE_SHARE = 0.5
SHARE_SAMPLE = 200
# The same sample also tells a common term from a rare one (``_common_in_sample``).
COMMON_SAMPLE_FACTOR = 4
PAGE_ROWS = 25  # what a walk fills before it stops (the cost model's page)
# A person of a narrow scope read through the scope's indexes and tested, over a match collected
# (a sales agent's 9,892 people of a million: 85 ms on SQLite, 190-220 ms on PostgreSQL).
SCOPE_ROW_COST = {"sqlite": 1.4, "postgresql": 2.0}
MIN_COMMON_HITS = 5
IDS_SQL = "WITH ids AS MATERIALIZED (SELECT unnest(%s::bigint[]) AS id) SELECT id FROM ids"
WORD_RE = re.compile(r"[a-z0-9]{3,100}")
MATCHES_SQL = (
    "WITH matches AS MATERIALIZED (SELECT person_id FROM people_personsearchdocument "
    "WHERE {conditions}) SELECT person_id FROM matches"
)


def normalize(text: str) -> str:
    """Lower case without diacritics: "Ștefănescu" and "stefanescu" are found alike."""
    decomposed = unicodedata.normalize("NFKD", text)
    # Combining marks go (diacritics); so do control characters and lone surrogates, which
    # no name contains and which SQLite and PostgreSQL refuse in a query string.
    stripped = "".join(
        char
        for char in decomposed
        if not unicodedata.combining(char) and unicodedata.category(char) not in ("Cc", "Cs")
    )
    return " ".join(stripped.casefold().split())


def _phone_forms(phone: str) -> list[str]:
    digits = phone.lstrip("+")
    forms = [digits]
    if phone.startswith("+40"):
        forms.append("0" + digits[2:])  # how Romanians write their numbers: 0722...
    return forms


def document_for(person: Person, employers: Iterable[str]) -> str:
    parts = [person.given_name, person.family_name, *person.emails, *employers]
    for phone in person.phones:
        parts.extend(_phone_forms(phone))
    return normalize(" | ".join(part for part in parts if part))


def reindex(person_ids: Iterable[int]) -> None:
    """Rebuild the search documents of these people (called by services, in their transaction)."""
    ids = sorted(set(person_ids))
    if ids:
        people = Person.objects.filter(pk__in=ids).only("given_name", "family_name", "emails", "phones", "sort_key")
        _rebuild(ids, people)


def reindex_person(person: Person) -> None:
    """``reindex`` of one person whose current names, emails and phones the caller holds (a
    service that has just written them): the row is not read back."""
    _rebuild([person.pk], [person])


def index_new_person(person: Person) -> None:
    """The search document of a person created in this transaction. Such a person has no
    employer and no document yet, so ``reindex``'s reads and deletes (employers, the row, old
    words, the old document and FTS5 row) would find nothing: write the document and count its
    words, two statements (three on SQLite) instead of six (eight)."""
    document = _document(person, [])
    PersonSearchDocument.objects.bulk_create([document])
    if connection.vendor == "sqlite":
        _insert_fts([document])
    _count_words(Counter(document.words.split()))


def _document(person: Person, employers: list[str]) -> PersonSearchDocument:
    return PersonSearchDocument(
        person_id=person.pk,
        document=document_for(person, employers),
        words=" ".join(sorted(words_for(person, employers))),
        sort_key=person.sort_key,
    )


def _rebuild(ids: list[int], people: Iterable[Person]) -> None:
    employers: dict[int, list[str]] = defaultdict(list)
    for person_id, name in (
        current_affiliations().filter(person_id__in=ids).values_list("person_id", "organization__name")
    ):
        employers[person_id].append(name)
    documents = [_document(person, employers[person.pk]) for person in people]
    counts: Counter[str] = Counter()
    for words in PersonSearchDocument.objects.filter(person_id__in=ids).values_list("words", flat=True):
        counts.subtract(words.split())
    for document in documents:
        counts.update(document.words.split())
    PersonSearchDocument.objects.filter(person_id__in=ids).delete()
    PersonSearchDocument.objects.bulk_create(documents)
    if connection.vendor == "sqlite":
        _write_fts(ids, documents)
    _count_words(counts)


def clear_index() -> None:
    """Empty the search index and the vocabulary (before rebuilding them from scratch)."""
    PersonSearchDocument.objects.all().delete()
    SearchWord.objects.all().delete()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM people_search_fts")


def words_for(person: Person, employers: Iterable[str]) -> set[str]:
    """The words of a person's names and employers, as the typo correction knows them."""
    return set(WORD_RE.findall(normalize(" ".join([person.given_name, person.family_name, *employers]))))


def _write_fts(ids: list[int], documents: list[PersonSearchDocument]) -> None:
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM people_search_fts WHERE rowid IN ({placeholders})", ids)  # noqa: S608
    _insert_fts(documents)


def _insert_fts(documents: list[PersonSearchDocument]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO people_search_fts (rowid, document) VALUES (%s, %s)",
            [(document.person_id, document.document) for document in documents],
        )


def _count_words(delta: Counter[str]) -> None:
    """Apply changes to the vocabulary's counts, set-based; words no one has are deleted."""
    added = [(word, count) for word, count in delta.items() if count > 0]
    removed = [(-count, -count, word) for word, count in delta.items() if count < 0]
    with connection.cursor() as cursor:
        if added:
            cursor.executemany(
                "INSERT INTO people_searchword (word, people) VALUES (%s, %s) ON CONFLICT (word) "
                "DO UPDATE SET people = people_searchword.people + excluded.people",
                added,
            )
        if removed:
            cursor.executemany(
                "UPDATE people_searchword SET people = CASE WHEN people > %s THEN people - %s ELSE 0 END "
                "WHERE word = %s",
                removed,
            )
            SearchWord.objects.filter(word__in=[word for *_n, word in removed], people=0).delete()


def one_letter_variants(word: str) -> set[str]:
    """Every word one deletion, swap, replacement or insertion away (Norvig's corrector)."""
    letters = string.ascii_lowercase
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [left + right[1:] for left, right in splits if right]
    swaps = [left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1]
    replaces = [left + char + right[1:] for left, right in splits if right for char in letters]
    inserts = [left + char + right for left, right in splits for char in letters]
    return set(deletes + swaps + replaces + inserts)


# The noisy channel: a known word is as likely meant as it is common times the chance of the
# typed word being a slip of it. Per candidate, a dropped or swapped letter is likelier than one
# particular wrong or extra letter (one of 26), and people rarely get the first letter wrong.
SLIP_WEIGHT = {"omitted": 1.0, "swapped": 1.0, "replaced": 0.1, "added": 0.1}
FIRST_LETTER_WEIGHT = 0.1
MAX_CORRECTIONS = 2  # the likeliest corrected query, and one other if that finds nobody


def slips(word: str) -> dict[str, tuple[str, int]]:
    """The words one slip away from ``word``, each with how it was mistyped and where."""
    letters = string.ascii_lowercase
    found: dict[str, tuple[str, int]] = {}
    for i in range(len(word) + 1):
        left, right = word[:i], word[i:]
        if len(right) > 1:
            found.setdefault(left + right[1] + right[0] + right[2:], ("swapped", i))
        for char in letters:
            found.setdefault(left + char + right, ("omitted", i))
        if right:
            found.setdefault(left + right[1:], ("added", i))
            for char in letters:
                found.setdefault(left + char + right[1:], ("replaced", i))
    found.pop(word, None)
    return found


def _known_words(words: list[str]) -> dict[str, int]:
    """How many people have each of these words, for those someone has: one indexed lookup."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            sql = "SELECT word, people FROM people_searchword WHERE word IN (SELECT value FROM json_each(%s))"
            cursor.execute(sql, [json.dumps(words)])
        else:
            cursor.execute("SELECT word, people FROM people_searchword WHERE word = ANY(%s)", [words])
        return {word: people for word, people in cursor.fetchall() if people > 0}


def corrections(query: str, limit: int = MAX_CORRECTIONS) -> list[str]:
    """The query with its misspelt words replaced by the likeliest known words, likeliest first:
    the best guess, then the best guess with one word's runner-up (at most ``limit``).

    Every word of the query is looked up with its one-slip neighbours in one statement.
    """
    terms = terms_of(query)
    correctable = {term for term in terms if len(term) >= MIN_CORRECTABLE and term.isalpha()}
    if not correctable:
        return []
    neighbours = {term: slips(term) for term in correctable}
    wanted = set(correctable).union(*neighbours.values())
    known = _known_words(sorted(wanted))
    ranked: dict[str, list[tuple[float, str]]] = {}
    for term in correctable:
        if term in known:
            continue  # a real word: nothing to correct
        scored = []
        for word, (slip, position) in neighbours[term].items():
            if word in known:
                weight = SLIP_WEIGHT[slip] * (FIRST_LETTER_WEIGHT if position == 0 else 1.0)
                scored.append((known[word] * weight, word))
        if scored:
            ranked[term] = sorted(scored, reverse=True)
    if not ranked:
        return []
    best = [ranked[term][0][1] if term in ranked else term for term in terms]
    found = [" ".join(best)]
    # Runners-up, the closest to its word's best guess first.
    others = sorted(
        (options[1][0] / options[0][0], term, options[1][1])
        for term, options in ranked.items()
        if len(options) > 1 and options[0][0] > 0
    )
    for _ratio, term, word in reversed(others):
        if len(found) >= limit:
            break
        found.append(" ".join(word if t == term else b for t, b in zip(terms, best, strict=True)))
    return found[:limit]


def corrected_query(query: str) -> str | None:
    """The query with each misspelt word replaced by the likeliest known word, if any."""
    found = corrections(query, limit=1)
    return found[0] if found else None


def terms_of(query: str) -> list[str]:
    normalized = normalize(query[:MAX_QUERY_LENGTH])
    if re.fullmatch(r"[+\d][\d\s().\-/]*", normalized):
        # A phone number typed with spaces or dashes: search its digits as one term.
        digits = re.sub(r"\D", "", normalized)
        return [digits.lstrip("0") if len(digits) > MIN_TRIGRAM else digits]
    return normalized.split()[:MAX_TERMS]


def name_prefix_only(query: str) -> bool:
    """Whether ``query`` has only terms of one or two letters, which find the family names that
    begin with them (the name order's index) rather than matches anywhere in the documents."""
    terms = terms_of(query)
    return bool(terms) and all(len(term) < MIN_TRIGRAM for term in terms)


def sort_key_for(given_name: str, family_name: str) -> str:
    return normalize(f"{family_name} {given_name}")


# The user's scope as its policy writes it, and the same people's ids as a union of indexed
# queries (``scopes.people_ids_in_scope``); None when the scope is everyone. Made only when a
# search asks: the first estimates the scope's size from a sample, the second lists it.
type ScopeIds = Callable[[], tuple[QuerySet[Person], QuerySet[Any]] | None]


def filter_people(
    queryset: QuerySet[Person], query: str, *, by_name: bool = True, scope_ids: ScopeIds | None = None
) -> QuerySet[Person]:
    """Narrow ``queryset`` (already scoped) to the people matching ``query``; ``by_name``
    says whether the caller lists them by name (the order a walk can take on SQLite);
    ``scope_ids`` lets a search in a narrow scope start from the scope's people."""
    terms = terms_of(query)
    if not terms:
        return queryset
    long_terms = [term for term in terms if len(term) >= MIN_TRIGRAM]
    if not long_terms:
        # One or two letters: a name prefix, answered by the sort_key index.
        return queryset.filter(_name_starts_with(terms))
    return _matching(queryset, long_terms, by_name=by_name, scope_ids=scope_ids)


def _matching(
    queryset: QuerySet[Person], terms: list[str], *, by_name: bool, scope_ids: ScopeIds | None = None
) -> QuerySet[Person]:
    """The people of ``queryset`` matching every term, found in the way that costs least."""
    people = people_estimate()
    through_documents = by_name and connection.vendor in DOCUMENT_WALK_COST_RATIO
    ratio = (DOCUMENT_WALK_COST_RATIO if through_documents else WALK_COST_RATIO).get(connection.vendor, 1.0)
    many = max(FEWEST_MANY, round(math.sqrt(PAGE_ROWS * ratio * people)))
    term_share = _common_in_sample(terms, people, many)
    if term_share is None:
        found = first_matches(terms, many)
        if len(found) < many:
            # Nobody at all: a condition Django answers without asking the database.
            return queryset.filter(_among(found) if found else Q(pk__in=[]))
    list_share = share_of_people(queryset, people)
    if list_share >= DENSE_SHARE:
        return _walk_documents(queryset, terms) if through_documents else queryset.filter(_document_matches(terms))
    # A narrow list (an agent's own accounts, one organization's people): a rare term's
    # matches are collected; a common term's found in whichever way reads least.
    if term_share is not None:
        scope = scope_ids() if scope_ids is not None else None
        scope_share = share_of_people(scope[0], people) if scope is not None else None
        way = _narrow_way(
            list_share,
            term_share,
            scope_share,
            people,
            walk_cost=WALK_COST_RATIO[connection.vendor],
            scope_cost=SCOPE_ROW_COST[connection.vendor],
        )
        if way == "walk":
            return queryset.filter(_document_matches(terms))
        if way == "scope" and scope is not None:
            return queryset.filter(pk__in=scope[1]).filter(_document_matches(terms))
    return queryset.filter(pk__in=RawSQL(*_matching_ids(terms)))  # noqa: S611


def _narrow_way(
    list_share: float, term_share: float, scope_share: float | None, people: int, *, walk_cost: float, scope_cost: float
) -> Literal["walk", "collect", "scope"]:
    """How a narrow list finds a common term's matches at least cost, in rows read.

    - *walk*: the list in its order, testing each person, until the page is full: about
      PAGE_ROWS / (list share × term share) rows, each ``walk_cost`` times a match collected;
    - *collect*: every match of the term, term share × people, kept if in the list;
    - *scope*: every person of the user's scope, read through its indexes
      (``scopes.people_ids_in_scope``), testing each: scope share × people rows, each
      ``scope_cost`` times a match collected (None: the scope is everyone, not offered).

    For a sales agent's 1 % of a million people and a term every eighth person has (an email
    domain): 25,000 rows walked, 120,000 matches collected, 10,000 people of the scope read.
    For a term in 4 % (a common name): 75,000, 40,000 and 10,000. For a term half of all
    people have, the walk: 6,000. Without the scope's ids (a DPO's list narrowed by a filter),
    a term in 3 %: 83,000 walked against 30,000 collected.
    """
    costs: dict[Literal["walk", "collect", "scope"], float] = {"collect": term_share * people}
    if list_share > 0 and term_share > 0:
        costs["walk"] = walk_cost * PAGE_ROWS / (list_share * term_share)
    if scope_share is not None:
        costs["scope"] = scope_cost * max(scope_share * people, PAGE_ROWS)
    return min(costs, key=lambda way: costs[way])


# A walk by name on SQLite goes through the search documents in the order of their copy of the
# sort key, reading only the covering index ``people_search_walk`` (migration 0006); the list is
# then ordered by that copy (``DOCUMENT_ORDER``), which is the person's own order. In any other
# order no index would serve the join, so other walks test each person's document instead.
WALK_MARK = "search_walk"
DOCUMENT_ORDER = Sort("search_document__sort_key", tiebreak="search_document__person_id")


def _walk_documents(queryset: QuerySet[Person], terms: list[str]) -> QuerySet[Person]:
    contains = Q()
    for term in terms:
        contains &= Q(search_document__document__contains=term)
    return queryset.filter(contains).alias(**{WALK_MARK: F("search_document__sort_key")})


def walk_order(queryset: QuerySet[Person], sort: Sort) -> Sort:
    """The sort a list by name takes: the documents' copy of the name order where ``queryset``
    is a walk through the documents (so that SQLite reads them in that order), else ``sort``."""
    if lists_by_name(sort) and WALK_MARK in queryset.query.annotations:
        return replace(DOCUMENT_ORDER, descending=sort.descending)
    return sort


def lists_by_name(sort: Sort) -> bool:
    return sort.field == "sort_key"


WALK_INDEX = "people_search_walk"


def ensure_walk_index(db: BaseDatabaseWrapper) -> None:
    """Create SQLite's covering index of the documents if it is missing (after every ``migrate``).

    The index is raw SQL (migration 0006) that Django's migration state does not know, so a
    later migration that rebuilds the documents table on SQLite would drop it silently; searches
    would stay exact but walk ten to forty times slower.
    """
    if db.vendor != "sqlite":
        return
    table = PersonSearchDocument._meta.db_table
    with db.cursor() as cursor:
        if table not in db.introspection.table_names(cursor):
            return
        columns = {column.name for column in db.introspection.get_table_description(cursor, table)}
        if "sort_key" in columns:  # not when migrated back to before 0006
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {WALK_INDEX} ON {table} (sort_key, person_id, document)")


# How many people there are only chooses between two exact ways of answering, so a process may
# reuse the figure for a while rather than ask for it on every search.
PEOPLE_ESTIMATE_SECONDS = 60.0
_people_estimates: dict[tuple[str, str], tuple[float, int]] = {}


def people_estimate() -> int:
    """The highest person id (about how many people there are), remembered for a minute."""
    key = (connection.alias, str(connection.settings_dict.get("NAME")))
    now = time.monotonic()
    cached = _people_estimates.get(key)
    if cached is not None and now - cached[0] < PEOPLE_ESTIMATE_SECONDS:
        return cached[1]
    top = Person.objects.aggregate(top=Max("pk"))["top"] or 0
    _people_estimates[key] = (now, top)
    return top


def split_by_name(
    queryset: QuerySet[Person], query: str, *, scope_ids: ScopeIds | None = None
) -> tuple[QuerySet[Person], Callable[[], QuerySet[Person]]] | None:
    """The matches whose name (family name first) starts with the query, and a function
    giving the other matches; None for a query that is a name prefix and nothing else.

    The first part is one range of the name index, tested row by row (every row in it
    matches, but the test costs little and keeps the two parts exact complements). The
    rest is made only when asked for, since most pages never need it.
    """
    terms = terms_of(query)
    long_terms = [term for term in terms if len(term) >= MIN_TRIGRAM]
    if not long_terms:
        return None
    in_range = _name_starts_with(terms)
    first = queryset.filter(in_range).filter(_document_matches(long_terms))
    return first, lambda: filter_people(queryset.exclude(in_range), query, scope_ids=scope_ids)


def _name_starts_with(terms: list[str]) -> Q:
    prefix = " ".join(terms)
    return Q(sort_key__gte=prefix, sort_key__lt=prefix + "\uffff")


def first_matches(terms: list[str], limit: int) -> list[int]:
    """The ids of up to ``limit`` people matching every term, straight from the index."""
    if connection.vendor == "sqlite":
        # FTS5 hands out matches as it finds them, so the LIMIT stops the work early.
        statement, params = _matching_ids(terms)
    else:
        # Not through the MATERIALIZED CTE: under this LIMIT the planner may scan the table
        # for a term its statistics call common, and stop at ``limit`` matches; building the
        # trigram bitmap of "@gmail.com" alone costs 70 ms on a million people.
        # Only placeholders are joined into the statement; the terms travel as parameters.
        statement = "SELECT person_id FROM people_personsearchdocument WHERE " + _like_conditions(terms)  # noqa: S608
        params = _like_patterns(terms)
    with connection.cursor() as cursor:
        cursor.execute(f"{statement} LIMIT %s", [*params, limit])
        return [row[0] for row in cursor.fetchall()]


def _among(ids: list[int]) -> Q:
    """The people with these ids, as a subquery on both databases, for two reasons.

    SQLite 3.40 (Debian 12's) answers ``id IN (1, 2, ...)`` ANDed with a cursor's ``sort_key < x
    OR (sort_key = x AND id < y)`` wrongly: its multi-index OR plan returns the cursor's own row.
    PostgreSQL, given the list itself, may walk the name index testing every row against it
    (60 ms for 1,400 ids on a million people) rather than look up each id; behind a
    MATERIALIZED CTE it looks them up.
    """
    if connection.vendor == "sqlite":
        return Q(pk__in=RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)]))
    return Q(pk__in=RawSQL(IDS_SQL, [ids]))  # noqa: S611


def _common_in_sample(terms: list[str], people: int, many: int) -> float | None:
    """The share of a sample of documents spread over the ids that hold every term, when it
    shows the terms to be so common that the index would certainly find ``many`` matches; None
    when it does not (or the sample is too small to tell).

    All the probe learns from the first matches of a common term is that there are many, and
    it learns it slowly: FTS5 took 8-140 ms for the first 5,916 of "@gmail.com" on a million
    people; PostgreSQL's planner, misjudging a term as rare, may build the trigram bitmap of all
    58,658 matches of "@yahoo.ro" (42 ms) rather than scan until it has enough. The sample tells
    the same in under a millisecond for a term that a few per cent of people have. It must show
    at least ``COMMON_SAMPLE_FACTOR`` times the share at which the probe would find ``many``: a
    term near that share is still probed. Either way the answer is exact; only its cost differs.
    """
    if people <= 0:
        return None
    sample = _sample_ids(people)
    needed = max(MIN_COMMON_HITS, math.ceil(COMMON_SAMPLE_FACTOR * many * len(sample) / people))
    if needed > len(sample):
        return None
    if connection.vendor == "sqlite":
        among, contains = "IN (SELECT value FROM json_each(%s))", "instr(document, %s) > 0"
        ids: Any = json.dumps(sample)
    else:
        among, contains, ids = "= ANY(%s)", "strpos(document, %s) > 0", sample
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM people_personsearchdocument WHERE person_id {among} "  # noqa: S608 (placeholders only)
            f"AND {' AND '.join([contains] * len(terms))}",
            [ids, *terms],
        )
        (hits,) = cursor.fetchone()
    return hits / len(sample) if hits >= needed else None


def _sample_ids(top_id: int) -> list[int]:
    return list(range(1, top_id + 1, max(1, top_id // SHARE_SAMPLE)))


def share_of_people(queryset: QuerySet[Person], top_id: int) -> float:
    """Roughly which share of all people ``queryset`` lists, from a sample spread over ids."""
    sample = _among(_sample_ids(top_id))
    present = Person.objects.filter(sample).count()
    return queryset.filter(sample).count() / present if present else 0.0


def _document_matches(terms: list[str]) -> Subquery:
    # The test of one row's document, run as the database walks the list in order, so the
    # walk stops when the page is full. A boolean scalar subquery and not EXISTS: PostgreSQL
    # would turn EXISTS into a join and might then collect every match through the trigram
    # index, the very thing this avoids.
    contains = Q()
    for term in terms:
        contains &= Q(document__contains=term)
    hit = ExpressionWrapper(contains, output_field=BooleanField())
    document = PersonSearchDocument.objects.filter(person_id=OuterRef("pk"))
    return Subquery(document.annotate(hit=hit).values("hit")[:1], output_field=BooleanField())


def _matching_ids(terms: list[str]) -> tuple[str, list[str]]:
    """A statement selecting the ids of the people matching every term, from the index."""
    if connection.vendor == "sqlite":
        # Each term is a quoted FTS5 string: with the trigram tokenizer it matches as a
        # substring, and quoting keeps FTS5 operators in user input inert.
        match = " AND ".join('"{}"'.format(term.replace('"', '""')) for term in terms)
        return "SELECT rowid FROM people_search_fts WHERE people_search_fts MATCH %s", [match]
    # A MATERIALIZED CTE makes PostgreSQL answer from the trigram index first. Without it,
    # under a LIMIT, the planner may walk the primary key and test every row: 0.7 s for a
    # term that matches nothing on a million people.
    return MATCHES_SQL.format(conditions=_like_conditions(terms)), _like_patterns(terms)


def _like_conditions(terms: list[str]) -> str:
    return " AND ".join(["document LIKE %s"] * len(terms))


def _like_patterns(terms: list[str]) -> list[str]:
    return ["%" + _escape_like(term) + "%" for term in terms]


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

"""B5: search latency on a million generated people, ours against Django ``icontains``.

Ours is what the pages and the API call: ``selectors.list_people(user, PeopleFilter(query=q),
limit=25)``, scoped, keyset-paginated, with the typo retry. The peer is the usual Django
search, an ``icontains`` over name, email and employer with ``distinct()``, on the same tables,
in the same process, one query class after the other. Every page is also checked against the
ground truth (``bench.corpus``), because a fast wrong answer is no answer.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import paging, report
from bench.corpus import Corpus
from bench.dataset import Spec
from bench.env import Target
from bench.loader import AGENT_PREFIX, ensure_loaded, log
from bench.queries import CLASSES, Query, QueryMaker, search_terms

GOAL_P95_MS = {"sqlite": 20.0, "postgres": 50.0}
GOAL_RATIO = 10.0
PAGE = 25
QUERY_SEED = 7
SMOKE_QUERIES = 5


@dataclass
class Sample:
    """The timings and pages of one side (ours, the peer) for one query class."""

    timings: list[float] = field(default_factory=list)
    pages: list[list[int]] = field(default_factory=list)
    corrections: list[str | None] = field(default_factory=list)


def _without_view_budget() -> None:
    """B5 times the search itself, thousands of queries by one user: the view budget would
    block that user after a page or two of hours' worth of people. Its cost is measured by the
    access benchmark (``bench/access_load.py``) instead."""
    from registru.people import selectors

    selectors.charge = lambda user, person_ids: None  # type: ignore[assignment]


def run(args: argparse.Namespace, target: Target) -> None:
    _without_view_budget()
    if args.smoke:
        args.queries = SMOKE_QUERIES
    peer_queries = args.queries if args.peer_queries is None else args.peer_queries
    ensure_loaded(target, Spec(args.people), reload=args.reload)
    log("reading the ground truth and making the queries")
    corpus = Corpus.load()
    queries = QueryMaker(corpus, vocabulary(), QUERY_SEED).all(args.queries)
    bench = SearchBench(corpus)
    bench.warm_up(queries)
    rows = [bench.measure_class(kind, queries[kind], peer_queries) for kind in CLASSES]
    agent_rows = [] if args.no_agent else bench.measure_agent(queries)
    paged = bench.check_paging(queries)
    results = {
        "benchmark": "search",
        "database": args.db,
        "people": args.people,
        "load_average_at_start": args.load_at_start,
        "queries_per_class": args.queries,
        "peer_queries_per_class": peer_queries,
        "goal_p95_ms": GOAL_P95_MS[args.db],
        "goal_ratio": GOAL_RATIO,
        "classes": rows,
        "agent": agent_rows,
        "paging": {"queries": paged.queries, "pages": paged.pages, "failures": paged.failures},
    }
    print_report(results)
    log(f"results: {report.save(f'search-{target.label}', results)}")


def vocabulary() -> set[str]:
    from registru.people.models import SearchWord

    return set(SearchWord.objects.values_list("word", flat=True))


class SearchBench:
    def __init__(self, corpus: Corpus) -> None:
        from registru.accounts.models import User

        self.corpus = corpus
        self.dora = User.objects.get(username="dora")

    def warm_up(self, queries: dict[str, list[Query]]) -> None:
        log("warming up")
        for kind in CLASSES:
            for query in queries[kind][:20]:
                ours(self.dora)(query.text)
            peer(queries[kind][0].text)

    def measure_class(self, kind: str, queries: list[Query], peer_queries: int) -> dict[str, Any]:
        log(f"{kind}: {len(queries)} queries, ours")
        mine = measure(ours(self.dora), queries)
        log(f"{kind}: {min(peer_queries, len(queries))} queries, the peer")
        theirs = measure(peer, queries[:peer_queries])
        truths = [self.truth(query) for query in queries]
        plain = [self.corpus.by_name(query.intended, PAGE) for query in queries[:peer_queries]]
        return {
            "class": kind,
            "queries": len(queries),
            "ours": report.percentiles(mine.timings),
            "peer": report.percentiles(theirs.timings),
            "peer_queries": len(theirs.timings),
            "checks": self.checks(kind, queries, truths=truths, plain=plain, mine=mine, theirs=theirs),
            "matches_median": statistics.median(
                [self.corpus.count(search_terms(query.intended)) for query in queries[:20]]
            ),
            "examples": [query.text for query in queries[:6]],
        }

    def truth(self, query: Query, allowed: set[int] | None = None) -> list[int]:
        return self.corpus.listed(query.intended, PAGE, allowed)

    def checks(
        self,
        kind: str,
        queries: list[Query],
        *,
        truths: list[list[int]],
        plain: list[list[int]],
        mine: Sample,
        theirs: Sample,
    ) -> dict[str, float]:
        """Shares of queries (0-1) whose answers are right, by the class's own measure: ours
        against the order it promises, the peer against plain name order over the same text.
        """
        checks = {
            "ours_exact_first_page": share(page == truth for page, truth in zip(mine.pages, truths, strict=True)),
            "peer_exact_first_page": share(page == truth for page, truth in zip(theirs.pages, plain, strict=True)),
        }
        if kind == "rare substring":
            checks["ours_every_result_contains_the_terms"] = share(
                self.all_contain(page, search_terms(query.text))
                for page, query in zip(mine.pages, queries, strict=True)
            )
            checks["ours_found_the_source_person"] = share(
                query.person_id in page for page, query in zip(mine.pages, queries, strict=True)
            )
        if kind == "one-letter typo":
            checks["ours_corrected_to_the_intended_words"] = share(
                correction == query.intended for correction, query in zip(mine.corrections, queries, strict=True)
            )
            checks["ours_intended_person_on_first_page"] = share(
                query.person_id in page for page, query in zip(mine.pages, queries, strict=True)
            )
            checks["peer_intended_person_on_first_page"] = share(
                query.person_id in page for page, query in zip(theirs.pages, queries, strict=False)
            )
        return checks

    def all_contain(self, ids: list[int], terms: list[str]) -> bool:
        from registru.people.models import PersonSearchDocument

        documents = PersonSearchDocument.objects.filter(person_id__in=ids).values_list("document", flat=True)
        return all(term in document for document in documents for term in terms)

    def check_paging(self, queries: dict[str, list[Query]]) -> paging.PagingResult:
        texts = [query.intended for kind in CLASSES for query in queries[kind][:3]]
        texts += paging.boundary_queries(self.corpus)
        log(f"paging through {len(texts)} searches, forward and back")
        return paging.check(self.dora, self.corpus, texts)

    def measure_agent(self, queries: dict[str, list[Query]]) -> list[dict[str, Any]]:
        agent, scope = agent_near_one_percent(len(self.corpus.ids))
        log(f"as {agent.username}, whose scope holds {len(scope):,} people")
        rows = []
        for kind in CLASSES:
            sample = measure(ours(agent), queries[kind])
            # Where nothing in scope matched, the typo correction may have answered instead.
            truths = [
                self.corpus.listed(correction or query.intended, PAGE, scope)
                for query, correction in zip(queries[kind], sample.corrections, strict=True)
            ]
            rows.append({
                "class": kind,
                "user": agent.username,
                "scope": len(scope),
                "ours": report.percentiles(sample.timings),
                "ours_exact_first_page": share(
                    page == truth for page, truth in zip(sample.pages, truths, strict=True)
                ),
            })  # fmt: skip
        return rows


def share(values: Any) -> float:
    values = list(values)
    return sum(1 for value in values if value) / len(values) if values else float("nan")


def ours(user: Any) -> Callable[[str], Any]:
    from registru.people.selectors import PeopleFilter, list_people

    def call(text: str) -> Any:
        return list_people(user, PeopleFilter(query=text), limit=PAGE)

    return call


def peer(text: str) -> Any:
    """The usual Django search: ``icontains`` over names, emails and employers."""
    from django.db.models import Q

    from registru.people.models import Person

    matches = (
        Q(given_name__icontains=text)
        | Q(family_name__icontains=text)
        | Q(emails__icontains=text)
        | Q(affiliations__organization__name__icontains=text)
    )
    return list(Person.objects.filter(matches).distinct().order_by("sort_key", "id")[:PAGE])


def measure(call: Callable[[str], Any], queries: list[Query]) -> Sample:
    sample = Sample()
    gc.collect()
    for query in queries:
        started = time.perf_counter()
        answer = call(query.text)
        sample.timings.append((time.perf_counter() - started) * 1000)
        items = answer if isinstance(answer, list) else answer.items
        sample.pages.append([person.pk for person in items])
        sample.corrections.append(getattr(answer, "corrected_query", None))
    return sample


def agent_near_one_percent(people: int) -> tuple[Any, set[int]]:
    """The sales agent whose scope (own people, and people at own organizations) is nearest 1 %."""
    from registru.accounts.models import User
    from registru.core.scopes import restrict
    from registru.people.models import Person

    agents = list(User.objects.filter(username__startswith=AGENT_PREFIX))
    sizes = approximate_scopes()
    agent = min(agents, key=lambda user: abs(sizes.get(user.pk, 0) - people / 100))
    return agent, set(restrict(agent, Person).values_list("pk", flat=True))


def approximate_scopes() -> dict[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT owner_id, count(*) FROM people_person WHERE owner_id IS NOT NULL GROUP BY owner_id")
        sizes = dict(cursor.fetchall())
        cursor.execute(
            "SELECT o.owner_id, count(*) FROM people_affiliation a JOIN people_organization o "
            "ON o.id = a.organization_id WHERE a.until IS NULL GROUP BY o.owner_id"
        )
        for owner, count in cursor.fetchall():
            sizes[owner] = sizes.get(owner, 0) + count
    return sizes


def print_report(results: dict[str, Any]) -> None:
    db, goal = results["database"], results["goal_p95_ms"]
    header = [
        "class",
        "ours p50",
        "p95",
        "p99",
        "max",
        "peer p50",
        "p95",
        "p99",
        "max",
        "p95 ratio",
        "goal",
        "pass",
    ]
    rows = []
    for row in results["classes"]:
        mine, theirs = row["ours"], row["peer"]
        ratio = theirs["p95"] / mine["p95"] if mine["p95"] else float("inf")
        passed = mine["p95"] <= goal and ratio >= GOAL_RATIO
        rows.append([
            row["class"], *(report.ms(mine[key]) for key in ("p50", "p95", "p99", "max")),
            *(report.ms(theirs[key]) for key in ("p50", "p95", "p99", "max")),
            f"{ratio:,.0f}×", f"≤ {goal:.0f} ms, ≥ {GOAL_RATIO:.0f}×", "pass" if passed else "FAIL",
        ])  # fmt: skip
    print(f"\nB5 search, {db}, {results['people']:,} people, milliseconds\n")
    print(report.table(header, rows))
    print("\nCorrectness (share of queries)\n")
    check_rows = [
        [
            row["class"],
            f"{row['matches_median']:,.0f}",
            *(f"{name}: {value:.0%}" for name, value in row["checks"].items()),
        ]
        for row in results["classes"]
    ]
    print("\n".join("| " + " | ".join(row) + " |" for row in check_rows))
    if results["agent"]:
        print(f"\nAs {results['agent'][0]['user']} (scope {results['agent'][0]['scope']:,} people)\n")
        agent_rows = [
            [row["class"], *(report.ms(row["ours"][key]) for key in ("p50", "p95", "p99", "max")),
             f"{row['ours_exact_first_page']:.0%}"]
            for row in results["agent"]
        ]  # fmt: skip
        print(report.table(["class", "p50", "p95", "p99", "max", "exact first page"], agent_rows))
    paged = results["paging"]
    verdict = "all as expected" if not paged["failures"] else "; ".join(paged["failures"])
    print(f"\nPaging: {paged['queries']} searches, {paged['pages']} pages forward and back: {verdict}")

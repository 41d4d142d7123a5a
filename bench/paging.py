"""Keyset pagination of searches, checked: page forward, then back, against the ground truth.

A search listed by name pages through two parts (name matches, then the others) with two
kinds of cursors; this walks real queries across that boundary both ways and compares every
page with what the corpus says the list holds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.corpus import Corpus
from bench.names import FAMILY_COMMON
from registru.people import search

PAGE = 25
MAX_PAGES = 40


@dataclass
class PagingResult:
    queries: int = 0
    pages: int = 0
    failures: list[str] = field(default_factory=list)


def boundary_queries(corpus: Corpus, count: int = 3) -> list[str]:
    """Family names carried by few people but also found in others' documents (the second part
    of a double-barrelled name, an employer): their lists cross from one part to the other early.
    """
    counts = Counter(search.normalize(name) for name in corpus.family_names)
    known = [search.normalize(name) for name in FAMILY_COMMON if counts[search.normalize(name)]]
    known.sort(key=lambda name: counts[name])
    chosen = []
    for name in known:
        total = corpus.count([name], cap=counts[name] + 1)
        if total > counts[name]:
            chosen.append(name)
        if len(chosen) == count:
            break
    return chosen


def check(user: Any, corpus: Corpus, queries: list[str], allowed: set[int] | None = None) -> PagingResult:
    result = PagingResult()
    for query in queries:
        result.queries += 1
        _check_one(user, corpus, query, allowed, result)
    return result


def _check_one(user: Any, corpus: Corpus, query: str, allowed: set[int] | None, result: PagingResult) -> None:
    from registru.people.selectors import PeopleFilter, list_people

    expected = corpus.listed(query, PAGE * MAX_PAGES, allowed)
    criteria = PeopleFilter(query=query)
    pages, cursors = [], []
    page = list_people(user, criteria, limit=PAGE)
    while True:
        pages.append([person.pk for person in page.items])
        cursors.append(page.previous_cursor)
        if not page.next_cursor or len(pages) == MAX_PAGES:
            break
        page = list_people(user, criteria, cursor=page.next_cursor, limit=PAGE)
    result.pages += len(pages)
    forward = [pk for ids in pages for pk in ids]
    if forward != expected[: len(forward)] or (len(pages) < MAX_PAGES and len(forward) != len(expected)):
        result.failures.append(f"{query!r}: forward pages differ from the list")
        return
    # Back from the last page to the first, each previous page equal to the one seen going forward.
    for number in range(len(pages) - 1, 0, -1):
        if not cursors[number]:
            result.failures.append(f"{query!r}: page {number + 1} has no previous cursor")
            return
        back = list_people(user, criteria, cursor=cursors[number], limit=PAGE)
        if [person.pk for person in back.items] != pages[number - 1]:
            result.failures.append(f"{query!r}: going back to page {number} gave other people")
            return
    if cursors[0]:
        result.failures.append(f"{query!r}: the first page has a previous cursor")

"""The ground truth for search: every person's search document, in list order.

Read once from the benchmark database (``ORDER BY sort_key, id``, the database's own order),
it answers "which people contain these terms, and in which order are they listed?" with
plain substring tests, independently of any index, so that results can be checked, not only
timed. The order is the one a search by name promises: people whose name (family name first)
starts with the query, then every other match, each part by name.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Collection
from dataclasses import dataclass


@dataclass
class Corpus:
    ids: list[int]
    sort_keys: list[str]
    documents: list[str]
    given_names: list[str]
    family_names: list[str]
    text: str  # the documents joined by newlines (no document contains one)
    starts: list[int]  # where each document begins in ``text``

    @classmethod
    def load(cls) -> Corpus:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT p.id, p.sort_key, d.document, p.given_name, p.family_name FROM people_person p "
                "JOIN people_personsearchdocument d ON d.person_id = p.id "
                "WHERE p.archived_at IS NULL ORDER BY p.sort_key, p.id"
            )
            rows = cursor.fetchall()
        ids, sort_keys, documents, given, family = (list(column) for column in zip(*rows, strict=True))
        starts, offset = [], 0
        for document in documents:
            starts.append(offset)
            offset += len(document) + 1
        return cls(ids, sort_keys, documents, given, family, "\n".join(documents), starts)

    def matches(self, terms: list[str], *, limit: int | None = None, allowed: Collection[int] | None = None):
        """Row numbers (in list order) of the documents holding every term, the first ``limit``."""
        if not terms:
            return []
        anchor = max(terms, key=len)
        others = [term for term in terms if term != anchor]
        rows: list[int] = []
        position = self.text.find(anchor)
        while position != -1:
            row = bisect_right(self.starts, position) - 1
            document = self.documents[row]
            if all(term in document for term in others) and (allowed is None or self.ids[row] in allowed):
                rows.append(row)
                if limit is not None and len(rows) >= limit:
                    break
            next_start = self.starts[row + 1] if row + 1 < len(self.starts) else len(self.text)
            position = self.text.find(anchor, next_start)
        return rows

    def listed(self, query: str, limit: int | None = 25, allowed: Collection[int] | None = None) -> list[int]:
        """The ids a search for ``query`` lists by name, in order: name matches, then the others."""
        from registru.people import search

        terms = search.terms_of(query)
        long_terms = [term for term in terms if len(term) >= search.MIN_TRIGRAM]
        if not terms:
            return []
        prefix = " ".join(terms)
        start = bisect_left(self.sort_keys, prefix)
        stop = bisect_left(self.sort_keys, prefix + "\uffff")
        names = [
            row
            for row in range(start, stop)
            if all(term in self.documents[row] for term in long_terms) and (allowed is None or self.ids[row] in allowed)
        ]
        if not long_terms:
            return [self.ids[row] for row in names[:limit]]
        room = None if limit is None else max(0, limit - len(names))
        others = [] if room == 0 else self._others(long_terms, room, allowed, range(start, stop))
        return [self.ids[row] for row in [*names, *others][:limit]]

    def _others(self, terms: list[str], limit: int | None, allowed: Collection[int] | None, skip: range) -> list[int]:
        rows = []
        for row in self.matches(terms, allowed=allowed, limit=None if limit is None else limit + len(skip)):
            if row not in skip:
                rows.append(row)
                if limit is not None and len(rows) >= limit:
                    break
        return rows

    def by_name(self, query: str, limit: int = 25) -> list[int]:
        """The first ids matching ``query`` in plain name order (what the peer promises)."""
        from bench.queries import search_terms

        return [self.ids[row] for row in self.matches(search_terms(query), limit=limit)]

    def count(self, terms: list[str], cap: int | None = None) -> int:
        return len(self.matches(terms, limit=cap))

"""The five query classes of the search benchmark, drawn from the data itself.

- common prefix: the first 3-5 letters of one of the 40 most common family names ("pop",
  "ione"), a quarter of them typed with capitals and diacritics ("Ște");
- rare substring: 4-8 characters from the middle of a rare family name, a phone number or an
  email address, matching 1 to 50 people;
- no match: a pronounceable word that no document contains and that is not one letter away
  from any known word (so the typo correction finds nothing either);
- email domain: "@" and the domain of a random person's address (so public domains such as
  gmail.com come up as often as people use them);
- one-letter typo: a person's family name (sometimes after the given name) with one letter
  deleted, swapped, replaced or inserted, such that the query itself matches nobody.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from bench.corpus import Corpus
from registru.people import search

CLASSES = ("common prefix", "rare substring", "no match", "email domain", "one-letter typo")
MAX_RARE_MATCHES = 50
CONSONANTS = "bcdfghjklmnprstvz"
VOWELS = "aeiou"


@dataclass(frozen=True)
class Query:
    kind: str
    text: str  # what the user types
    intended: str  # what the results should answer: the text, or for a typo the intended words
    person_id: int | None = None  # the person the query was made from, if any


def search_terms(query: str) -> list[str]:
    """The terms the index is asked for (shorter ones are dropped, as ``search`` does)."""
    return [term for term in search.terms_of(query) if len(term) >= search.MIN_TRIGRAM]


class QueryMaker:
    def __init__(self, corpus: Corpus, vocabulary: set[str], seed: int) -> None:
        self.corpus = corpus
        self.vocabulary = vocabulary
        self.rng = random.Random(seed)
        self.family_counts = Counter(search.normalize(name) for name in corpus.family_names)

    def all(self, per_class: int) -> dict[str, list[Query]]:
        makers = {
            "common prefix": self.common_prefix,
            "rare substring": self.rare_substring,
            "no match": self.no_match,
            "email domain": self.email_domain,
            "one-letter typo": self.typo,
        }
        return {kind: [makers[kind]() for _ in range(per_class)] for kind in CLASSES}

    def _random_row(self) -> int:
        return self.rng.randrange(len(self.corpus.ids))

    def common_prefix(self) -> Query:
        common = [name for name, _count in self.family_counts.most_common(60) if len(name) >= 4][:40]
        name = self.rng.choice(common)
        length = self.rng.randint(3, min(5, len(name) - 1))
        text = name[:length]
        if self.rng.random() < 0.25:
            spelled = next(f for f in self.corpus.family_names if search.normalize(f) == name)
            text = spelled[:length]
        return Query("common prefix", text, text)

    def rare_substring(self) -> Query:
        source = self.rng.choice((self._rare_name, self._rare_name, self._phone_digits, self._email_part))
        while True:
            row, text = source()
            count = self.corpus.count(search_terms(text), cap=MAX_RARE_MATCHES + 1)
            if text and 1 <= count <= MAX_RARE_MATCHES:
                return Query("rare substring", text, text, self.corpus.ids[row])

    def _rare_name(self) -> tuple[int, str]:
        row = self._random_row()
        name = search.normalize(self.corpus.family_names[row])
        if self.family_counts[name] > 20 or len(name) < 6:
            return row, ""
        length = self.rng.randint(4, min(8, len(name) - 1))
        start = self.rng.randrange(1, len(name) - length + 1)
        return row, name[start : start + length]

    def _phone_digits(self) -> tuple[int, str]:
        row = self._random_row()
        phones = [part for part in self.corpus.documents[row].split(" | ") if part.startswith("07")]
        if not phones:
            return row, ""
        length = self.rng.randint(6, 7)
        start = self.rng.randrange(2, len(phones[0]) - length + 1)
        return row, phones[0][start : start + length]

    def _email_part(self) -> tuple[int, str]:
        row = self._random_row()
        emails = [part for part in self.corpus.documents[row].split(" | ") if "@" in part]
        if not emails:
            return row, ""
        local = emails[0].split("@")[0]
        length = self.rng.randint(6, 8)
        if len(local) <= length:
            return row, ""
        start = self.rng.randrange(len(local) - length + 1)
        return row, local[start : start + length]

    def no_match(self) -> Query:
        while True:
            syllables = self.rng.randint(3, 4)
            word = "".join(self.rng.choice(CONSONANTS) + self.rng.choice(VOWELS) for _ in range(syllables))
            if self.corpus.count([word], cap=1) or self._has_neighbour(word):
                continue
            return Query("no match", word, word)

    def _has_neighbour(self, word: str) -> bool:
        return word in self.vocabulary or bool(search.one_letter_variants(word) & self.vocabulary)

    def email_domain(self) -> Query:
        while True:
            row = self._random_row()
            emails = [part for part in self.corpus.documents[row].split(" | ") if "@" in part]
            if emails:
                domain = "@" + self.rng.choice(emails).split("@")[1]
                return Query("email domain", domain, domain, self.corpus.ids[row])

    def typo(self) -> Query:
        while True:
            row = self._random_row()
            family = search.normalize(self.corpus.family_names[row])
            given = search.normalize(self.corpus.given_names[row])
            if not family.isalpha() or len(family) < 5:
                continue
            wrong = self._misspell(family)
            if wrong in self.vocabulary:
                continue
            with_given = self.rng.random() < 0.5 and given.isalpha()
            text = f"{self.corpus.given_names[row]} {wrong}" if with_given else wrong
            intended = f"{given} {family}" if with_given else family
            if self.corpus.count(search_terms(text), cap=1) == 0:
                return Query("one-letter typo", text, intended, self.corpus.ids[row])

    def _misspell(self, word: str) -> str:
        rng = self.rng
        position = rng.randrange(1, len(word) - 1)  # people rarely get the first letter wrong
        letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
        edit = rng.choice(("delete", "swap", "replace", "insert"))
        if edit == "delete":
            wrong = word[:position] + word[position + 1 :]
        elif edit == "swap":
            wrong = word[:position] + word[position + 1] + word[position] + word[position + 2 :]
        elif edit == "replace":
            wrong = word[:position] + letter + word[position + 1 :]
        else:
            wrong = word[:position] + letter + word[position:]
        return wrong if wrong != word else self._misspell(word)

"""Generated organizations, people, affiliations and search documents, the same on every run.

Family names follow a Zipf-like law (s = 0.7 over 30,000 names, which gives the top name
about 1.4 % of people and the top ten about 5.6 %, close to Romania's own figures): "Popa" is
carried by ~14,000 people in a million, the long tail of generated names ("Vlăstoveanu") by
about ten each, so common prefixes match many rows and rare substrings few. Organization sizes
are Zipf-like too. Everything is drawn from one seeded generator: the same size gives the same
data, so cached databases and freshly loaded ones answer the same queries alike.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bench import names
from registru.people import search

SEED = 20261129
CHUNK = 20_000
FAMILY_NAMES = 30_000
FAMILY_ZIPF = 0.7
GIVEN_ZIPF = 0.7
ORGANIZATION_ZIPF = 0.6
EPOCH = datetime(2021, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 5 * 365 * 24 * 3600
TODAY = date(2026, 11, 1)
ASCII_RE = re.compile(r"[^a-z0-9]")

PERSON_COLUMNS = (
    "id", "created_at", "updated_at", "street", "city", "county", "postal_code", "country",
    "given_name", "family_name", "emails", "phones", "job_title", "preferred_language",
    "birth_date", "source", "lawful_basis", "last_verified_at", "status", "archived_at",
    "version", "sort_key", "merged_into_id", "owner_id",
)  # fmt: skip
ORGANIZATION_COLUMNS = (
    "id", "created_at", "updated_at", "street", "city", "county", "postal_code", "country",
    "name", "status", "cui", "trade_register_no", "industry", "archived_at", "version",
    "sort_key", "merged_into_id", "owner_id", "team_id", "access_by_request",
)  # fmt: skip
AFFILIATION_COLUMNS = (
    "id", "created_at", "updated_at", "role", "since", "until", "organization_id", "person_id",
)  # fmt: skip
DOCUMENT_COLUMNS = ("person_id", "document", "words", "sort_key")
SOURCES = ("form", "import", "business_card", "referral", "event", "phone", "email", "other")
BASES = ("consent", "contract", "legal_obligation", "legitimate_interest")
ORG_STATUSES = ("prospect", "customer", "partner", "supplier")


@dataclass(frozen=True)
class Spec:
    """The size of a generated data set; everything else follows from it."""

    people: int
    seed: int = SEED

    @property
    def organizations(self) -> int:
        return min(5000, max(20, self.people // 40))

    @property
    def agents(self) -> int:
        return max(2, min(100, self.people // 10_000))

    def fingerprint(self) -> str:
        return f"people={self.people} organizations={self.organizations} agents={self.agents} seed={self.seed}"


@dataclass(slots=True)
class PersonRow:
    """What ``search.document_for`` and ``search.words_for`` read of a person."""

    given_name: str
    family_name: str
    emails: list[str]
    phones: list[str]


@dataclass(slots=True)
class Organization:
    id: int
    name: str
    domain: str
    owner_id: int | None


@dataclass
class Chunk:
    """Rows for the tables, a chunk of people at a time."""

    people: list[tuple[object, ...]] = field(default_factory=list)
    affiliations: list[tuple[object, ...]] = field(default_factory=list)
    documents: list[tuple[int, str, str, str]] = field(default_factory=list)


def ascii_word(text: str) -> str:
    return ASCII_RE.sub("", search.normalize(text))


def zipf_weights(count: int, exponent: float) -> list[float]:
    return list(itertools.accumulate(1 / rank**exponent for rank in range(1, count + 1)))


def family_names(rng: random.Random) -> list[str]:
    """Common names first (they get the big Zipf weights), then a long tail of generated ones."""
    known = dict.fromkeys(names.FAMILY_COMMON)
    while len(known) < FAMILY_NAMES:
        syllables = rng.choice((1, 1, 2))
        root = "".join(
            rng.choice(names.ROOT_ONSETS) + rng.choice(names.ROOT_VOWELS) + rng.choice(names.ROOT_CODAS)
            for _ in range(syllables)
        )
        known.setdefault((root + rng.choice(names.FAMILY_ENDINGS)).capitalize(), None)
    return list(known)


def timestamp(rng: random.Random) -> datetime:
    return EPOCH + timedelta(seconds=rng.randrange(SPAN_SECONDS))


def make_organizations(spec: Spec, agent_ids: list[int]) -> tuple[list[Organization], list[tuple]]:
    """The organizations (for people's employers) and their table rows."""
    rng = random.Random(spec.seed)
    organizations: list[Organization] = []
    rows: list[tuple] = []
    seen: set[str] = set()
    while len(organizations) < spec.organizations:
        stem = _organization_stem(rng)
        if stem in seen:
            continue
        seen.add(stem)
        form = rng.choice(names.ORGANIZATION_FORMS)
        name = f"{stem} {form}"
        pk = len(organizations) + 1
        owner = rng.choice(agent_ids) if agent_ids else None
        tld = ".de" if form == "GmbH" else ".fr" if form == "SAS" else ".co.uk" if form == "Ltd" else ".ro"
        organizations.append(Organization(pk, name, ascii_word(stem) + tld, owner))
        rows.append(_organization_row(rng, pk, name, owner))
    return organizations, rows


def _organization_stem(rng: random.Random) -> str:
    pattern = rng.randrange(3)
    if pattern == 0:
        return f"{rng.choice(names.ORGANIZATION_WORDS)} {rng.choice(names.ORGANIZATION_PLACES)}"
    if pattern == 1:
        return f"{rng.choice(names.ORGANIZATION_WORDS)}{rng.choice(names.ORGANIZATION_WORDS).lower()}"
    return f"{rng.choice(names.ORGANIZATION_WORDS)} {rng.choice(names.FAMILY_COMMON[:120])}"


def _organization_row(rng: random.Random, pk: int, name: str, owner: int | None) -> tuple:
    city, county = rng.choice(names.CITIES)
    created = timestamp(rng)
    cui = str(rng.randrange(1_000_000, 49_999_999))
    return (
        pk, created, created, f"Str. {rng.choice(names.ORGANIZATION_PLACES)} nr. {rng.randrange(1, 200)}",
        city, county, f"{rng.randrange(10_000, 999_999):06d}", "RO", name,
        rng.choice(ORG_STATUSES), cui, f"J{rng.randrange(1, 52):02d}/{rng.randrange(1, 9999)}/2015",
        rng.choice(names.INDUSTRIES), None, 1, search.normalize(name), None, owner, None, False,
    )  # fmt: skip


class PeopleGenerator:
    """Yields the people in chunks, with their affiliations and search documents, and counts
    the vocabulary (``people_searchword``) as it goes.
    """

    def __init__(self, spec: Spec, organizations: list[Organization], agent_ids: list[int]) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed + 1)
        self.organizations = organizations
        self.agent_ids = agent_ids
        self.families = family_names(self.rng)
        self.family_weights = zipf_weights(len(self.families), FAMILY_ZIPF)
        self.givens = names.GIVEN_FEMALE + names.GIVEN_MALE
        self.given_weights = zipf_weights(len(self.givens), GIVEN_ZIPF)
        self.organization_weights = zipf_weights(len(organizations), ORGANIZATION_ZIPF)
        self.words: Counter[str] = Counter()
        self.next_affiliation = 1

    def chunks(self) -> Iterator[Chunk]:
        for start in range(1, self.spec.people + 1, CHUNK):
            stop = min(start + CHUNK, self.spec.people + 1)
            yield self._chunk(range(start, stop))

    def _chunk(self, ids: range) -> Chunk:
        rng = self.rng
        families = rng.choices(self.families, cum_weights=self.family_weights, k=len(ids))
        givens = rng.choices(self.givens, cum_weights=self.given_weights, k=len(ids))
        employers = rng.choices(self.organizations, cum_weights=self.organization_weights, k=len(ids))
        chunk = Chunk()
        for pk, family, given, employer in zip(ids, families, givens, employers, strict=True):
            self._person(chunk, pk, self._family(family), self._given(given), employer)
        return chunk

    def _family(self, family: str) -> str:
        if self.rng.random() < 0.02:  # a double-barrelled name: "Popescu-Ionescu"
            return f"{family}-{self.rng.choice(names.FAMILY_COMMON)}"
        return family

    def _given(self, given: str) -> str:
        return self.rng.choice(names.GIVEN_FOREIGN) if self.rng.random() < 0.05 else given

    def _person(self, chunk: Chunk, pk: int, family: str, given: str, employer: Organization) -> None:
        rng = self.rng
        works = rng.random() < 0.65
        current = [employer] if works else []
        row = PersonRow(given, family, self._emails(given, family, current), self._phones())
        created = timestamp(rng)
        owner = rng.choice(self.agent_ids) if self.agent_ids and rng.random() < 0.6 else None
        city, county = rng.choice(names.CITIES) if rng.random() < 0.7 else ("", "")
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(20_000)) if rng.random() < 0.2 else None
        sort_key = search.sort_key_for(given, family)
        chunk.people.append((
            pk, created, created, "", city, county, "", "RO", given, family,
            json.dumps(row.emails), json.dumps(row.phones), rng.choice(names.JOB_TITLES),
            "en" if rng.random() < 0.1 else "ro", birth, rng.choice(SOURCES), rng.choice(BASES),
            None, "active", None, 1, sort_key, None, owner,
        ))  # fmt: skip
        employer_names = [organization.name for organization in current]
        for organization in current:
            self._affiliation(chunk, pk, organization, created, past=False)
        if rng.random() < 0.08:
            self._affiliation(chunk, pk, rng.choice(self.organizations), created, past=True)
        words = search.words_for(row, employer_names)  # type: ignore[arg-type]
        self.words.update(words)
        document = search.document_for(row, employer_names)  # type: ignore[arg-type]
        chunk.documents.append((pk, document, " ".join(sorted(words)), sort_key))

    def _emails(self, given: str, family: str, employers: list[Organization]) -> list[str]:
        rng = self.rng
        if rng.random() < 0.15:
            return []
        first, last = ascii_word(given), ascii_word(family)
        emails = []
        if employers and rng.random() < 0.55:
            emails.append(f"{first}.{last}@{employers[0].domain}")
        if not emails or rng.random() < 0.15:
            emails.append(self._personal_email(first, last))
        return emails

    def _personal_email(self, first: str, last: str) -> str:
        rng = self.rng
        domains, shares = zip(*names.PUBLIC_MAIL_DOMAINS, strict=True)
        domain = rng.choices(domains, weights=shares)[0]
        local = rng.choice(
            (f"{first}.{last}", f"{last}.{first}", f"{first}{last}{rng.randrange(60, 100)}",
             f"{first[:1]}{last}", f"{first}.{last}{rng.randrange(1, 1000)}")
        )  # fmt: skip
        return f"{local}@{domain}"

    def _phones(self) -> list[str]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.15:
            return []
        if roll < 0.20:
            return [f"{rng.choice(names.FOREIGN_PHONE_PREFIXES)}{rng.randrange(10**8, 10**10)}"]
        phones = [f"+407{rng.randrange(10**8):08d}"]
        if rng.random() < 0.1:
            phones.append(f"+4021{rng.randrange(10**7):07d}")
        return phones

    def _affiliation(self, chunk: Chunk, pk: int, organization: Organization, created: datetime, *, past: bool) -> None:
        rng = self.rng
        since = date(2005, 1, 1) + timedelta(days=rng.randrange(7000))
        until = None
        if past:
            since = date(2005, 1, 1) + timedelta(days=rng.randrange(3000))
            until = since + timedelta(days=rng.randrange(200, 2000))
        role = rng.choice(names.JOB_TITLES)
        chunk.affiliations.append((self.next_affiliation, created, created, role, since, until, organization.id, pk))
        self.next_affiliation += 1

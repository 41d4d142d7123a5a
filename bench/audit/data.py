"""Deterministic people for the write benchmarks: input as a client sends it, and the same
values as Registru's validation returns them (what the peers are given)."""

from __future__ import annotations

from typing import Any

GIVEN = ["Ana", "Maria", "Elena", "Ioana", "Andrei", "Mihai", "Ștefan", "Radu", "Cristina", "Gheorghe", "Ilinca"]
FAMILY = ["Popescu", "Ionescu", "Popa", "Constantin", "Stan", "Dumitrescu", "Munteanu", "Țurcanu", "Georgescu"]
TITLES = ["Director vânzări", "Contabil-șef", "Inginer", "Achiziții", "Manager IT", "Consultant", "Jurist"]
PLACES = [("București", "București"), ("Cluj-Napoca", "Cluj"), ("Iași", "Iași"), ("Timișoara", "Timiș")]
STREETS = ["Str. Lipscani", "Bd. Unirii", "Calea Victoriei", "Str. Memorandumului", "Bd. Eroilor"]
PREFIXES = ["0722", "0744", "0733", "0755", "0766", "0788"]


def _phone(n: int) -> str:
    digits = f"{n % 1_000_000:06d}"
    return f"{PREFIXES[n % len(PREFIXES)]} {digits[:3]} {digits[3:]}"


def person_input(key: int) -> dict[str, Any]:
    """A new person with most fields filled, as the API would receive it."""
    given, family = GIVEN[key % len(GIVEN)], FAMILY[(key // 7) % len(FAMILY)]
    city, county = PLACES[key % len(PLACES)]
    return {
        "given_name": given,
        "family_name": family,
        "emails": [f"{given.lower()}.{family.lower()}.{key}@exemplu.ro".replace("ș", "s").replace("ț", "t")],
        "phones": [_phone(key * 7919)],
        "job_title": TITLES[key % len(TITLES)],
        "birth_date": f"{1950 + key % 50}-{1 + key % 12:02d}-{1 + key % 28:02d}",
        "street": f"{STREETS[key % len(STREETS)]} {1 + key % 120}",
        "city": city,
        "county": county,
        "postal_code": f"{10000 + key % 89999:06d}",
        "source": "import",
        "lawful_basis": "contract",
    }


def update_input(key: int) -> dict[str, Any]:
    """A change of a phone number (an indexed field) and of the city (not indexed)."""
    city, _county = PLACES[(key + 1) % len(PLACES)]
    return {"phones": [_phone(key * 104_729 + 17)], "city": f"{city} {key % 97}"}


def title_input(key: int) -> dict[str, Any]:
    """A change of the job title only: personal, but not in the search index."""
    return {"job_title": f"{TITLES[(key + 3) % len(TITLES)]} {key % 1000}"}

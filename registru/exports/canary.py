"""Canary rows: made-up people, different in every export, mixed among the real rows.

They let the DPO tell two exports of the same people apart even when the Ref column was
deleted, and an email to a canary address (a domain the organisation controls) tells that a
copy is being used. They carry no real person's data; docs/exports.md says so to requesters.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings

from registru.exports.fingerprint import canary_seed
from registru.people.choices import Language, LawfulBasis, PersonStatus, Source

GIVEN = ("Andrei", "Irina", "Sorin", "Daniela", "Victor", "Camelia", "Horia", "Lavinia", "Petru", "Simona",
         "Cosmin", "Adela", "Radu", "Teodora", "Emil", "Bianca")  # fmt: skip
FAMILY = ("Moldovan", "Ilie", "Dobre", "Stanciu", "Matei", "Lungu", "Oprea", "Cristea", "Barbu", "Neagu",
          "Toma", "Ursu", "Pavel", "Dinu", "Sandu", "Ene")  # fmt: skip
TITLES = ("Director vânzări", "Manager achiziții", "Contabil-șef", "Inginer de proiect", "Director general")
CITIES = (("Cluj-Napoca", "Cluj", "400001"), ("Iași", "Iași", "700001"), ("Brașov", "Brașov", "500001"),
          ("Timișoara", "Timiș", "300001"), ("Constanța", "Constanța", "900001"))  # fmt: skip
STREETS = ("Str. Fabricii", "Str. Morilor", "Bd. Independenței", "Str. Teilor", "Calea Victoriei")


def how_many(rows: int) -> int:
    """One canary per started 200 rows, at most five; none in an empty export."""
    return 0 if rows == 0 else min(5, 1 + rows // 200)


def positions(export_id: int, rows: int) -> list[int]:
    """After which real row (0 = before the first) each canary goes."""
    return sorted(int.from_bytes(canary_seed(export_id, index)[:4]) % (rows + 1) for index in range(how_many(rows)))


def _domain() -> str:
    configured = getattr(settings, "EXPORT_CANARY_DOMAIN", "")
    return configured or settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"


def values(export_id: int, index: int) -> dict[str, str]:
    """The made-up person ``index`` of an export, for every field a file may hold."""
    seed = canary_seed(export_id, index)
    given, family = GIVEN[seed[0] % len(GIVEN)], FAMILY[seed[1] % len(FAMILY)]
    city, county, postal = CITIES[seed[2] % len(CITIES)]
    tag = int.from_bytes(seed[3:6]) % 10_000
    plain = f"{given}.{family}{tag}".lower().translate(str.maketrans("ăâîșțş", "aaists"))
    return {
        "id": "",
        "given_name": given,
        "family_name": family,
        "job_title": TITLES[seed[6] % len(TITLES)],
        "organizations": "",
        "emails": f"{plain}@{_domain()}",
        "phones": "",
        "street": f"{STREETS[seed[7] % len(STREETS)]} {1 + seed[8] % 90}",
        "city": city,
        "county": county,
        "postal_code": postal,
        "country": "RO",
        "birth_date": date(1960 + seed[9] % 40, 1 + seed[10] % 12, 1 + seed[11] % 28).isoformat(),
        "preferred_language": str(Language.ROMANIAN.label),
        "status": str(PersonStatus.ACTIVE.label),
        "lawful_basis": str(LawfulBasis.LEGITIMATE_INTEREST.label),
        "source": str(Source.OTHER.label),
    }

"""Registru with masking and the view budget switched off: the baseline of the access benchmark.

Only the benchmark serves this; the product has no switch for either. The names are replaced
where the people endpoints look them up, after Django has loaded the apps.
"""

from typing import Any

from registru.config.wsgi import application
from registru.people import selectors
from registru.people.api import related, shapes


def _no_charge(user: Any, person_ids: Any) -> None:
    return None


def _unmasked(people: list[Any]) -> list[Any]:
    return people


selectors.charge = _no_charge  # type: ignore[assignment]
related.charge = _no_charge  # type: ignore[assignment]
shapes.for_list = _unmasked  # type: ignore[assignment]

__all__ = ["application"]

"""scripts/bootstrap.sh marks the smaller profiles installed along with a larger one: dev holds
base, bench holds dev. That holds only while each lock pins every package of the smaller one
at the same version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parents[3] / "requirements"


def pins(profile: str) -> set[str]:
    text = (REQUIREMENTS / f"{profile}.lock").read_text(encoding="utf-8")
    return {match.lower() for match in re.findall(r"^([A-Za-z0-9_.-]+==[^\s;\\]+)", text, re.MULTILINE)}


@pytest.mark.parametrize(("larger", "smaller"), [("dev", "base"), ("bench", "dev")])
def test_a_larger_profile_pins_every_package_of_the_smaller_one_alike(larger: str, smaller: str) -> None:
    assert pins(smaller)
    assert pins(smaller) - pins(larger) == set()

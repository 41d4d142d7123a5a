"""Romanian ships complete: no untranslated or fuzzy message, and the compiled catalogue is current."""

from __future__ import annotations

import gettext
import json
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "ro" / "LC_MESSAGES"


def _unquote(lines: list[str]) -> str:
    return "".join(json.loads(line[line.index('"') :]) for line in lines if '"' in line)


def entries() -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for every message of the Romanian catalogue; a message with a
    context has its msgid prefixed with the context and the EOT separator, as in the .mo."""
    found = []
    for block in (LOCALE / "django.po").read_text(encoding="utf-8").split("\n\n"):
        lines = block.splitlines()
        ids = [i for i, line in enumerate(lines) if line.startswith("msgid ")]
        strs = [i for i, line in enumerate(lines) if line.startswith("msgstr")]
        if not ids or not strs:
            continue
        if any(line.startswith("msgid_plural") for line in lines):
            # Plural forms: the first one must be there (the others are checked by msgfmt).
            plural = next(i for i, line in enumerate(lines) if line.startswith("msgid_plural"))
            second = next((i for i, line in enumerate(lines) if line.startswith("msgstr[1]")), len(lines))
            msgid, msgstr = _unquote(lines[ids[0] : plural]), _unquote(lines[strs[0] : second])
        else:
            msgid, msgstr = _unquote(lines[ids[0] : strs[0]]), _unquote(lines[strs[0] :])
        context = [line for line in lines if line.startswith("msgctxt ")]
        if context and msgid:
            msgid = _unquote(context) + "\x04" + msgid
        if msgid:
            found.append((msgid, msgstr, any(line.startswith("#,") and "fuzzy" in line for line in lines)))
    return found


def _translated(catalogue: gettext.GNUTranslations, msgid: str) -> str:
    singular = catalogue.gettext(msgid)
    # A message with plural forms is found by ngettext only; its first form is compared.
    return catalogue.ngettext(msgid, msgid, 1) if singular == msgid else singular


def test_every_message_is_translated_and_none_is_fuzzy() -> None:
    assert [msgid for msgid, msgstr, fuzzy in entries() if not msgstr or fuzzy] == []


def test_the_compiled_catalogue_matches_the_source() -> None:
    with (LOCALE / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    stale = [msgid for msgid, msgstr, _fuzzy in entries() if _translated(catalogue, msgid) != msgstr]
    assert stale == []


def test_it_uses_comma_below_diacritics() -> None:
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    assert not set("şţŞŢ") & set(text)


def test_dates_read_day_first_on_a_24_hour_clock_in_both_languages() -> None:
    from datetime import UTC, date, datetime

    from django.utils import formats, translation

    moment = datetime(2026, 11, 30, 14, 9, tzinfo=UTC)  # shown as given: date_format does not convert
    with translation.override("en"):
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "30 Nov 2026, 14:09"
        assert formats.date_format(date(1980, 5, 17), "SHORT_DATE_FORMAT") == "17 May 1980"
    with translation.override("ro"):
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "30.11.2026, 14:09"


def test_no_romanian_message_of_django_or_registru_has_a_cedilla_or_a_space_before_punctuation() -> None:
    import re

    from django.utils import translation
    from django.utils.translation import trans_real

    # Django's own catalogue and those of its contrib apps, merged with Registru's, which wins.
    catalogue = trans_real.translation("ro")._catalog  # type: ignore[attr-defined]
    wrong = re.compile(r"[şţŞŢ]|\s[.,;:!?)](?!\.)|\S {2,}\S")
    from django.db.models.fields import BLANK_CHOICE_LABEL

    with translation.override("ro"):
        assert str(BLANK_CHOICE_LABEL) == "- Alegeți o opțiune -"  # Django has no Romanian for it yet
    shown = {key: catalogue[key] for key in set(catalogue.keys()) if key}  # the text that wins
    found = {key: text for key, text in shown.items() if isinstance(text, str) and wrong.search(text)}
    assert found == {}

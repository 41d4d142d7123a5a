"""Validation and normalisation of people and organization data.

Services call ``clean_input`` before every write, so the pages, the API, commands and imports
all apply exactly the same rules and produce the same messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.ro import cui as ro_cui

from registru.accounts.models import Team

MAX_CONTACTS = 10
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
DEFAULT_PHONE_REGION = "RO"
TRADE_REGISTER_RE = re.compile(r"^[JFC]\s?\d{1,2}\s?/\s?\d{1,7}\s?/\s?\d{4}$|^[JFC]\d{13}$", re.IGNORECASE)
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


def normalize_email(value: str) -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid email address: %(reason)s"),
            params={"value": value, "reason": _email_reason(str(exc))},
            code="invalid_email",
        ) from exc


def _email_reason(message: str) -> str:
    """The library's reason (English only) in the user's language: its common cases by their
    opening words, and a general reason for the rest."""
    reasons = (
        ("An email address must have an @-sign", _("it has no @ sign.")),
        ("There must be something after the @-sign", _("nothing follows the @ sign.")),
        ("There must be something before the @-sign", _("nothing comes before the @ sign.")),
        ("The part after the @-sign is not valid. It should", _("the domain after the @ sign has no dot.")),
        ("An email address cannot have two periods in a row", _("it has two dots in a row.")),
        ("An email address cannot start with a period", _("it starts with a dot.")),
        ("An email address cannot end with a period", _("it ends with a dot.")),
    )
    for opening, reason in reasons:
        if message.startswith(opening):
            return reason
    if "invalid characters" in message:
        return _("it contains characters that an email address may not have.")
    return _("it is not written as an email address is.")


def normalize_phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """E.164 form of a phone number; national numbers are read as Romanian by default."""
    message = _("“%(value)s” is not a valid phone number.")
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(message, params={"value": value}, code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(message, params={"value": value}, code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_tax_id(value: str, country: str) -> str:
    """A Romanian CUI (checksum verified, ``RO`` kept when given) or a foreign VAT number."""
    compact = re.sub(r"[\s.\-/]", "", value).upper()
    if not compact:
        return ""
    try:
        if country in ("RO", "") and (compact.isdigit() or compact.startswith("RO")):
            digits = ro_cui.validate(compact)
            return f"RO{digits}" if compact.startswith("RO") else digits
        return _validate_foreign_vat(compact, country)
    except StdnumError as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid CUI or VAT number: %(reason)s"),
            params={"value": value, "reason": _tax_id_reason(exc)},
            code="invalid_tax_id",
        ) from exc


def _tax_id_reason(error: StdnumError) -> str:
    """The library's reason (English only) in the user's language, by the kind of error."""
    if isinstance(error, InvalidChecksum):
        return _("the check digit does not match; check the number for a typing error.")
    if isinstance(error, InvalidLength):
        return _("it has too few or too many digits.")
    if isinstance(error, InvalidFormat):
        return _("it has characters or a layout that this kind of number does not have.")
    return _("it is not a number of this kind.")


def _validate_foreign_vat(compact: str, country: str) -> str:
    prefix = compact[:2]
    if prefix.isalpha() and prefix.lower() in eu_vat.MEMBER_STATES:
        return str(eu_vat.validate(compact))
    code = prefix if prefix.isalpha() else country
    module = get_cc_module(code.lower(), "vat") if code else None
    if module is not None:
        return str(module.validate(compact))
    if not re.fullmatch(r"[A-Z0-9]{4,20}", compact):
        raise ValidationError(_("A tax id has 4 to 20 letters and digits."), code="invalid_tax_id")
    return compact


def normalize_trade_register(value: str) -> str:
    compact = re.sub(r"\s", "", value).upper()
    if compact and not TRADE_REGISTER_RE.match(compact):
        raise ValidationError(
            _("A trade register number looks like J40/1234/2020 or J2020001234408."),
            code="invalid_trade_register",
        )
    return compact


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"[\n,;]", value)
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise ValidationError(_("Give a list of text values."), code="invalid_list")
    items = [item.strip() for item in value if item.strip()]
    if len(items) > MAX_CONTACTS:
        raise ValidationError(_("At most %(count)d values."), params={"count": MAX_CONTACTS}, code="too_many")
    return items


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.lower(), value)
    return list(seen.values())


def clean_emails(value: Any) -> list[str]:
    return _unique(normalize_email(item) for item in _as_list(value))


def clean_phones(value: Any) -> list[str]:
    return _unique(normalize_phone(item) for item in _as_list(value))


def clean_country(value: Any) -> str:
    country = str(value or "").strip().upper()
    if country and not COUNTRY_RE.match(country):
        raise ValidationError(_("Use a two-letter country code (RO, DE, ...)."), code="invalid")
    return country


def _clean_related(model: type[models.Model], value: Any) -> models.Model | None:
    if value in (None, ""):
        return None
    if isinstance(value, model):
        return value
    try:
        return model._default_manager.get(pk=int(value))
    except (TypeError, ValueError, model.DoesNotExist) as exc:  # type: ignore[attr-defined]
        raise ValidationError(_("Choose an existing value."), code="invalid_choice") from exc


def clean_owner(value: Any) -> Any:
    owner = _clean_related(get_user_model(), value)
    if owner is not None and not getattr(owner, "is_active", False):
        raise ValidationError(_("This user is no longer active."), code="inactive")
    return owner


def clean_team(value: Any) -> Any:
    return _clean_related(Team, value)


CUSTOM_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "emails": clean_emails,
    "phones": clean_phones,
    "country": clean_country,
    "owner": clean_owner,
    "team": clean_team,
    "trade_register_no": lambda value: normalize_trade_register(str(value or "")),
}


def _reject_unstorable(value: Any) -> None:
    """Text the databases cannot store (NUL, lone surrogates) is refused before it gets there."""
    texts = value if isinstance(value, list) else [value]
    for text in texts:
        if isinstance(text, str):
            if "\x00" in text:
                raise ValidationError(_("Text may not contain NUL characters."), code="nul")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValidationError(_("Text is not valid Unicode."), code="unicode") from exc


def _clean_field(model: type[models.Model], name: str, value: Any) -> Any:
    _reject_unstorable(value)
    if isinstance(value, str):
        value = value.strip()
    cleaner = CUSTOM_CLEANERS.get(name)
    if cleaner is not None:
        return cleaner(value)
    field = model._meta.get_field(name)
    if value == "" and getattr(field, "null", False) and not isinstance(field, models.CharField):
        value = None
    return field.clean(value, None)  # type: ignore[union-attr]


def _required_fields(model: type[models.Model]) -> list[str]:
    return [
        name
        for name in model.EDITABLE  # type: ignore[attr-defined]
        if not model._meta.get_field(name).blank  # type: ignore[union-attr]
        and not model._meta.get_field(name).has_default()  # type: ignore[union-attr]
    ]


def clean_input(
    model: type[models.Model], data: dict[str, Any], *, instance: models.Model | None = None
) -> dict[str, Any]:
    """Validated, normalised values for the editable fields in ``data``.

    Raises a ``ValidationError`` mapping each bad field to its messages; unknown fields are
    errors too, so a typo in an API call never passes silently.
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    editable = model.EDITABLE  # type: ignore[attr-defined]
    for name, value in data.items():
        if name not in editable:
            errors[name] = [_("Unknown field.")]
            continue
        try:
            cleaned[name] = _clean_field(model, name, value)
        except ValidationError as exc:
            errors[name] = exc.messages
    if instance is None:
        for name in _required_fields(model):
            if name not in data:
                errors.setdefault(name, [_("This field is required.")])
    if "cui" in cleaned and "cui" not in errors:
        country = cleaned.get("country", getattr(instance, "country", "RO"))
        try:
            cleaned["cui"] = normalize_tax_id(cleaned["cui"], country or "")
        except ValidationError as exc:
            errors["cui"] = exc.messages
    _check_dates(cleaned, instance, errors)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_dates(cleaned: dict[str, Any], instance: Any, errors: dict[str, list[str]]) -> None:
    birth_date = cleaned.get("birth_date")
    if birth_date is not None and (birth_date.year < 1900 or birth_date > timezone.localdate()):
        errors["birth_date"] = [_("Enter a birth date between 1900 and today.")]
    occurred_at = cleaned.get("occurred_at")
    if occurred_at is not None:
        if timezone.is_naive(occurred_at):
            errors["occurred_at"] = [_("Give the time with its time zone.")]
        elif not EARLIEST <= occurred_at <= timezone.now() + timedelta(days=3660):
            errors["occurred_at"] = [_("Enter a date between 1900 and ten years from now.")]
    since = cleaned.get("since", getattr(instance, "since", None))
    until = cleaned.get("until", getattr(instance, "until", None))
    if since and until and until < since:
        errors["until"] = [_("The end date cannot be before the start date.")]

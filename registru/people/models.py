"""People (the data subjects), organizations, affiliations and notes.

Every model here is personal data: it derives from ``AuditedModel`` (writes only through
``people.services``) and declares the PII class of each field.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from registru.core.fields import RowidOneToOneField
from registru.core.models import AuditedModel, GuardedModel
from registru.core.pii import PIIClass
from registru.people.choices import (
    Language,
    LawfulBasis,
    NoteKind,
    OrganizationStatus,
    PersonStatus,
    RestrictionGround,
    Source,
)

N = PIIClass.NONE
ID = PIIClass.IDENTITY
CONTACT = PIIClass.CONTACT
PRO = PIIClass.PROFESSIONAL
SENSITIVE = PIIClass.SENSITIVE

RECORD_FIELDS: dict[str, PIIClass] = {
    "id": N, "created_at": N, "updated_at": N, "version": N, "owner": N, "archived_at": N,
    "merged_into": N,
}  # fmt: skip
ADDRESS_FIELDS = ("street", "city", "county", "postal_code", "country")


class Address(models.Model):
    """A postal address, stored as separate fields so that it can be searched and masked."""

    street = models.CharField(_("street and number"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    county = models.CharField(_("county"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, default="RO", blank=True)

    class Meta:
        abstract = True


class Organization(AuditedModel, Address):
    """A business partner: prospect, customer, partner or supplier."""

    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=20, choices=OrganizationStatus.choices,
        default=OrganizationStatus.PROSPECT,
    )  # fmt: skip
    cui = models.CharField(
        _("tax id (CUI / VAT)"), max_length=20, blank=True,
        help_text=_("Romanian CUI, with or without RO, or a foreign VAT number."),
    )  # fmt: skip
    trade_register_no = models.CharField(_("trade register no."), max_length=40, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    # A key account: team scope does not cover it, so everyone but its owner and the roles that
    # see everything needs an approved access request. Set only by ``set_access_procedure``.
    access_by_request = models.BooleanField(_("access only by request"), default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="organizations",
    )  # fmt: skip
    team = models.ForeignKey(
        "accounts.Team", verbose_name=_("team"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="organizations",
    )  # fmt: skip
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    # Indexed only where set (a partial index, in Meta): almost every row has none, and a full
    # index of the column was one more page written at every create.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    version = models.PositiveIntegerField(default=1)
    # Lower case without diacritics: sorting and searching by name, whatever the spelling.
    sort_key = models.CharField(max_length=200, editable=False, default="")

    # Organizations are mostly business data; the address of a one-person firm is not.
    PII: ClassVar[dict[str, PIIClass]] = RECORD_FIELDS | {
        "name": PRO, "sort_key": PRO, "status": N, "cui": PRO, "trade_register_no": PRO, "industry": N,
        "access_by_request": N, "team": N, "street": CONTACT, "city": CONTACT, "county": CONTACT,
        "postal_code": CONTACT, "country": N,
    }  # fmt: skip
    EDITABLE: ClassVar[tuple[str, ...]] = (
        "name", "status", "cui", "trade_register_no", "industry", "owner", "team",
        *ADDRESS_FIELDS,
    )  # fmt: skip

    class Meta:
        ordering = ["sort_key", "id"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        indexes = [
            models.Index(fields=["sort_key", "id"], name="org_sort_idx"),
            models.Index(fields=["cui"], name="org_cui_idx"),
            models.Index(fields=["merged_into"], name="org_merged_idx", condition=models.Q(merged_into__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.name


class Person(AuditedModel, Address):
    """A data subject: a customer, a prospect, or a partner's contact person."""

    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    emails = models.JSONField(_("emails"), default=list, blank=True, help_text=_("The first one is the primary."))
    phones = models.JSONField(
        _("phones"), default=list, blank=True,
        help_text=_("In E.164 form (+40722123456). The first one is the primary."),
    )  # fmt: skip
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=Language.choices, default=Language.ROMANIAN
    )
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.OTHER,
        help_text=_("How we got this person's data."),
    )  # fmt: skip
    lawful_basis = models.CharField(
        _("lawful basis"), max_length=24, choices=LawfulBasis.choices,
        default=LawfulBasis.LEGITIMATE_INTEREST,
    )  # fmt: skip
    last_verified_at = models.DateTimeField(_("last verified"), null=True, blank=True)
    # Set when the person let a data-update questionnaire expire unanswered; cleared when they
    # (or staff) confirm the data again.
    stale_since = models.DateTimeField(_("stale since"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=PersonStatus.choices, default=PersonStatus.ACTIVE)
    # Set together with the status "restricted" (Art. 18) and cleared when it is lifted, only by
    # ``restrict_processing`` and ``lift_restriction``. Nullable rather than blank strings so
    # that adding them is an ALTER TABLE ADD COLUMN on SQLite, not a copy of the people table,
    # and processes still running older code can insert people between migrate and restart.
    restriction_ground = models.CharField(  # noqa: DJ001
        _("restriction ground"), max_length=24, choices=RestrictionGround.choices, null=True, blank=True
    )
    restricted_since = models.DateTimeField(_("restricted since"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="people",
    )  # fmt: skip
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    # Indexed only where set (a partial index, in Meta): almost every row has none, and a full
    # index of the column was one more page written at every create.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    version = models.PositiveIntegerField(default=1)
    # Lower-case, diacritics removed: the key for sorting by name and short prefix searches.
    # Indexed by ``person_sort_idx`` (sort_key, id), which serves every condition on it; an
    # index of its own was a second copy that every create and rename wrote (two on
    # PostgreSQL, with Django's ``_like`` index, which no query used).
    sort_key = models.CharField(max_length=210, editable=False)

    PII: ClassVar[dict[str, PIIClass]] = RECORD_FIELDS | {
        "given_name": ID, "family_name": ID, "sort_key": ID, "emails": CONTACT,
        "phones": CONTACT, "job_title": PRO, "preferred_language": N, "birth_date": SENSITIVE,
        "source": N, "lawful_basis": N, "last_verified_at": N, "stale_since": N, "status": N,
        "restriction_ground": N, "restricted_since": N, "street": CONTACT, "city": CONTACT,
        "county": CONTACT, "postal_code": CONTACT, "country": N,
    }  # fmt: skip
    EDITABLE: ClassVar[tuple[str, ...]] = (
        "given_name", "family_name", "emails", "phones", "job_title", "preferred_language",
        "birth_date", "source", "lawful_basis", "owner", *ADDRESS_FIELDS,
    )  # fmt: skip

    class Meta:
        ordering = ["sort_key", "id"]
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [
            models.Index(fields=["sort_key", "id"], name="person_sort_idx"),
            models.Index(
                fields=["merged_into"], name="person_merged_idx", condition=models.Q(merged_into__isnull=False)
            ),
            # The restricted people (set iff restricted): the dashboard counts them, and the
            # index holds only them.
            models.Index(
                fields=["restricted_since"],
                name="person_restricted_idx",
                condition=models.Q(restricted_since__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def primary_email(self) -> str:
        return self.emails[0] if self.emails else ""

    @property
    def primary_phone(self) -> str:
        return self.phones[0] if self.phones else ""


class Affiliation(AuditedModel):
    """A person works (or worked) at an organization."""

    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="affiliations")
    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), on_delete=models.CASCADE,
        related_name="affiliations",
    )  # fmt: skip
    role = models.CharField(_("role"), max_length=150, blank=True)
    since = models.DateField(_("since"), null=True, blank=True)
    until = models.DateField(_("until"), null=True, blank=True)

    PII: ClassVar[dict[str, PIIClass]] = {
        "id": N, "created_at": N, "updated_at": N, "person": N, "organization": PRO,
        "role": PRO, "since": PRO, "until": PRO,
    }  # fmt: skip
    EDITABLE: ClassVar[tuple[str, ...]] = ("role", "since", "until")

    class Meta:
        ordering = ["-since", "id"]
        verbose_name = _("affiliation")
        verbose_name_plural = _("affiliations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(until__isnull=True)
                | models.Q(since__isnull=True)
                | models.Q(until__gte=models.F("since")),
                name="affiliation_until_after_since",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} @ {self.organization}"


class Note(AuditedModel):
    """A dated interaction with a person or an organization: a call, a meeting, an email."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="notes",
    )  # fmt: skip
    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), null=True, blank=True,
        on_delete=models.CASCADE, related_name="notes",
    )  # fmt: skip
    kind = models.CharField(_("kind"), max_length=10, choices=NoteKind.choices, default=NoteKind.NOTE)
    occurred_at = models.DateTimeField(_("when"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), null=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    body = models.TextField(_("text"), max_length=10_000)

    # Free text can hold anything, health included: classified as sensitive.
    PII: ClassVar[dict[str, PIIClass]] = {
        "id": N, "created_at": N, "updated_at": N, "person": N, "organization": N, "kind": N,
        "occurred_at": N, "author": N, "body": SENSITIVE,
    }  # fmt: skip
    EDITABLE: ClassVar[tuple[str, ...]] = ("kind", "occurred_at", "body")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=False) | models.Q(organization__isnull=False),
                name="note_has_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"


class PersonSearchDocument(GuardedModel):
    """The normalised text a person is found by (names, emails, phones, employers).

    Written only by ``people.search`` when a service changes a person; SQLite indexes it
    with FTS5 trigrams, PostgreSQL with a pg_trgm GIN index (see the migrations).
    """

    person = RowidOneToOneField(Person, primary_key=True, on_delete=models.CASCADE, related_name="search_document")
    document = models.TextField()
    # The words of the person's names and employers, counted in the vocabulary below.
    words = models.TextField(default="")
    # The person's ``sort_key``, copied: on SQLite an index of (sort_key, person, document)
    # lets a search walk the list in name order reading that index alone (``people.search``).
    # That index is raw SQL (migration 0006), unknown to Django's migration state: a later
    # migration that rebuilds this table on SQLite drops it, and ``search.ensure_walk_index``
    # creates it again after every ``migrate``.
    # The database default lets processes still running older code insert documents between
    # ``migrate`` and their restart (docs/deployment.md, upgrades).
    sort_key = models.CharField(max_length=210, default="", db_default="", editable=False)

    PII: ClassVar[dict[str, PIIClass]] = {"person": N, "document": ID, "words": ID, "sort_key": ID}

    def __str__(self) -> str:
        return f"search document of person {self.person_id}"


class SearchWord(GuardedModel):
    """A word of some person's names or employers, with how many people have it.

    It lets a search with a typo ("popscu") find the word that was meant ("popescu") by
    looking up every one-letter variant of it, an indexed lookup of a few hundred keys. A word
    no one has any more is deleted, so an erased name does not linger here.
    """

    word = models.CharField(max_length=100, primary_key=True)
    people = models.PositiveIntegerField(default=0)

    PII: ClassVar[dict[str, PIIClass]] = {"word": ID, "people": N}

    def __str__(self) -> str:
        return self.word

"""API shapes for people, organizations, affiliations and notes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AwareDatetime, ConfigDict, Field, Strict, StrictBool, StringConstraints

from registru.people.choices import (
    LawfulBasis,
    NoteKind,
    OrganizationStatus,
    PersonStatus,
    RestrictionGround,
    Source,
)

Text100 = Annotated[str, StringConstraints(max_length=100)]
Text150 = Annotated[str, StringConstraints(max_length=150)]
Text200 = Annotated[str, StringConstraints(max_length=200)]
Contact = Annotated[str, StringConstraints(max_length=254)]
Country = Annotated[str, StringConstraints(max_length=2)]
# Strict: JSON's true and false are not the numbers 1 and 0 (lax validation would take them).
Id = Annotated[int, Strict(), Field(ge=1, le=2**62)]
LanguageCode = Literal["ro", "en"]
# Spelled out for the type checker and the schema; a test keeps them equal to the choices.
SourceCode = Literal["form", "import", "business_card", "referral", "event", "phone", "email", "other"]
BasisCode = Literal["consent", "contract", "legal_obligation", "legitimate_interest"]
OrganizationStatusCode = Literal["prospect", "customer", "partner", "supplier"]
PersonStatusCode = Literal["active", "restricted", "erased"]
NoteKindCode = Literal["note", "call", "meeting", "email"]
RestrictionGroundCode = Literal["accuracy_contested", "unlawful_processing", "legal_claims", "objection_pending"]
CHOICE_LITERALS = {
    SourceCode: Source,
    BasisCode: LawfulBasis,
    OrganizationStatusCode: OrganizationStatus,
    PersonStatusCode: PersonStatus,
    NoteKindCode: NoteKind,
    RestrictionGroundCode: RestrictionGround,
}
SortName = Literal["name", "-name", "newest", "oldest", "updated"]


class StrictIn(Schema):
    # Unknown fields are an error, not silently dropped: a typo must not look like success.
    model_config = ConfigDict(extra="forbid")


class Ref(Schema):
    id: int
    label: str


class AddressFields(StrictIn):
    street: Text200 = ""
    city: Text100 = ""
    county: Text100 = ""
    postal_code: Annotated[str, StringConstraints(max_length=20)] = ""
    country: Country = "RO"


class PersonIn(AddressFields):
    given_name: Text100
    family_name: Text100
    emails: Annotated[list[Contact], Field(max_length=10)] = []
    phones: Annotated[list[Annotated[str, StringConstraints(max_length=40)]], Field(max_length=10)] = []
    job_title: Text150 = ""
    preferred_language: LanguageCode = "ro"
    birth_date: date | None = None
    source: SourceCode = "other"
    lawful_basis: BasisCode = "legitimate_interest"
    owner_id: Id | None = None


class PersonPatch(StrictIn):
    given_name: Text100 | None = None
    family_name: Text100 | None = None
    emails: Annotated[list[Contact], Field(max_length=10)] | None = None
    phones: Annotated[list[Annotated[str, StringConstraints(max_length=40)]], Field(max_length=10)] | None = None
    job_title: Text150 | None = None
    preferred_language: LanguageCode | None = None
    birth_date: date | None = None
    source: SourceCode | None = None
    lawful_basis: BasisCode | None = None
    owner_id: Id | None = None
    street: Text200 | None = None
    city: Text100 | None = None
    county: Text100 | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    country: Country | None = None
    version: Annotated[int, Strict(), Field(ge=1)] | None = Field(
        None, description="The version you read; if the record changed since, the answer is 409."
    )
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class Employer(Schema):
    affiliation_id: int
    organization: Ref
    role: str
    since: date | None
    until: date | None


class PersonOut(Schema):
    id: int
    given_name: str
    family_name: str
    emails: list[str]
    phones: list[str]
    job_title: str
    preferred_language: str
    birth_date: date | None
    source: str
    lawful_basis: str
    status: str
    restriction_ground: str | None = Field(
        None, description="Why processing is restricted (status `restricted`, GDPR Art. 18(1)); null otherwise."
    )
    restricted_since: datetime | None = None
    owner: Ref | None
    street: str
    city: str
    county: str
    postal_code: str
    country: str
    last_verified_at: datetime | None
    stale_since: datetime | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    masked: list[str] = Field(
        default_factory=list,
        description="Fields shown masked for your role (lists always mask contact and sensitive "
        "fields); a masked date is null. Reveal them with POST /people/{id}/reveal if your role may.",
    )


class PersonDetailOut(PersonOut):
    employers: list[Employer]


class PersonPage(Schema):
    items: list[PersonOut]
    next_cursor: str | None
    previous_cursor: str | None
    corrected_query: str | None = Field(
        None,
        description="Set when nothing matched the query exactly and these are the results of this "
        "corrected query; send it as `q` with the cursors of the next pages.",
    )


class PeopleSearchIn(StrictIn):
    q: Annotated[str, StringConstraints(max_length=200)] = ""
    organization_id: Id | None = None
    owner_id: Id | None = None
    status: PersonStatusCode | None = None
    archived: StrictBool = False
    sort: SortName = "name"
    cursor: Annotated[str, StringConstraints(max_length=500)] | None = None
    limit: Annotated[int, Strict(), Field(ge=1, le=100)] = 25


class RevealIn(StrictIn):
    groups: Annotated[list[Literal["emails", "phones", "address", "birth_date"]], Field(min_length=1, max_length=4)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True)]


class MergeIn(StrictIn):
    duplicate_id: Id
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class ReasonIn(StrictIn):
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class EraseIn(StrictIn):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)] = Field(
        description="The request or rule this erasure answers; kept in the person's history."
    )
    duplicate_ids: list[Id] | None = Field(
        None,
        max_length=100,
        description="Records merged away into this person to erase with it: all of them when left out, "
        "none when empty. A merge leaves the duplicate's own name and contacts on it.",
    )


class ErasureOut(Schema):
    erased: list[int] = Field(description="The records erased: the person, then the duplicates erased with it.")


class RestrictIn(StrictIn):
    ground: RestrictionGroundCode = Field(
        description="The case of GDPR Art. 18(1): (a) accuracy_contested, (b) unlawful_processing "
        "(erasure opposed), (c) legal_claims (needed by the person), (d) objection_pending."
    )
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)] = Field(
        description="The request or rule this restriction answers; kept in the person's history."
    )


class LiftRestrictionIn(StrictIn):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)] = Field(
        description="Why the restriction ends, and how and when the person was told; kept in the history."
    )
    person_informed: StrictBool = Field(
        description="GDPR Art. 18(3): the person was told before the restriction is lifted. Must be true "
        "(false answers 422 and changes nothing)."
    )


class OrganizationIn(AddressFields):
    name: Text200
    status: OrganizationStatusCode = "prospect"
    cui: Annotated[str, StringConstraints(max_length=20)] = ""
    trade_register_no: Annotated[str, StringConstraints(max_length=40)] = ""
    industry: Text100 = ""
    owner_id: Id | None = None
    team_id: Id | None = None


class OrganizationPatch(StrictIn):
    name: Text200 | None = None
    status: OrganizationStatusCode | None = None
    cui: Annotated[str, StringConstraints(max_length=20)] | None = None
    trade_register_no: Annotated[str, StringConstraints(max_length=40)] | None = None
    industry: Text100 | None = None
    owner_id: Id | None = None
    team_id: Id | None = None
    street: Text200 | None = None
    city: Text100 | None = None
    county: Text100 | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    country: Country | None = None
    version: Annotated[int, Strict(), Field(ge=1)] | None = None
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class OrganizationOut(Schema):
    id: int
    name: str
    status: str
    cui: str
    trade_register_no: str
    industry: str
    owner: Ref | None
    team: Ref | None
    street: str
    city: str
    county: str
    postal_code: str
    country: str
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class OrganizationPage(Schema):
    items: list[OrganizationOut]
    next_cursor: str | None
    previous_cursor: str | None


class OrganizationSearchIn(StrictIn):
    q: Annotated[str, StringConstraints(max_length=200)] = ""
    owner_id: Id | None = None
    status: OrganizationStatusCode | None = None
    archived: StrictBool = False
    sort: SortName = "name"
    cursor: Annotated[str, StringConstraints(max_length=500)] | None = None
    limit: Annotated[int, Strict(), Field(ge=1, le=100)] = 25


class AffiliationIn(StrictIn):
    organization_id: Id
    role: Text150 = ""
    since: date | None = None
    until: date | None = None


class AffiliationPatch(StrictIn):
    role: Text150 | None = None
    since: date | None = None
    until: date | None = None


class AffiliationOut(Schema):
    id: int
    person: Ref
    organization: Ref
    role: str
    since: date | None
    until: date | None


class NoteIn(StrictIn):
    kind: NoteKindCode = "note"
    occurred_at: AwareDatetime | None = None
    body: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class NotePatch(StrictIn):
    kind: NoteKindCode | None = None
    occurred_at: AwareDatetime | None = None
    body: Annotated[str, StringConstraints(min_length=1, max_length=10_000)] | None = None


class NoteOut(Schema):
    id: int
    kind: str
    occurred_at: datetime
    author: Ref | None
    body: str
    person_id: int | None
    organization_id: int | None
    masked: list[str] = Field(default_factory=list, description="``body`` when listed: open the note by its id.")


class FieldChangeOut(Schema):
    field: str
    old: object
    new: object


class EventOut(Schema):
    id: int
    occurred_at: datetime
    actor: str
    channel: str
    request_id: str
    action: str
    target_type: str
    target_id: int | None
    changes: list[FieldChangeOut]
    reason: str


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None


class AffiliationPage(Schema):
    items: list[AffiliationOut]
    next_cursor: str | None
    previous_cursor: str | None


class NotePage(Schema):
    items: list[NoteOut]
    next_cursor: str | None
    previous_cursor: str | None

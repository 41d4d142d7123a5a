"""Business actions on people, organizations, affiliations and notes: the one write path.

Each function takes a keyword-only ``actor``, validates its input with the same rules for
every channel, changes the data and records one audit event per changed record, all in one
transaction (see ``core.services.service``).
"""

from registru.people.services.access import set_access_procedure
from registru.people.services.common import audit_value, ensure_in_scope
from registru.people.services.organizations import (
    archive_organization,
    create_organization,
    merge_organizations,
    restore_organization,
    update_organization,
)
from registru.people.services.people import (
    archive_person,
    bulk_update_people,
    confirm_person,
    create_person,
    erase_person,
    mark_person_stale,
    merge_people,
    merged_duplicates,
    restore_person,
    revert_person_change,
    update_person,
)
from registru.people.services.related import (
    create_affiliation,
    create_note,
    delete_affiliation,
    delete_note,
    update_affiliation,
    update_note,
)
from registru.people.services.restriction import lift_restriction, restrict_processing

__all__ = [
    "archive_organization",
    "archive_person",
    "audit_value",
    "bulk_update_people",
    "confirm_person",
    "create_affiliation",
    "create_note",
    "create_organization",
    "create_person",
    "delete_affiliation",
    "delete_note",
    "ensure_in_scope",
    "erase_person",
    "lift_restriction",
    "mark_person_stale",
    "merge_organizations",
    "merge_people",
    "merged_duplicates",
    "restore_organization",
    "restore_person",
    "restrict_processing",
    "revert_person_change",
    "set_access_procedure",
    "update_affiliation",
    "update_note",
    "update_organization",
    "update_person",
]

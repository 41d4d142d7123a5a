"""The same columns, types and indexes as ``people.Person``, once per peer.

``PlainPerson`` has no auditing at all (the baseline); ``PghistoryPerson`` is tracked by
django-pghistory's row triggers (inserts and updates, full snapshots, the default trackers);
``SimpleHistoryPerson`` by django-simple-history; ``AuditlogPerson`` by django-auditlog.

``PeerSearchDocument`` and ``PeerSearchWord`` have the shape of Registru's search index
(``people.PersonSearchDocument``, ``people.SearchWord``), with the same indexes (pg_trgm GIN on
PostgreSQL, an FTS5 trigram table on SQLite; see ``apps.py``): the ``+app`` peers maintain
them exactly as Registru's services maintain theirs (``bench.audit.contenders.peer_reindex``).
They do not have the sort key that Registru's documents carry since its migration 0006, nor
SQLite's covering index of it: Registru's writes do that little more work than the peers'.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from registru.core.fields import RowidBigIntegerField


class PersonShape(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    street = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    county = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="RO", blank=True)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    emails = models.JSONField(default=list, blank=True)
    phones = models.JSONField(default=list, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    preferred_language = models.CharField(max_length=8, default="ro")
    birth_date = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=20, default="other")
    lawful_basis = models.CharField(max_length=24, default="legitimate_interest")
    last_verified_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, default="active")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    version = models.PositiveIntegerField(default=1)
    sort_key = models.CharField(max_length=210, editable=False)

    class Meta:
        abstract = True
        # As Registru's people table: one index of (sort_key, id), merged_into only where set.
        indexes = [
            models.Index(fields=["sort_key", "id"], name="%(class)s_sort"),
            models.Index(
                fields=["merged_into"], name="%(class)s_merged", condition=models.Q(merged_into__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"


class PeerSearchDocument(models.Model):
    """One search document per peer person (the peers' ids: one table serves every peer)."""

    # As Registru's document table: on SQLite the key is the rowid (registru.core.fields).
    person_id = RowidBigIntegerField(primary_key=True)
    document = models.TextField()
    words = models.TextField(default="")

    def __str__(self) -> str:
        return f"search document of peer person {self.person_id}"


class PeerSearchWord(models.Model):
    word = models.CharField(max_length=100, primary_key=True)
    people = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.word


class PlainPerson(PersonShape):
    class Meta:
        indexes = [models.Index(fields=["sort_key", "id"], name="plain_sort_idx")]


class SimpleHistoryPerson(PersonShape):
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["sort_key", "id"], name="sh_sort_idx")]


class AuditlogPerson(PersonShape):
    class Meta:
        indexes = [models.Index(fields=["sort_key", "id"], name="al_sort_idx")]


if "pghistory" in settings.INSTALLED_APPS:
    import pghistory

    @pghistory.track()
    class PghistoryPerson(PersonShape):
        class Meta:
            indexes = [models.Index(fields=["sort_key", "id"], name="pgh_sort_idx")]

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate

# The same indexes as Registru's search documents (people/migrations/0002_search_index.py).
SQLITE_FTS = "CREATE VIRTUAL TABLE IF NOT EXISTS peer_search_fts USING fts5(document, tokenize='trigram')"
POSTGRES_TRGM = (
    "CREATE INDEX IF NOT EXISTS peer_search_trgm ON peerapp_peersearchdocument USING gin (document gin_trgm_ops)"
)


def _search_indexes(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(SQLITE_FTS)
        else:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute(POSTGRES_TRGM)


class PeerAppConfig(AppConfig):
    name = "bench.audit.peerapp"
    label = "peerapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from bench.audit.peerapp.models import AuditlogPerson

        auditlog.register(AuditlogPerson)
        post_migrate.connect(_search_indexes, sender=self, dispatch_uid="peerapp-search-indexes")

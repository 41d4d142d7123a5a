"""Full-text search indexes: FTS5 trigrams on SQLite, pg_trgm GIN on PostgreSQL."""

from django.db import migrations

from registru.core.migration_ops import VendorSQL

DOCS = "people_personsearchdocument"

SQLITE = [
    # A table of its own (not external content with triggers): people.search writes it in the
    # same transaction as the documents, and a table rebuild by a later migration cannot
    # silently drop the triggers that would otherwise keep it in sync.
    "CREATE VIRTUAL TABLE people_search_fts USING fts5(document, tokenize='trigram')",
]
SQLITE_REVERSE = ["DROP TABLE IF EXISTS people_search_fts"]
POSTGRESQL = [
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX people_search_trgm ON {DOCS} USING gin (document gin_trgm_ops)",
]
POSTGRESQL_REVERSE = ["DROP INDEX IF EXISTS people_search_trgm"]


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]

    operations = [
        VendorSQL(
            sqlite=SQLITE,
            postgresql=POSTGRESQL,
            sqlite_reverse=SQLITE_REVERSE,
            postgresql_reverse=POSTGRESQL_REVERSE,
        )
    ]

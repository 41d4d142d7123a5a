"""Full-text search indexes: FTS5 trigrams on SQLite, pg_trgm GIN on PostgreSQL."""

from django.db import migrations

from registru.core.migration_ops import VendorSQL

DOCS = "people_personsearchdocument"

SQLITE = [
    f"CREATE VIRTUAL TABLE people_search_fts USING fts5(document, content='{DOCS}', "
    "content_rowid='person_id', tokenize='trigram')",
    f"CREATE TRIGGER people_search_ai AFTER INSERT ON {DOCS} BEGIN "
    "INSERT INTO people_search_fts(rowid, document) VALUES (new.person_id, new.document); END",
    f"CREATE TRIGGER people_search_ad AFTER DELETE ON {DOCS} BEGIN "
    "INSERT INTO people_search_fts(people_search_fts, rowid, document) "
    "VALUES ('delete', old.person_id, old.document); END",
    f"CREATE TRIGGER people_search_au AFTER UPDATE ON {DOCS} BEGIN "
    "INSERT INTO people_search_fts(people_search_fts, rowid, document) "
    "VALUES ('delete', old.person_id, old.document); "
    "INSERT INTO people_search_fts(rowid, document) VALUES (new.person_id, new.document); END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS people_search_au",
    "DROP TRIGGER IF EXISTS people_search_ad",
    "DROP TRIGGER IF EXISTS people_search_ai",
    "DROP TABLE IF EXISTS people_search_fts",
]
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

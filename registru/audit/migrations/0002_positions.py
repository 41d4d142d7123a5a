"""Event positions: a sequence on PostgreSQL (taken before the insert, so that an event's
canonical bytes can name its own position); SQLite takes MAX(id) + 1 under its write lock."""

from django.db import migrations

from registru.core.migration_ops import VendorSQL


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        VendorSQL(
            postgresql=["CREATE SEQUENCE audit_event_position AS bigint START 1"],
            postgresql_reverse=["DROP SEQUENCE IF EXISTS audit_event_position"],
        )
    ]

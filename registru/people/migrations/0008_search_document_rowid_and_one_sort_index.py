import django.db.models.deletion
from django.db import migrations, models

import registru.core.fields
from registru.core.migration_ops import VendorSQL

# Django's names for the index that ``db_index=True`` gave ``sort_key`` (and, on PostgreSQL,
# its ``varchar_pattern_ops`` twin for LIKE, which no query of ours uses).
SORT_KEY_INDEX = "people_person_sort_key_816129ed"


class Migration(migrations.Migration):
    dependencies = [("people", "0007_affiliation_covering_index")]

    operations = [
        # ``person_sort_idx`` (sort_key, id) serves every condition on the sort key; the
        # index of its own was a second copy written at every create and rename. Dropped
        # by name: Django's AlterField would rebuild the whole people table on SQLite.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="person",
                    name="sort_key",
                    field=models.CharField(editable=False, max_length=210),
                ),
            ],
            database_operations=[
                VendorSQL(
                    sqlite=[f"DROP INDEX IF EXISTS {SORT_KEY_INDEX}"],
                    sqlite_reverse=[f'CREATE INDEX {SORT_KEY_INDEX} ON "people_person" ("sort_key")'],
                    postgresql=[
                        f"DROP INDEX IF EXISTS {SORT_KEY_INDEX}",
                        f"DROP INDEX IF EXISTS {SORT_KEY_INDEX}_like",
                    ],
                    postgresql_reverse=[
                        f'CREATE INDEX {SORT_KEY_INDEX} ON "people_person" ("sort_key")',
                        f'CREATE INDEX {SORT_KEY_INDEX}_like ON "people_person" ("sort_key" varchar_pattern_ops)',
                    ],
                ),
            ],
        ),
        # On SQLite the search document's key becomes the table's rowid (registru.core.fields):
        # the table is rebuilt; its walk index is made again after ``migrate``
        # (``search.ensure_walk_index``). Nothing changes on PostgreSQL.
        migrations.AlterField(
            model_name="personsearchdocument",
            name="person",
            field=registru.core.fields.RowidOneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                primary_key=True,
                related_name="search_document",
                serialize=False,
                to="people.person",
            ),
        ),
    ]

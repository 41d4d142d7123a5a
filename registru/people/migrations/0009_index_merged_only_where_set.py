from django.db import migrations, models
from django.db.models import deletion

from registru.core.migration_ops import VendorSQL

# The indexes that ``db_index=True`` gave ``merged_into`` (Django's names, on both databases).
FULL_INDEXES = {
    "person": ("people_person", "people_person_merged_into_id_138bbee4"),
    "organization": ("people_organization", "people_organization_merged_into_id_cf89ef60"),
}


def _unindexed(model_name: str) -> migrations.SeparateDatabaseAndState:
    table, index = FULL_INDEXES[model_name]
    drop, create = [f"DROP INDEX IF EXISTS {index}"], [f'CREATE INDEX {index} ON "{table}" ("merged_into_id")']
    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.AlterField(
                model_name=model_name,
                name="merged_into",
                field=models.ForeignKey(
                    blank=True,
                    db_index=False,
                    null=True,
                    on_delete=deletion.PROTECT,
                    related_name="+",
                    to=f"people.{model_name}",
                ),
            ),
        ],
        # By name: Django's AlterField would rebuild the whole table on SQLite.
        database_operations=[VendorSQL(sqlite=drop, postgresql=drop, sqlite_reverse=create, postgresql_reverse=create)],
    )


class Migration(migrations.Migration):
    dependencies = [("people", "0008_search_document_rowid_and_one_sort_index")]

    # Almost no row is merged: the full index of ``merged_into`` was one more page written at
    # every create. A partial index serves every lookup of who was merged into whom.
    operations = [
        _unindexed("person"),
        _unindexed("organization"),
        migrations.AddIndex(
            model_name="organization",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", False)), fields=["merged_into"], name="org_merged_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="person",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", False)), fields=["merged_into"], name="person_merged_idx"
            ),
        ),
    ]

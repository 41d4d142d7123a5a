import registru.core.fields
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("vault", "0001_initial"),
    ]

    operations = [
        # On SQLite the key becomes the table's rowid (registru.core.fields), so the table is
        # rebuilt: the keys are copied as they are. Dropping the old table drops its guard triggers, without firing
        # them; they are installed again after every ``migrate``
        # (``core.dbguard.install_triggers``). Nothing changes on PostgreSQL.
        migrations.AlterField(
            model_name="personkey",
            name="person_id",
            field=registru.core.fields.RowidBigIntegerField(primary_key=True, serialize=False),
        ),
    ]

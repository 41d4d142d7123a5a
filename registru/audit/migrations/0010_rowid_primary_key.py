import registru.core.fields
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0009_security_and_export_actions"),
    ]

    operations = [
        # On SQLite the key becomes the table's rowid (registru.core.fields), so the table is
        # rebuilt: the trail's events are copied as they are (their canonical bytes and hashes unchanged). Dropping the old table drops its guard triggers, without firing
        # them; they are installed again after every ``migrate``
        # (``core.dbguard.install_triggers``). Nothing changes on PostgreSQL.
        migrations.AlterField(
            model_name="auditevent",
            name="id",
            field=registru.core.fields.RowidBigIntegerField(primary_key=True, serialize=False),
        ),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):
    """Prune records carry a signed statement; one without a valid statement is damage."""

    dependencies = [("audit", "0011_restriction_actions")]

    operations = [
        migrations.AddField(
            model_name="auditprune",
            name="statement",
            field=models.TextField(blank=True, default="", help_text="The signed JSON statement of the prune."),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditprune", name="signature", field=models.BinaryField(default=b"")
        ),
        migrations.AddField(
            model_name="auditprune",
            name="key_fingerprint",
            field=models.CharField(blank=True, default="", max_length=64),
            preserve_default=False,
        ),
    ]

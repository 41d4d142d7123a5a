from django.db import migrations, models


class Migration(migrations.Migration):
    """Verification outcomes carry a signed statement; the pages show only signed ones."""

    dependencies = [("audit", "0013_state_verification")]

    operations = [
        migrations.AddField(
            model_name="trailverification", name="statement", field=models.TextField(blank=True, default="")
        ),
        migrations.AddField(
            model_name="trailverification", name="signature", field=models.BinaryField(default=b"")
        ),
        migrations.AddField(
            model_name="trailverification",
            name="key_fingerprint",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
    ]

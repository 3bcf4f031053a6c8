from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_outbox")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="message",
            name="digest",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]

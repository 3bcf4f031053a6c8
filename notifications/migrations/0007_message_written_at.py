from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notifications", "0006_replies_fix")]

    operations = [
        migrations.AddField(
            model_name="message",
            name="written_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]

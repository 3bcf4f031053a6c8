import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0006_stripe_connect")]

    operations = [
        migrations.CreateModel(
            name="MessagingService",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sid", models.CharField(max_length=34, unique=True)),
                ("claimed_at", models.DateTimeField(auto_now=True)),
                (
                    "clinic",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messaging_service",
                        to="tenants.clinic",
                    ),
                ),
            ],
        ),
    ]

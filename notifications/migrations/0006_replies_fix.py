from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notifications", "0005_templates")]

    operations = [
        migrations.CreateModel(
            name="NumberAnswered",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.CharField(max_length=32, unique=True)),
                ("helped_at", models.DateTimeField(blank=True, null=True)),
                ("command", models.CharField(blank=True, max_length=40)),
                ("command_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.AddField(
            model_name="inboundmessage",
            name="messaging_service_sid",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="inboundmessage",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("confirmed", "Appointment confirmed"),
                    ("already_confirmed", "Already confirmed"),
                    ("cancelled", "Appointment cancelled"),
                    ("too_late", "Too late to cancel by text"),
                    ("not_changeable", "Appointment no longer changeable"),
                    ("no_appointment", "No upcoming appointment found"),
                    ("ambiguous", "Several appointments: not told which"),
                    ("unknown_sender", "Number of no patient"),
                    ("opted_out", "Texts stopped"),
                    ("opted_in", "Texts started again"),
                    ("answered", "Answered with help"),
                    ("silent", "Recorded, not answered again"),
                    ("other_service", "Not to this clinic's own number"),
                ],
                max_length=20,
            ),
        ),
    ]

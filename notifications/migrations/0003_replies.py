import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_sending")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="InboundMessage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sid", models.CharField(max_length=64, unique=True)),
                ("from_number", models.CharField(max_length=32)),
                ("to_number", models.CharField(blank=True, max_length=32)),
                ("body", models.TextField(blank=True)),
                ("opt_out_type", models.CharField(blank=True, max_length=16)),
                (
                    "intent",
                    models.CharField(
                        choices=[
                            ("confirm", "Confirm"),
                            ("cancel", "Cancel"),
                            ("stop", "Stop texts"),
                            ("start", "Texts again"),
                            ("help", "Help"),
                            ("other", "Something else"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "outcome",
                    models.CharField(
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
                        ],
                        max_length=20,
                    ),
                ),
                ("detail", models.CharField(blank=True, max_length=500)),
                ("patients_matched", models.PositiveSmallIntegerField(default=0)),
                ("received_at", models.DateTimeField()),
                (
                    "answers",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="notifications.message",
                    ),
                ),
                (
                    "appointment",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="inbound_messages",
                        to="scheduling.calendarentry",
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="inbound_messages",
                        to="patients.patient",
                    ),
                ),
                (
                    "reply",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="notifications.message",
                    ),
                ),
            ],
            options={
                "ordering": ["-received_at", "-id"],
                "indexes": [
                    models.Index(fields=["from_number", "-received_at"], name="inbound_from"),
                    models.Index(fields=["patient", "-received_at"], name="inbound_patient"),
                    models.Index(fields=["-received_at"], name="inbound_received"),
                ],
            },
        ),
    ]

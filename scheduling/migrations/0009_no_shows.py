from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0008_service_length_adjustable")]

    operations: list[migrations.operations.base.Operation] = [
        *(
            migrations.AddField(model_name=model, name=name, field=field)
            for model in ("historicalschedulingpolicy", "schedulingpolicy")
            for name, field in (
                ("no_show_auto", models.BooleanField(default=True)),
                ("no_show_grace_minutes", models.PositiveIntegerField(default=15)),
                ("no_show_flag_after", models.PositiveIntegerField(default=2)),
                ("no_show_flag_months", models.PositiveIntegerField(default=12)),
            )
        ),
        migrations.AddIndex(
            model_name="calendarentry",
            index=models.Index(
                models.Func(models.F("span"), function="lower", output_field=models.DateTimeField()),
                condition=models.Q(("status__in", ["booked", "confirmed"])),
                name="calendar_awaiting_start",
            ),
        ),
    ]

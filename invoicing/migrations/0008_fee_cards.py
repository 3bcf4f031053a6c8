from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0007_ledger_refunds")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="feecharge",
            name="deposit_kept_minor",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="historicalfeecharge",
            name="deposit_kept_minor",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="feecharge",
            name="last_error_by_stripe",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="historicalfeecharge",
            name="last_error_by_stripe",
            field=models.BooleanField(default=False),
        ),
        migrations.AddConstraint(
            model_name="feecharge",
            constraint=models.CheckConstraint(
                condition=models.Q(("deposit_kept_minor__lte", models.F("amount_minor"))),
                name="fee_charge_deposit_within_fee",
            ),
        ),
    ]

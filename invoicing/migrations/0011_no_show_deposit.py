from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0010_card_setup")]

    operations: list[migrations.operations.base.Operation] = [
        *(
            migrations.AddField(model_name=model, name=name, field=field)
            for model in ("historicalonlinepaymentpolicy", "onlinepaymentpolicy")
            for name, field in (
                ("no_show_deposit_after", models.PositiveIntegerField(default=0)),
                ("no_show_deposit_minor", models.BigIntegerField(default=0)),
            )
        ),
        migrations.AddConstraint(
            model_name="onlinepaymentpolicy",
            constraint=models.CheckConstraint(
                condition=models.Q(("no_show_deposit_minor__gte", 0)), name="online_payment_policy_no_show_deposit"
            ),
        ),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0005_package_sales")]

    operations: list[migrations.operations.base.Operation] = [
        # A Stripe payment that arrives for an invoice already paid, credited or voided is recorded
        # with its excess refunded: what is kept (paid less refunded) stays within what is owed.
        migrations.RemoveConstraint(model_name="invoice", name="invoice_paid_within_total"),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    paid_minor__lte=models.F("total_minor") - models.F("credited_minor") + models.F("refunded_minor")
                ),
                name="invoice_kept_within_total",
            ),
        ),
    ]

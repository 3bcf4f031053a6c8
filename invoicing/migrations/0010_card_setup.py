import django.db.models.deletion
from django.db import migrations, models

PURPOSES = [
    ("booking_deposit", "Deposit for an online booking"),
    ("booking_prepayment", "Prepayment of an online booking"),
    ("package_sale", "Package bought online"),
    ("card_setup", "Card saved for an online booking"),
]
STATUSES = [
    ("open", "Waiting for payment"),
    ("paid", "Paid"),
    ("expired", "Not paid in time"),
    ("refunded", "Paid too late: refunded"),
    ("card_saved", "Card saved"),
]


class Migration(migrations.Migration):
    """A card saved at online booking: a checkout in setup mode charges nothing and has no invoice."""

    dependencies = [("invoicing", "0009_reconciliation_actions")]

    operations = [
        migrations.RemoveConstraint(model_name="onlinecheckout", name="online_checkout_amount_positive"),
        migrations.AddField(
            model_name="historicalonlinecheckout",
            name="payment_method_id",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name="historicalonlinecheckout",
            name="setup_intent_id",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name="onlinecheckout", name="payment_method_id", field=models.CharField(blank=True, max_length=255)
        ),
        migrations.AddField(
            model_name="onlinecheckout", name="setup_intent_id", field=models.CharField(blank=True, max_length=255)
        ),
        migrations.AlterField(
            model_name="historicalonlinecheckout",
            name="purpose",
            field=models.CharField(choices=PURPOSES, max_length=20),
        ),
        migrations.AlterField(
            model_name="historicalonlinecheckout",
            name="status",
            field=models.CharField(choices=STATUSES, default="open", max_length=10),
        ),
        migrations.AlterField(
            model_name="onlinecheckout",
            name="invoice",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="checkouts",
                to="invoicing.invoice",
            ),
        ),
        migrations.AlterField(
            model_name="onlinecheckout", name="purpose", field=models.CharField(choices=PURPOSES, max_length=20)
        ),
        migrations.AlterField(
            model_name="onlinecheckout",
            name="status",
            field=models.CharField(choices=STATUSES, default="open", max_length=10),
        ),
        migrations.AddConstraint(
            model_name="onlinecheckout",
            constraint=models.CheckConstraint(
                condition=(models.Q(amount_minor__gt=0, invoice__isnull=False) & ~models.Q(purpose="card_setup"))
                | models.Q(purpose="card_setup", amount_minor=0, invoice__isnull=True),
                name="online_checkout_amount_or_card_setup",
            ),
        ),
    ]

# Invoices for session packages sold.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0004_reconciliation"), ("packages", "0001_packages")]

    operations = [
        migrations.CreateModel(
            name="PackageSale",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "invoice",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="package_sale", to="invoicing.invoice"
                    ),
                ),
                (
                    "purchase",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="sale", to="packages.packagepurchase"
                    ),
                ),
            ],
        ),
    ]

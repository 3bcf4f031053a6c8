import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0006_online_setup"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="historicalrefund",
            name="credit_note",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="invoicing.creditnote",
            ),
        ),
        migrations.AddField(
            model_name="refund",
            name="credit_note",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="refunds",
                to="invoicing.creditnote",
            ),
        ),
        migrations.CreateModel(
            name="HistoricalInvoiceProfile",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "registration_number",
                    models.CharField(
                        blank=True, help_text="Company registration number, as registered.", max_length=40
                    ),
                ),
                ("tax_number", models.CharField(blank=True, help_text="VAT or other tax number.", max_length=40)),
                (
                    "billing_email",
                    models.EmailField(
                        blank=True,
                        help_text="Where patients write about invoices (not a staff member's sign-in).",
                        max_length=254,
                    ),
                ),
                ("updated_at", models.DateTimeField(blank=True, editable=False)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "historical invoice profile",
                "verbose_name_plural": "historical invoice profiles",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="InvoiceProfile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "registration_number",
                    models.CharField(
                        blank=True, help_text="Company registration number, as registered.", max_length=40
                    ),
                ),
                ("tax_number", models.CharField(blank=True, help_text="VAT or other tax number.", max_length=40)),
                (
                    "billing_email",
                    models.EmailField(
                        blank=True,
                        help_text="Where patients write about invoices (not a staff member's sign-in).",
                        max_length=254,
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("id", 1)), name="invoice_profile_singleton")
                ],
            },
        ),
    ]

# Cancellation and no-show fees, the chain's fee policy and cards on file (fees12).

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0001_ledger"),
        ("patients", "0009_booking_code_uses"),
        ("scheduling", "0008_service_length_adjustable"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="FeeCharge",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("no_show", "No-show"), ("late_cancellation", "Late cancellation")], max_length=20
                    ),
                ),
                ("amount_minor", models.PositiveIntegerField()),
                ("currency", models.CharField(max_length=3)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting to be charged"),
                            ("charging", "Being charged"),
                            ("succeeded", "Charged"),
                            ("failed", "Charge failed"),
                            ("no_card", "No card on file"),
                            ("waived", "Waived"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("payment_intent_id", models.CharField(blank=True, max_length=64)),
                ("last_error", models.CharField(blank=True, max_length=300)),
                ("claimed_at", models.DateTimeField(blank=True, null=True)),
                ("charged_at", models.DateTimeField(blank=True, null=True)),
                ("waived_reason", models.CharField(blank=True, max_length=300)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="FeePolicy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "no_show_rule",
                    models.CharField(
                        choices=[
                            ("none", "No fee"),
                            ("fixed", "A fixed amount"),
                            ("percent", "A percentage of the service's price"),
                        ],
                        default="none",
                        max_length=10,
                    ),
                ),
                ("no_show_amount_minor", models.PositiveIntegerField(default=0)),
                ("no_show_percent_bp", models.PositiveIntegerField(default=0)),
                (
                    "late_cancel_rule",
                    models.CharField(
                        choices=[
                            ("none", "No fee"),
                            ("fixed", "A fixed amount"),
                            ("percent", "A percentage of the service's price"),
                        ],
                        default="none",
                        max_length=10,
                    ),
                ),
                ("late_cancel_amount_minor", models.PositiveIntegerField(default=0)),
                ("late_cancel_percent_bp", models.PositiveIntegerField(default=0)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.CreateModel(
            name="HistoricalFeeCharge",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("no_show", "No-show"), ("late_cancellation", "Late cancellation")], max_length=20
                    ),
                ),
                ("amount_minor", models.PositiveIntegerField()),
                ("currency", models.CharField(max_length=3)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting to be charged"),
                            ("charging", "Being charged"),
                            ("succeeded", "Charged"),
                            ("failed", "Charge failed"),
                            ("no_card", "No card on file"),
                            ("waived", "Waived"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("payment_intent_id", models.CharField(blank=True, max_length=64)),
                ("last_error", models.CharField(blank=True, max_length=300)),
                ("claimed_at", models.DateTimeField(blank=True, null=True)),
                ("charged_at", models.DateTimeField(blank=True, null=True)),
                ("waived_reason", models.CharField(blank=True, max_length=300)),
                ("created_at", models.DateTimeField(blank=True, editable=False)),
                ("updated_at", models.DateTimeField(blank=True, editable=False)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
            ],
            options={
                "verbose_name": "historical fee charge",
                "verbose_name_plural": "historical fee charges",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalFeePolicy",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "no_show_rule",
                    models.CharField(
                        choices=[
                            ("none", "No fee"),
                            ("fixed", "A fixed amount"),
                            ("percent", "A percentage of the service's price"),
                        ],
                        default="none",
                        max_length=10,
                    ),
                ),
                ("no_show_amount_minor", models.PositiveIntegerField(default=0)),
                ("no_show_percent_bp", models.PositiveIntegerField(default=0)),
                (
                    "late_cancel_rule",
                    models.CharField(
                        choices=[
                            ("none", "No fee"),
                            ("fixed", "A fixed amount"),
                            ("percent", "A percentage of the service's price"),
                        ],
                        default="none",
                        max_length=10,
                    ),
                ),
                ("late_cancel_amount_minor", models.PositiveIntegerField(default=0)),
                ("late_cancel_percent_bp", models.PositiveIntegerField(default=0)),
                ("updated_at", models.DateTimeField(blank=True, editable=False)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
            ],
            options={
                "verbose_name": "historical fee policy",
                "verbose_name_plural": "historical fee policys",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalSavedCard",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("customer_id", models.CharField(max_length=64)),
                ("payment_method_id", models.CharField(db_index=True, max_length=64)),
                ("brand", models.CharField(max_length=20)),
                ("last4", models.CharField(max_length=4)),
                ("exp_month", models.PositiveSmallIntegerField()),
                ("exp_year", models.PositiveSmallIntegerField()),
                ("saved_at", models.DateTimeField()),
                ("removed_at", models.DateTimeField(blank=True, null=True)),
                ("removed_reason", models.CharField(blank=True, max_length=200)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
            ],
            options={
                "verbose_name": "historical saved card",
                "verbose_name_plural": "historical saved cards",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="SavedCard",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("customer_id", models.CharField(max_length=64)),
                ("payment_method_id", models.CharField(max_length=64, unique=True)),
                ("brand", models.CharField(max_length=20)),
                ("last4", models.CharField(max_length=4)),
                ("exp_month", models.PositiveSmallIntegerField()),
                ("exp_year", models.PositiveSmallIntegerField()),
                ("saved_at", models.DateTimeField()),
                ("removed_at", models.DateTimeField(blank=True, null=True)),
                ("removed_reason", models.CharField(blank=True, max_length=200)),
            ],
            options={
                "ordering": ["-saved_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="StripeCustomer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("account_id", models.CharField(max_length=64)),
                ("customer_id", models.CharField(max_length=64, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.AddField(
            model_name="historicalinvoice",
            name="kind",
            field=models.CharField(
                choices=[("standard", "Invoice"), ("fee", "Fee")], default="standard", max_length=12
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="kind",
            field=models.CharField(
                choices=[("standard", "Invoice"), ("fee", "Fee")], default="standard", max_length=12
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("method", "stripe"), models.Q(("reference", ""), _negated=True)),
                fields=("reference",),
                name="payment_stripe_reference_unique",
            ),
        ),
        migrations.AddField(
            model_name="feecharge",
            name="appointment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="fee_charges", to="scheduling.calendarentry"
            ),
        ),
        migrations.AddField(
            model_name="feecharge",
            name="invoice",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT, related_name="fee_charge", to="invoicing.invoice"
            ),
        ),
        migrations.AddField(
            model_name="feecharge",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="fee_charges", to="patients.patient"
            ),
        ),
        migrations.AddField(
            model_name="feepolicy",
            name="updated_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="historicalfeecharge",
            name="appointment",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="scheduling.calendarentry",
            ),
        ),
        migrations.AddField(
            model_name="historicalfeecharge",
            name="history_user",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="historicalfeecharge",
            name="invoice",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="invoicing.invoice",
            ),
        ),
        migrations.AddField(
            model_name="historicalfeecharge",
            name="patient",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="patients.patient",
            ),
        ),
        migrations.AddField(
            model_name="historicalfeepolicy",
            name="history_user",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="historicalfeepolicy",
            name="updated_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="historicalsavedcard",
            name="history_user",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="historicalsavedcard",
            name="patient",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="patients.patient",
            ),
        ),
        migrations.AddField(
            model_name="historicalsavedcard",
            name="saved_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="savedcard",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="saved_cards", to="patients.patient"
            ),
        ),
        migrations.AddField(
            model_name="savedcard",
            name="saved_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="historicalfeecharge",
            name="card",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="invoicing.savedcard",
            ),
        ),
        migrations.AddField(
            model_name="feecharge",
            name="card",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="invoicing.savedcard",
            ),
        ),
        migrations.AddField(
            model_name="stripecustomer",
            name="patient",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT, related_name="stripe_customer", to="patients.patient"
            ),
        ),
        migrations.AddConstraint(
            model_name="feepolicy",
            constraint=models.CheckConstraint(
                condition=models.Q(("late_cancel_percent_bp__lte", 10000), ("no_show_percent_bp__lte", 10000)),
                name="fee_policy_percent_at_most_whole",
            ),
        ),
        migrations.AddConstraint(
            model_name="savedcard",
            constraint=models.UniqueConstraint(
                condition=models.Q(("removed_at__isnull", True)),
                fields=("patient",),
                name="saved_card_one_live_per_patient",
            ),
        ),
        migrations.AddConstraint(
            model_name="savedcard",
            constraint=models.CheckConstraint(
                condition=models.Q(("exp_month__gte", 1), ("exp_month__lte", 12)), name="saved_card_exp_month"
            ),
        ),
        migrations.AddIndex(
            model_name="feecharge",
            index=models.Index(fields=["status"], name="invoicing_f_status_42b270_idx"),
        ),
        migrations.AddConstraint(
            model_name="feecharge",
            constraint=models.UniqueConstraint(
                fields=("appointment", "kind"), name="fee_charge_one_per_appointment_kind"
            ),
        ),
        migrations.AddConstraint(
            model_name="feecharge",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_minor__gt", 0)), name="fee_charge_amount_positive"
            ),
        ),
    ]

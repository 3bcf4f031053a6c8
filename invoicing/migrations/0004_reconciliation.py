# Reconciliation of the connected account's balance transactions and payouts.
import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0003_online_checkout"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ReconciliationRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("period_start", models.DateTimeField()),
                ("period_end", models.DateTimeField()),
                (
                    "status",
                    models.CharField(
                        choices=[("running", "Running"), ("complete", "Complete"), ("failed", "Failed")],
                        default="running",
                        max_length=10,
                    ),
                ),
                ("started_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("transactions", models.PositiveIntegerField(default=0)),
                ("payouts", models.PositiveIntegerField(default=0)),
                ("matched", models.PositiveIntegerField(default=0)),
                ("mismatches", models.PositiveIntegerField(default=0)),
                ("error", models.TextField(blank=True)),
            ],
            options={
                "ordering": ["-period_start", "-pk"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("period_start", "period_end"), name="reconciliation_run_one_per_period"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("period_end__gt", models.F("period_start"))),
                        name="reconciliation_run_period",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Payout",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("stripe_id", models.CharField(max_length=64, unique=True)),
                ("amount_minor", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("arrival_date", models.DateField(blank=True, null=True)),
                ("status", models.CharField(max_length=20)),
                ("created_at_stripe", models.DateTimeField()),
                (
                    "run",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="invoicing.reconciliationrun",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at_stripe", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="HistoricalMismatch",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("key", models.CharField(db_index=True, max_length=120)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("missing_here", "Missing here"),
                            ("missing_at_stripe", "Missing at Stripe"),
                            ("amount_differs", "Amount differs"),
                            ("currency_differs", "Currency differs"),
                        ],
                        max_length=20,
                    ),
                ),
                ("stripe_id", models.CharField(blank=True, max_length=64)),
                ("transaction_type", models.CharField(blank=True, max_length=40)),
                ("stripe_amount_minor", models.BigIntegerField(blank=True, null=True)),
                ("stripe_currency", models.CharField(blank=True, max_length=3)),
                ("local_amount_minor", models.BigIntegerField(blank=True, null=True)),
                ("local_currency", models.CharField(blank=True, max_length=3)),
                ("found_at", models.DateTimeField(blank=True, editable=False)),
                ("resolved_at", models.DateTimeField(blank=True, null=True)),
                ("resolution_note", models.TextField(blank=True)),
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
                (
                    "payment",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="invoicing.payment",
                    ),
                ),
                (
                    "refund",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="invoicing.refund",
                    ),
                ),
                (
                    "resolved_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "found_in",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="invoicing.reconciliationrun",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical mismatch",
                "verbose_name_plural": "historical mismatchs",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="BalanceTransaction",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("stripe_id", models.CharField(max_length=64, unique=True)),
                ("type", models.CharField(max_length=40)),
                ("amount_minor", models.BigIntegerField()),
                ("fee_minor", models.BigIntegerField(default=0)),
                ("net_minor", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("created_at_stripe", models.DateTimeField(db_index=True)),
                ("source_id", models.CharField(blank=True, max_length=64)),
                ("payment_intent", models.CharField(blank=True, db_index=True, max_length=64)),
                (
                    "payment",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="balance_transactions",
                        to="invoicing.payment",
                    ),
                ),
                (
                    "refund",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="balance_transactions",
                        to="invoicing.refund",
                    ),
                ),
                (
                    "payout",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="transactions",
                        to="invoicing.payout",
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="invoicing.reconciliationrun",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at_stripe", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="Mismatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=120, unique=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("missing_here", "Missing here"),
                            ("missing_at_stripe", "Missing at Stripe"),
                            ("amount_differs", "Amount differs"),
                            ("currency_differs", "Currency differs"),
                        ],
                        max_length=20,
                    ),
                ),
                ("stripe_id", models.CharField(blank=True, max_length=64)),
                ("transaction_type", models.CharField(blank=True, max_length=40)),
                ("stripe_amount_minor", models.BigIntegerField(blank=True, null=True)),
                ("stripe_currency", models.CharField(blank=True, max_length=3)),
                ("local_amount_minor", models.BigIntegerField(blank=True, null=True)),
                ("local_currency", models.CharField(blank=True, max_length=3)),
                ("found_at", models.DateTimeField(auto_now_add=True)),
                ("resolved_at", models.DateTimeField(blank=True, null=True)),
                ("resolution_note", models.TextField(blank=True)),
                (
                    "payment",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="invoicing.payment",
                    ),
                ),
                (
                    "refund",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="invoicing.refund",
                    ),
                ),
                (
                    "resolved_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "found_in",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="found",
                        to="invoicing.reconciliationrun",
                    ),
                ),
            ],
            options={
                "ordering": ["-found_at", "-pk"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("resolved_at__isnull", True)), fields=["kind"], name="mismatch_open_kind"
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("resolved_at__isnull", True),
                            models.Q(("resolution_note", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="mismatch_resolved_has_note",
                    )
                ],
            },
        ),
    ]

# Deposits and prepayment during online booking, tied to the hold.
import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0002_fees"),
        ("patients", "0009_booking_code_uses"),
        ("scheduling", "0008_service_length_adjustable"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoricalOnlineCheckout",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "purpose",
                    models.CharField(
                        choices=[
                            ("booking_deposit", "Deposit for an online booking"),
                            ("booking_prepayment", "Prepayment of an online booking"),
                            ("package_sale", "Package bought online"),
                        ],
                        max_length=20,
                    ),
                ),
                ("description", models.CharField(max_length=200)),
                ("amount_minor", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("notes", models.CharField(blank=True, max_length=200)),
                ("return_token", models.CharField(db_index=True, max_length=64)),
                ("success_path", models.CharField(max_length=200)),
                ("cancel_path", models.CharField(max_length=200)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "Waiting for payment"),
                            ("paid", "Paid"),
                            ("expired", "Not paid in time"),
                            ("refunded", "Paid too late: refunded"),
                        ],
                        default="open",
                        max_length=10,
                    ),
                ),
                ("account_id", models.CharField(max_length=255)),
                ("session_id", models.CharField(blank=True, db_index=True, max_length=255, null=True)),
                ("session_url", models.TextField(blank=True)),
                ("expires_at", models.DateTimeField()),
                ("payment_intent_id", models.CharField(blank=True, max_length=255)),
                ("created_at", models.DateTimeField(blank=True, editable=False)),
                ("settled_at", models.DateTimeField(blank=True, null=True)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
            ],
            options={
                "verbose_name": "historical online checkout",
                "verbose_name_plural": "historical online checkouts",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalOnlinePaymentPolicy",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("none", "Nothing online: pay at the visit"),
                            ("fixed", "A fixed deposit"),
                            ("percent", "A percentage of the price"),
                            ("full", "The full price (prepayment)"),
                        ],
                        default="none",
                        max_length=10,
                    ),
                ),
                ("amount_minor", models.BigIntegerField(default=0, help_text="The fixed deposit, in minor units.")),
                (
                    "percent_bp",
                    models.PositiveIntegerField(default=0, help_text="Basis points of the price: 2500 is 25%."),
                ),
                ("ask_for_card", models.BooleanField(default=False)),
                ("refund_deposit_on_timely_cancel", models.BooleanField(default=False)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1),
                ),
            ],
            options={
                "verbose_name": "historical online payment policy",
                "verbose_name_plural": "historical online payment policys",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="OnlineCheckout",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "purpose",
                    models.CharField(
                        choices=[
                            ("booking_deposit", "Deposit for an online booking"),
                            ("booking_prepayment", "Prepayment of an online booking"),
                            ("package_sale", "Package bought online"),
                        ],
                        max_length=20,
                    ),
                ),
                ("description", models.CharField(max_length=200)),
                ("amount_minor", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("notes", models.CharField(blank=True, max_length=200)),
                ("return_token", models.CharField(max_length=64, unique=True)),
                ("success_path", models.CharField(max_length=200)),
                ("cancel_path", models.CharField(max_length=200)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "Waiting for payment"),
                            ("paid", "Paid"),
                            ("expired", "Not paid in time"),
                            ("refunded", "Paid too late: refunded"),
                        ],
                        default="open",
                        max_length=10,
                    ),
                ),
                ("account_id", models.CharField(max_length=255)),
                ("session_id", models.CharField(blank=True, max_length=255, null=True, unique=True)),
                ("session_url", models.TextField(blank=True)),
                ("expires_at", models.DateTimeField()),
                ("payment_intent_id", models.CharField(blank=True, max_length=255)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("settled_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="OnlinePaymentPolicy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("none", "Nothing online: pay at the visit"),
                            ("fixed", "A fixed deposit"),
                            ("percent", "A percentage of the price"),
                            ("full", "The full price (prepayment)"),
                        ],
                        default="none",
                        max_length=10,
                    ),
                ),
                ("amount_minor", models.BigIntegerField(default=0, help_text="The fixed deposit, in minor units.")),
                (
                    "percent_bp",
                    models.PositiveIntegerField(default=0, help_text="Basis points of the price: 2500 is 25%."),
                ),
                ("ask_for_card", models.BooleanField(default=False)),
                ("refund_deposit_on_timely_cancel", models.BooleanField(default=False)),
            ],
        ),
        migrations.AddField(
            model_name="historicalrefund",
            name="failure_message",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="historicalrefund",
            name="stripe_refund_id",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name="refund",
            name="failure_message",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="refund",
            name="stripe_refund_id",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name="historicalonlinecheckout",
            name="history_user",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="historicalonlinecheckout",
            name="hold",
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
            model_name="historicalonlinecheckout",
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
            model_name="historicalonlinecheckout",
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
            model_name="historicalonlinecheckout",
            name="payment",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="invoicing.payment",
            ),
        ),
        migrations.AddField(
            model_name="historicalonlinepaymentpolicy",
            name="history_user",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="historicalonlinepaymentpolicy",
            name="service",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="scheduling.service",
            ),
        ),
        migrations.AddField(
            model_name="onlinecheckout",
            name="hold",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="scheduling.calendarentry",
            ),
        ),
        migrations.AddField(
            model_name="onlinecheckout",
            name="invoice",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="checkouts", to="invoicing.invoice"
            ),
        ),
        migrations.AddField(
            model_name="onlinecheckout",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="patients.patient"
            ),
        ),
        migrations.AddField(
            model_name="onlinecheckout",
            name="payment",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="checkout",
                to="invoicing.payment",
            ),
        ),
        migrations.AddField(
            model_name="onlinepaymentpolicy",
            name="service",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="online_payment_policy",
                to="scheduling.service",
            ),
        ),
        migrations.AddIndex(
            model_name="onlinecheckout",
            index=models.Index(fields=["status", "expires_at"], name="invoicing_o_status_949254_idx"),
        ),
        migrations.AddConstraint(
            model_name="onlinecheckout",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_minor__gt", 0)), name="online_checkout_amount_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="onlinecheckout",
            constraint=models.UniqueConstraint(
                condition=models.Q(("hold__isnull", False), ("status", "open")),
                fields=("hold",),
                name="online_checkout_one_open_per_hold",
            ),
        ),
        migrations.AddConstraint(
            model_name="onlinepaymentpolicy",
            constraint=models.UniqueConstraint(
                condition=models.Q(("service__isnull", True)),
                fields=("service",),
                name="online_payment_policy_one_chain_row",
                nulls_distinct=False,
            ),
        ),
        migrations.AddConstraint(
            model_name="onlinepaymentpolicy",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_minor__gte", 0), ("percent_bp__lte", 10000)),
                name="online_payment_policy_amounts",
            ),
        ),
    ]

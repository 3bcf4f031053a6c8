"""What the ledger's API reads and answers. Amounts are integer minor units of the invoice's currency."""

from __future__ import annotations

from rest_framework import serializers

from config.fields import StrictBooleanField, StrictIntegerField, max_length
from invoicing.models import DESK_METHODS, CreditNote, Invoice, InvoiceLine, Payment, Refund

AMOUNT_HELP = "minor units of the invoice's currency (pence, cents)"


class LineOut(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = [
            "description",
            "service",
            "quantity",
            "unit_price_minor",
            "discount_minor",
            "tax_rate_bp",
            "subtotal_minor",
            "tax_minor",
            "total_minor",
        ]


class PaymentOut(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "method", "amount_minor", "refunded_minor", "currency", "reference", "status", "received_at"]


class RefundOut(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "payment", "amount_minor", "reason", "status", "at", "credit_note"]


class CreditNoteOut(serializers.ModelSerializer):
    class Meta:
        model = CreditNote
        fields = ["id", "number", "invoice", "amount_minor", "reason", "issued_at"]


class InvoiceOut(serializers.ModelSerializer):
    due_minor = serializers.IntegerField(read_only=True, help_text="what is still owed, " + AMOUNT_HELP)
    patient_name = serializers.CharField(source="patient.__str__", read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "status",
            "patient",
            "patient_name",
            "branch",
            "appointment",
            "currency",
            "subtotal_minor",
            "discount_minor",
            "tax_minor",
            "total_minor",
            "paid_minor",
            "refunded_minor",
            "credited_minor",
            "due_minor",
            "issued_at",
            "due_at",
        ]


class InvoiceDetailOut(InvoiceOut):
    lines = LineOut(many=True, read_only=True)
    payments = PaymentOut(many=True, read_only=True)
    credit_notes = CreditNoteOut(many=True, read_only=True)

    class Meta(InvoiceOut.Meta):
        fields = [*InvoiceOut.Meta.fields, "lines", "payments", "credit_notes"]


class PaymentIn(serializers.Serializer):
    method = serializers.ChoiceField(choices=[m.value for m in DESK_METHODS])
    amount_minor = StrictIntegerField(min_value=1, help_text=AMOUNT_HELP)
    reference = serializers.CharField(
        max_length=max_length(Payment, "reference"), required=False, allow_blank=True, default=""
    )


class AmountReasonIn(serializers.Serializer):
    amount_minor = StrictIntegerField(min_value=1, help_text=AMOUNT_HELP)
    reason = serializers.CharField(max_length=500)


class CreditNoteIn(AmountReasonIn):
    refund_freed = StrictBooleanField(
        required=False,
        default=False,
        help_text="Refund what the credit note frees of what was paid (needed when it credits more than is owed).",
    )


class VoidIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class BalanceOut(serializers.Serializer):
    currency = serializers.CharField()
    owed_minor = serializers.IntegerField(help_text=AMOUNT_HELP)
    open_invoices = serializers.IntegerField()


class ReceivableOut(serializers.Serializer):
    patient = serializers.IntegerField(source="patient_id")
    patient_name = serializers.CharField()
    currency = serializers.CharField()
    current = serializers.IntegerField(source="buckets.current", help_text="Not yet due (minor units).")
    days_0_30 = serializers.IntegerField(
        help_text="Deprecated: not yet due and 1-30 days past due together (current + days_1_30)."
    )
    days_1_30 = serializers.IntegerField(source="buckets.1_30")
    days_31_60 = serializers.IntegerField(source="buckets.31_60")
    days_61_90 = serializers.IntegerField(source="buckets.61_90")
    days_over_90 = serializers.IntegerField(source="buckets.over_90")
    past_due_minor = serializers.IntegerField()
    total_minor = serializers.IntegerField()

"""What the packages API reads and answers. Prices are integer minor units of the chain's currency."""

from __future__ import annotations

from rest_framework import serializers

from config.fields import StrictIntegerField
from packages.models import PackageProduct, PackagePurchase, PackageSession
from scheduling.models import Service
from tenants.org.models import Branch


class ProductOut(serializers.ModelSerializer):
    class Meta:
        model = PackageProduct
        fields = [
            "id",
            "name",
            "services",
            "sessions",
            "price_minor",
            "currency",
            "validity_days",
            "branches",
            "is_active",
        ]


class ProductIn(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    services = serializers.PrimaryKeyRelatedField(queryset=Service.objects.filter(is_active=True), many=True)
    sessions = StrictIntegerField(min_value=1, max_value=1000)
    price_minor = StrictIntegerField(min_value=0, max_value=100_000_000, help_text="minor units (pence, cents)")
    validity_days = StrictIntegerField(min_value=1, max_value=3650)
    branches = serializers.PrimaryKeyRelatedField(
        queryset=Branch.objects.all(), many=True, required=False, help_text="none: sold at every branch"
    )


class PurchaseOut(serializers.ModelSerializer):
    left = serializers.IntegerField(read_only=True, help_text="sessions neither used nor reserved")

    class Meta:
        model = PackagePurchase
        fields = [
            "id",
            "product",
            "patient",
            "branch",
            "name",
            "sessions_total",
            "used",
            "reserved",
            "left",
            "price_minor",
            "currency",
            "status",
            "sold_at",
            "expires_at",
            "cancelled_at",
            "cancel_reason",
            "cancel_note",
        ]


class SellIn(serializers.Serializer):
    product = StrictIntegerField(min_value=1)
    branch = StrictIntegerField(min_value=1)


class SessionOut(serializers.ModelSerializer):
    start = serializers.DateTimeField(source="appointment.span.lower", read_only=True)
    patient = serializers.IntegerField(source="purchase.patient_id", read_only=True)

    class Meta:
        model = PackageSession
        fields = ["id", "purchase", "appointment", "patient", "start", "status", "reserved_at"]


class ProductPendingOut(serializers.Serializer):
    product_id = serializers.IntegerField()
    name = serializers.CharField()
    active_purchases = serializers.IntegerField()
    sessions_reserved = serializers.IntegerField()
    sessions_left = serializers.IntegerField()
    sessions_pending = serializers.IntegerField()

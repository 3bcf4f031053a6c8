from __future__ import annotations

from rest_framework import serializers

from config.fields import IdListField, StrictBooleanField, TokenField, max_length
from tenants.org.models import STAFF_ROLES, Branch, ChainSettings, Invitation, StaffMember

ROLE_CHOICES = [(r.value, r.label) for r in STAFF_ROLES]


class ChainSettingsOut(serializers.ModelSerializer):
    class Meta:
        model = ChainSettings
        fields = ["name", "default_timezone", "currency", "locale", "contact_email", "contact_phone", "updated_at"]


class ChainSettingsIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    default_timezone = serializers.CharField(max_length=64, required=False)
    currency = serializers.CharField(max_length=3, required=False)
    locale = serializers.CharField(max_length=16, required=False)
    contact_email = serializers.EmailField(
        max_length=max_length(ChainSettings, "contact_email"), required=False, allow_blank=True
    )
    contact_phone = serializers.CharField(max_length=32, required=False, allow_blank=True)


class BranchOut(serializers.ModelSerializer):
    class Meta:
        model = Branch
        fields = ["id", "name", "address", "timezone", "phone", "is_active", "created_at"]


class BranchIn(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    # Named as the branch services take it (their `timezone` is the module, not the zone).
    timezone = serializers.CharField(max_length=64, source="timezone_name")
    address = serializers.CharField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class BranchPatch(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    timezone = serializers.CharField(max_length=64, required=False, source="timezone_name")
    address = serializers.CharField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    is_active = StrictBooleanField(required=False)


class StaffOut(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    first_name = serializers.CharField(source="user.first_name")
    last_name = serializers.CharField(source="user.last_name")
    branch_ids = serializers.SerializerMethodField()

    class Meta:
        model = StaffMember
        fields = ["id", "email", "first_name", "last_name", "roles", "branch_ids", "job_title", "is_active"]

    def get_branch_ids(self, obj: StaffMember) -> list[int]:
        return sorted(b.pk for b in obj.branches.all())


class StaffPatch(serializers.Serializer):
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLE_CHOICES), required=False)
    branch_ids = IdListField(Branch, required=False)
    job_title = serializers.CharField(max_length=120, required=False, allow_blank=True)
    is_active = StrictBooleanField(required=False)


class InvitationOut(serializers.ModelSerializer):
    branch_ids = serializers.SerializerMethodField()
    invited_by = serializers.CharField(source="invited_by.email", default=None)

    class Meta:
        model = Invitation
        fields = ["id", "email", "roles", "branch_ids", "status", "invited_by", "created_at", "expires_at"]

    def get_branch_ids(self, obj: Invitation) -> list[int]:
        return sorted(b.pk for b in obj.branches.all())


class InvitationIn(serializers.Serializer):
    email = serializers.EmailField(max_length=max_length(Invitation, "email"))
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLE_CHOICES), allow_empty=False)
    branch_ids = IdListField(Branch, required=False, default=list)


class InvitationAcceptIn(serializers.Serializer):
    token = TokenField(max_length=100)
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    password = serializers.CharField(trim_whitespace=False, max_length=128)

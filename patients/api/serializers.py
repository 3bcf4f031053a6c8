from __future__ import annotations

from rest_framework import serializers

from config.fields import (
    BIGINT_MAX,
    StrictBooleanField,
    StrictDateField,
    StrictIntegerField,
    StrictPrimaryKeyRelatedField,
    max_length,
)
from patients.models import (
    DEMOGRAPHIC_FIELDS,
    Addendum,
    Attachment,
    CareRelation,
    ClinicalNote,
    ConsentForm,
    Diagnosis,
    FollowUp,
    Patient,
    Sex,
)
from tenants.audit.models import AccessLog
from tenants.org.models import StaffMember


class PatientOut(serializers.ModelSerializer):
    sms_consent = serializers.SerializerMethodField()
    email_consent = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            *DEMOGRAPHIC_FIELDS,
            "sms_consent",
            "email_consent",
            "merged_into",
            "created_at",
        ]

    def get_sms_consent(self, obj: Patient) -> bool:
        return obj.consents_to("sms")

    def get_email_consent(self, obj: Patient) -> bool:
        return obj.consents_to("email")


class _Demographics(serializers.Serializer):
    date_of_birth = StrictDateField(required=False, allow_null=True)
    sex = serializers.ChoiceField(choices=Sex.choices, required=False)
    phone = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="The patient's mobile: a number that can receive text messages, national or international form.",
    )
    email = serializers.EmailField(max_length=max_length(Patient, "email"), required=False, allow_blank=True)
    address_line = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    emergency_contact_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    emergency_contact_phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    emergency_contact_relation = serializers.CharField(max_length=60, required=False, allow_blank=True)
    preferred_language = serializers.CharField(max_length=16, required=False, allow_blank=True)


class PatientIn(_Demographics):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    ignore_duplicates = StrictBooleanField(required=False, default=False)


class PatientPatch(_Demographics):
    first_name = serializers.CharField(max_length=100, required=False)
    last_name = serializers.CharField(max_length=100, required=False)


class ConsentIn(serializers.Serializer):
    channel = serializers.ChoiceField(choices=["sms", "email"])
    given = StrictBooleanField()


class MergeIn(serializers.Serializer):
    keep = StrictPrimaryKeyRelatedField(queryset=Patient.objects.filter(merged_into__isnull=True))
    merge = StrictPrimaryKeyRelatedField(queryset=Patient.objects.filter(merged_into__isnull=True))


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class CareTeamIn(serializers.Serializer):
    doctor = StrictPrimaryKeyRelatedField(queryset=StaffMember.objects.all())


class CareRelationOut(serializers.ModelSerializer):
    doctor_name = serializers.CharField(source="doctor.user.get_full_name")

    class Meta:
        model = CareRelation
        fields = ["id", "doctor", "doctor_name", "reason", "appointment_id", "since", "expires_at"]


class AddendumOut(serializers.ModelSerializer):
    author = serializers.CharField(source="author.user.get_full_name")

    class Meta:
        model = Addendum
        fields = ["id", "author", "body", "created_at"]


class NoteOut(serializers.ModelSerializer):
    author = serializers.CharField(source="author.user.get_full_name")
    addenda = AddendumOut(many=True)

    class Meta:
        model = ClinicalNote
        fields = [
            "id",
            "patient",
            "appointment_id",
            "title",
            "body",
            "status",
            "author",
            "signed_at",
            "created_at",
            "updated_at",
            "addenda",
        ]


class NoteIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField()
    appointment_id = StrictIntegerField(
        min_value=1, max_value=BIGINT_MAX, required=False, allow_null=True, default=None
    )


class NotePatch(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, default="")
    body = serializers.CharField()


class BodyIn(serializers.Serializer):
    body = serializers.CharField()


class DiagnosisOut(serializers.ModelSerializer):
    class Meta:
        model = Diagnosis
        fields = ["id", "icd10_code", "text", "note", "recorded_at"]


class DiagnosisIn(serializers.Serializer):
    icd10_code = serializers.CharField(max_length=8)
    text = serializers.CharField(max_length=300)


class PrescriptionOut(serializers.Serializer):
    id = serializers.IntegerField()
    medication = serializers.CharField()
    dose = serializers.CharField()
    route = serializers.CharField()
    frequency = serializers.CharField()
    duration_days = serializers.IntegerField(allow_null=True)
    instructions = serializers.CharField()
    prescribed_at = serializers.DateTimeField()


class PrescriptionIn(serializers.Serializer):
    medication = serializers.CharField(max_length=200)
    dose = serializers.CharField(max_length=100)
    frequency = serializers.CharField(max_length=100)
    route = serializers.CharField(max_length=60, required=False, default="oral")
    duration_days = StrictIntegerField(min_value=1, max_value=3650, required=False, allow_null=True, default=None)
    instructions = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class AttachmentOut(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "kind", "title", "content_type", "size", "uploaded_at"]


class AttachmentIn(serializers.Serializer):
    file = serializers.FileField()
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Attachment.Kind.choices, required=False, default="document")


class FollowUpOut(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.__str__")

    class Meta:
        model = FollowUp
        fields = ["id", "patient", "patient_name", "due_date", "reason", "status", "doctor"]


class FollowUpIn(serializers.Serializer):
    due_date = StrictDateField()
    reason = serializers.CharField(max_length=300)


class AccessLogOut(serializers.ModelSerializer):
    class Meta:
        model = AccessLog
        fields = [
            "id",
            "at",
            "actor_id",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "patient_id",
            "reason",
            "ip_address",
            "path",
        ]


class ConsentFormOut(serializers.ModelSerializer):
    recorded_by_name = serializers.CharField(source="recorded_by.user.get_full_name")
    active = serializers.BooleanField(source="is_active")

    class Meta:
        model = ConsentForm
        fields = [
            "id",
            "patient",
            "kind",
            "title",
            "signed_on",
            "signed_by",
            "signer_name",
            "attachment",
            "recorded_by",
            "recorded_by_name",
            "recorded_at",
            "active",
            "withdrawn_on",
            "withdrawal_reason",
        ]


class ConsentFormIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ConsentForm.Kind.choices)
    title = serializers.CharField(max_length=200)
    signed_on = StrictDateField()
    signed_by = serializers.ChoiceField(choices=ConsentForm.Signer.choices, required=False, default="patient")
    signer_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    attachment = StrictPrimaryKeyRelatedField(
        queryset=Attachment.objects.all(), required=False, allow_null=True, default=None
    )


class ConsentFormWithdrawIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300)
    withdrawn_on = StrictDateField(required=False, allow_null=True, default=None)

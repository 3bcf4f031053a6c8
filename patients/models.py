"""The patient's record: identity and contact, the care team, and the clinical history."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import connection, models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Cast, Concat, Lower, LPad
from django.utils import timezone
from simple_history.models import HistoricalRecords

from tenants.org.models import StaffMember


def _next_mrn() -> Concat:
    # MRNs come from a per-schema sequence: unique per chain, gap-tolerant, never reused.
    number = Cast(Func(Value("patients_mrn_seq"), function="nextval"), models.CharField())
    return Concat(Value("P"), LPad(number, 7, Value("0")), output_field=models.CharField())


def _search_name() -> Func:
    # lower(unaccent(first || ' ' || last)): the column name search runs on, with a trigram index.
    full = Concat(F("first_name"), Value(" "), F("last_name"), output_field=models.TextField())
    return Lower(Func(full, function="public.f_unaccent", output_field=models.TextField()))


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


# Who the patient is and how to reach them: what staff edit, the API shows and the history lists.
DEMOGRAPHIC_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address_line",
    "city",
    "postcode",
    "country",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relation",
    "preferred_language",
)


class Patient(models.Model):
    mrn = models.CharField("MRN", max_length=20, unique=True, db_default=_next_mrn())
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    email = models.EmailField(blank=True)
    address_line = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2")
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_phone = models.CharField(max_length=20, blank=True)
    emergency_contact_relation = models.CharField(max_length=60, blank=True)
    preferred_language = models.CharField(max_length=16, blank=True)
    # Consent per channel: when it was given, and when withdrawn (the later one wins).
    sms_consent_at = models.DateTimeField(null=True, blank=True)
    sms_consent_withdrawn_at = models.DateTimeField(null=True, blank=True)
    email_consent_at = models.DateTimeField(null=True, blank=True)
    email_consent_withdrawn_at = models.DateTimeField(null=True, blank=True)
    # A record merged into another stays (for the audit trail) but points at the survivor.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="patient"
    )
    search_name = models.GeneratedField(expression=_search_name(), output_field=models.TextField(), db_persist=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["search_name"])

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            GinIndex(fields=["search_name"], opclasses=["gin_trgm_ops"], name="patient_name_trgm"),
            models.Index(fields=["phone"], name="patient_phone"),
            GinIndex(fields=["phone"], opclasses=["gin_trgm_ops"], name="patient_phone_trgm"),
            models.Index(fields=["date_of_birth"], name="patient_dob"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def consents_to(self, channel: str) -> bool:
        given = getattr(self, f"{channel}_consent_at")
        withdrawn = getattr(self, f"{channel}_consent_withdrawn_at")
        return given is not None and (withdrawn is None or withdrawn < given)


class CareRelation(models.Model):
    """Why, and until when, a doctor may read a patient's clinical record (see patients.rules).

    A row is one reason: an explicit assignment by an owner or manager (``assigned``, until removed),
    a booking someone else made with the doctor (``booked``, until shortly after that appointment),
    or a visit that happened (``visit``, for the care period after it). The calendar writes the
    last two through downward calls, one row per appointment and reason."""

    class Reason(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        BOOKED = "booked", "Booked"
        VISIT = "visit", "Visit"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_team")
    doctor = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="patients")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    appointment_id = models.BigIntegerField(null=True, blank=True, help_text="The calendar entry behind it.")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    since = models.DateTimeField(auto_now_add=True)
    # None: until removed (assignments only).
    expires_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["patient", "doctor"], name="care_relation_pair")]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment_id", "reason"],
                condition=Q(appointment_id__isnull=False),
                name="care_relation_one_per_appointment",
            ),
            models.UniqueConstraint(
                fields=["patient", "doctor"], condition=Q(reason="assigned"), name="care_relation_one_assignment"
            ),
            models.CheckConstraint(
                condition=Q(reason="assigned", appointment_id__isnull=True)
                | (~Q(reason="assigned") & Q(appointment_id__isnull=False, expires_at__isnull=False)),
                name="care_relation_reason_shape",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} cares for {self.patient} ({self.reason})"


class BreakGlass(models.Model):
    """Emergency access of a doctor to a patient outside their care, with a reason, for a while."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    doctor = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=300)
    opened_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.doctor} -> {self.patient} until {self.expires_at:%Y-%m-%d %H:%M}"


class Encounter(models.Model):
    """A visit: opened when the doctor starts an appointment, closed when it is completed. The
    visit's notes, diagnoses and prescriptions hang off it."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters")
    doctor = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    appointment_id = models.BigIntegerField(unique=True, help_text="The calendar entry of this visit.")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Visit of {self.patient} on {self.started_at:%Y-%m-%d}"


class ClinicalNote(models.Model):
    """A doctor's note. Once signed it is locked (a database trigger refuses changes); later
    corrections are addenda."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED = "signed", "Signed"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    appointment_id = models.BigIntegerField(null=True, blank=True, help_text="The visit this note is about.")
    encounter = models.ForeignKey(Encounter, null=True, blank=True, on_delete=models.PROTECT, related_name="notes")
    title = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    signed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft", signed_at__isnull=True) | Q(status="signed", signed_at__isnull=False),
                name="note_signed_has_time",
            )
        ]

    def __str__(self) -> str:
        return self.title


class Addendum(models.Model):
    note = models.ForeignKey(ClinicalNote, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "addenda"

    def __str__(self) -> str:
        return f"Addendum to {self.note}"


class Diagnosis(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="diagnoses")
    note = models.ForeignKey(ClinicalNote, null=True, blank=True, on_delete=models.PROTECT, related_name="diagnoses")
    icd10_code = models.CharField("ICD-10 code", max_length=8)
    text = models.CharField(max_length=300)
    recorded_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-recorded_at"]
        verbose_name_plural = "diagnoses"

    def __str__(self) -> str:
        return f"{self.icd10_code} {self.text}"


class Prescription(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    note = models.ForeignKey(ClinicalNote, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    medication = models.CharField(max_length=200)
    dose = models.CharField(max_length=100)
    route = models.CharField(max_length=60, default="oral")
    frequency = models.CharField(max_length=100)
    duration_days = models.PositiveIntegerField(null=True, blank=True)
    instructions = models.CharField(max_length=500, blank=True)
    prescriber = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    prescribed_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-prescribed_at"]

    def __str__(self) -> str:
        return f"{self.medication} {self.dose}"


# The file extension comes from the checked content type, never from the uploader's file name.
ATTACHMENT_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/heic": ".heic",
    "text/plain": ".txt",
    "application/dicom": ".dcm",
}


def attachment_path(instance: Attachment, filename: str) -> str:
    """<schema>/attachments/<yyyy>/<uuid><ext>: the chain's own prefix, a generated name."""
    schema = connection.schema_name  # type: ignore[attr-defined]
    extension = ATTACHMENT_EXTENSIONS.get(instance.content_type, "")
    return f"{schema}/attachments/{timezone.now():%Y}/{uuid.uuid4().hex}{extension}"


class Attachment(models.Model):
    class Kind(models.TextChoices):
        DOCUMENT = "document", "Document"
        IMAGE = "image", "Image"
        LAB_RESULT = "lab_result", "Lab result"
        CONSENT_FORM = "consent_form", "Signed consent form"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="attachments")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DOCUMENT)
    title = models.CharField(max_length=200)
    # Stored as <schema>/attachments/<yyyy>/<uuid><ext>: per chain, and nothing of the uploader's
    # file name in the path. The name they gave is kept here, for the download only.
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.title


class ConsentForm(models.Model):
    """A signed consent form (to a treatment, a procedure, photographs, sharing records...): what was
    consented to, who signed it and when, who recorded it, the scanned form if there is one, and
    when it was withdrawn. A withdrawn form stays, for the record; signing again is a new form."""

    class Kind(models.TextChoices):
        TREATMENT = "treatment", "Treatment"
        PROCEDURE = "procedure", "Procedure or surgery"
        ANAESTHESIA = "anaesthesia", "Anaesthesia or sedation"
        PHOTOGRAPHY = "photography", "Clinical photographs"
        DATA_SHARING = "data_sharing", "Sharing of records"
        RESEARCH = "research", "Research"
        OTHER = "other", "Other"

    class Signer(models.TextChoices):
        PATIENT = "patient", "The patient"
        GUARDIAN = "guardian", "Parent or guardian"
        REPRESENTATIVE = "representative", "Legal representative"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consent_forms")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=200)
    signed_on = models.DateField()
    signed_by = models.CharField(max_length=16, choices=Signer.choices, default=Signer.PATIENT)
    # Whoever signed for the patient (a guardian, a representative); blank when the patient signed.
    signer_name = models.CharField(max_length=200, blank=True)
    attachment = models.ForeignKey(
        Attachment, null=True, blank=True, on_delete=models.PROTECT, related_name="consent_forms"
    )
    recorded_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    withdrawn_on = models.DateField(null=True, blank=True)
    withdrawal_reason = models.CharField(max_length=300, blank=True)
    withdrawn_by = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-signed_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(signed_by="patient") | ~Q(signer_name=""), name="consent_form_signer_named"
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=F("signed_on")),
                name="consent_form_withdrawn_after_signing",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.withdrawn_on is None


class FollowUp(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="follow_ups")
    due_date = models.DateField()
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    doctor = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_date"]
        indexes = [models.Index(fields=["status", "due_date"], name="follow_up_backlog")]

    def __str__(self) -> str:
        return f"{self.reason} by {self.due_date}"


class PortalCode(models.Model):
    """A one-time code that signs a patient in to the portal. Only its hash is kept."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=5)  # sms | email
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "created_at"], name="portal_code_recent")]

    def __str__(self) -> str:
        return f"code for {self.patient_id} via {self.channel}"


class BookingCodeUse(models.Model):
    """A booking challenge that was used: one row per challenge, unique, written in the transaction
    that books with it. Two confirmations racing with one code both try to insert it; the database
    lets one commit and the other is refused, so one code books once. A refused booking rolls the
    row back with it, and the code stays usable. Rows older than the challenge's life prove nothing
    any more (the challenge itself has expired) and may be purged."""

    digest = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"booking code used at {self.used_at:%Y-%m-%d %H:%M}"

"""Forms of the clinical record on the chart (frontend.record_views posts them, the chart shows them)."""

from __future__ import annotations

from django import forms

from patients.models import Attachment, ConsentForm, Patient


class RecordForm(forms.Form):
    """A form of one patient's record: it is made for that patient (a choice among their own
    attachments, say), so the chart's pages build every record form alike."""

    def __init__(self, *args: object, patient: Patient, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.patient = patient


class DiagnosisForm(RecordForm):
    icd10_code = forms.CharField(max_length=8, label="ICD-10 code", help_text="For example J45.9.")
    text = forms.CharField(max_length=300, label="Diagnosis")


class PrescriptionForm(RecordForm):
    medication = forms.CharField(max_length=200)
    dose = forms.CharField(max_length=100, help_text="For example 500 mg.")
    frequency = forms.CharField(max_length=100, help_text="For example three times a day.")
    route = forms.CharField(max_length=60, initial="oral", required=False, help_text="Oral if empty.")
    duration_days = forms.IntegerField(min_value=1, max_value=3650, required=False, label="Duration (days)")
    instructions = forms.CharField(max_length=500, required=False)


class AttachmentForm(RecordForm):
    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Attachment.Kind.choices, initial=Attachment.Kind.DOCUMENT)
    file = forms.FileField(help_text="PDF, JPEG, PNG, HEIC, DICOM or plain text, up to 20 MB.")


class FollowUpForm(RecordForm):
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Due by")
    reason = forms.CharField(max_length=300)


class ConsentFormForm(RecordForm):
    kind = forms.ChoiceField(choices=ConsentForm.Kind.choices, label="Consent to")
    title = forms.CharField(max_length=200, help_text="As printed on the form, e.g. Consent to minor surgery.")
    signed_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Signed on")
    signed_by = forms.ChoiceField(choices=ConsentForm.Signer.choices, label="Signed by")
    signer_name = forms.CharField(
        max_length=200, required=False, label="Name of who signed", help_text="When someone signed for the patient."
    )
    attachment = forms.ModelChoiceField(
        queryset=Attachment.objects.none(), required=False, label="Scanned form", empty_label="No scan"
    )

    def __init__(self, *args: object, patient: Patient, **kwargs: object) -> None:
        super().__init__(*args, patient=patient, **kwargs)
        self.fields["attachment"].queryset = Attachment.objects.filter(patient=patient)  # type: ignore[attr-defined]


class WithdrawForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Why withdrawn")
    withdrawn_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        required=False,
        label="Withdrawn on",
        help_text="Today if empty.",
    )

"""The e-mail address and what the patient says about messages, asked the same way wherever the
desk registers or edits a patient (the wording and rule of notifications.policy)."""

from __future__ import annotations

from typing import Any

from django import forms

from notifications import policy
from patients.models import Patient
from patients.services import ConsentChoice
from patients.services.identity import BOTH_E_MAIL_CHOICES

CONSENT_FIELDS = ("email", "sms_consent", "email_consent", "email_withdrawn")


class ConsentFields(forms.Form):
    """Mixed into a patient form: the e-mail and the three consent boxes, placed after the mobile."""

    email = forms.EmailField(required=False, label="E-mail", help_text=policy.EMAIL_HELP)
    sms_consent = forms.BooleanField(required=False, label=policy.SMS_CONSENT_LABEL)
    email_consent = forms.BooleanField(required=False, label=policy.EMAIL_FOLLOW_UPS_LABEL)
    email_withdrawn = forms.BooleanField(required=False, label=policy.EMAIL_WITHDRAWN_LABEL)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rest = [name for name in self.fields if name not in CONSENT_FIELDS]
        at = rest.index("phone") + 1 if "phone" in rest else len(rest)
        self.order_fields([*rest[:at], *CONSENT_FIELDS, *rest[at:]])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("email_consent") and data.get("email_withdrawn"):
            self.add_error("email_withdrawn", BOTH_E_MAIL_CHOICES)
        return data

    def consent(self) -> ConsentChoice:
        """What the boxes say (of a valid form)."""
        data = self.cleaned_data
        return ConsentChoice(
            sms=data["sms_consent"], email_follow_ups=data["email_consent"], no_emails=data["email_withdrawn"]
        )

    def demographics(self) -> dict[str, Any]:
        """The cleaned values that are the patient's details, not what they said about messages."""
        return {name: value for name, value in self.cleaned_data.items() if name not in CONSENT_FIELDS[1:]}


def consent_initial(patient: Patient) -> dict[str, bool]:
    """The boxes as the patient's record stands, for a form that edits it."""
    said = ConsentChoice.of(patient)
    return {"sms_consent": said.sms, "email_consent": said.email_follow_ups, "email_withdrawn": said.no_emails}

"""A patient's messaging consent as the sending rule reads it (notifications.policy.consent_said)."""

from __future__ import annotations

from django import template

from notifications.policy import consent_said as said
from patients.models import Patient

register = template.Library()


@register.filter
def consent_said(patient: Patient, channel: str) -> str:
    """``{{ patient|consent_said:"email" }}``: "E-mail: about visits unless withdrawn; follow-ups not agreed"."""
    return said(patient, channel)

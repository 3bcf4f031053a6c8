"""What the chain's invoices say about the clinic as a business (invoicing/profile.py): owners set
the company registration number, the tax (VAT) number and the billing e-mail."""

from __future__ import annotations

from django.db import transaction

from config.errors import ValidationFailed
from config.fields import max_length, plain_text
from config.validation import email_error
from invoicing.models import InvoiceProfile
from tenants.audit.history import changed_by
from tenants.authz import Actor, authorize


def invoice_profile_update(
    *, actor: Actor, registration_number: str, tax_number: str, billing_email: str
) -> InvoiceProfile:
    """The chain's invoice details as given (an empty one is left off the documents); owners only."""
    authorize(actor, "org.change_settings")
    values = {
        "registration_number": plain_text(registration_number).strip(),
        "tax_number": plain_text(tax_number).strip(),
        "billing_email": plain_text(billing_email).strip(),
    }
    errors = {name: ["Too long."] for name, value in values.items() if len(value) > max_length(InvoiceProfile, name)}
    wrong = email_error(values["billing_email"]) if values["billing_email"] else None
    if wrong:
        errors["billing_email"] = [wrong]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        profile = InvoiceProfile.objects.select_for_update().filter(pk=1).first() or InvoiceProfile(pk=1)
        for name, value in values.items():
            setattr(profile, name, value)
        changed_by(profile, actor, reason="invoice details").save()
    return profile

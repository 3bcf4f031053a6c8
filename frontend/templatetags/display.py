"""How pages say things people read: a form's errors named by their fields, a status in words, a
phone number as dialled here."""

from __future__ import annotations

from django import forms, template
from django.db import connection

from config.validation import phone_shown
from config.wording import mid_sentence
from scheduling.models import Status
from tenants.org.selectors import phone_region

register = template.Library()


@register.filter
def field_errors(form: forms.BaseForm) -> list[tuple[forms.BoundField, str]]:
    """Each error of a field, with its field (for a summary that names and links to the field);
    hidden fields' errors too, which have no place of their own on the page."""
    return [(field, str(e)) for field in form for e in field.errors]


@register.filter
def status_word(value: str) -> str:
    """An appointment's status as people read it, from the model's labels ("checked_in": "Checked in");
    for rows read as plain values, where get_status_display is not at hand."""
    return str(Status(value).label) if value in Status.values else str(value).replace("_", " ").capitalize()


@register.filter
def midsentence(label: str) -> str:
    """A label as it reads inside a sentence (config.wording.mid_sentence): "by e-mail", "by SMS"."""
    return mid_sentence(label)


def _region(timezone_name: str | None) -> str | None:
    """The branch's country (of its time zone, else the chain's), read once per request: kept on the
    request's tenant, which django-tenants loads afresh for each request."""
    tenant = getattr(connection, "tenant", None)
    regions: dict[str | None, str | None] = tenant.__dict__.setdefault("_phone_regions", {}) if tenant else {}
    if timezone_name not in regions:
        regions[timezone_name] = phone_region(timezone_name=timezone_name)
    return regions[timezone_name]


@register.filter
def phone(value: str, timezone_name: str | None = None) -> str:
    """A phone number stored in E.164, shown as it is dialled in the country of the branch whose
    time zone is given (else the chain's): "07946 000008" in London, "+33 1 23 45 67 89" from
    abroad. A tel: link keeps the E.164 itself."""
    return phone_shown(value, region=_region(timezone_name)) if value else value

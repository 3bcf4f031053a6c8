"""How pages say things people read: a form's errors named by their fields, a status in words."""

from __future__ import annotations

from django import forms, template

from scheduling.models import Status

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

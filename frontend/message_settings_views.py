"""Messaging settings pages: the wording of every message (/settings/messages/templates/: the chain's
own or the built-in one, per kind, channel and language), one wording's editor with a preview filled
with sample values (rendered on the server: no script) and "Back to the default", and the messaging
settings (/settings/messages/: reminder times, quiet hours, confirmations per booking source, channels,
the Twilio Messaging Service). Owners change them; branch managers read them."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize

from frontend.forms import submit
from notifications import services
from notifications.models import Channel, Kind, MessagingSettings
from notifications.placeholders import template_preview
from notifications.selectors import messaging_settings_read, wording_get, wording_history, wording_list
from notifications.services import MessagingSettingsChange, MessagingSettingsIn
from notifications.templates import LANGUAGES, PLACEHOLDERS, wording_errors


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    language = request.GET.get("language") if request.GET.get("language") in LANGUAGES else None
    rows = wording_list(actor=request.user, language=language)
    context = {
        "rows": rows,
        "language": language or "",
        "languages": LANGUAGES,
        "own_count": sum(r.is_own for r in rows),
        "can_edit": request.user.has_perm("notifications.manage_templates"),
    }
    return render(request, "messages/templates.html", context)


class TemplateForm(forms.Form):
    subject = forms.CharField(max_length=200, required=False)
    body = forms.CharField(max_length=10_000, widget=forms.Textarea(attrs={"rows": 8}), label="Message", strip=False)

    def __init__(self, data: QueryDict | None, *, initial: dict[str, str], channel: str, names: str) -> None:
        super().__init__(data, initial=initial)
        self.fields["body"].help_text = (
            f"Placeholders: {names}. Any other name in braces, and template code, is refused: "
            "Preview and Save both say so."
        )
        if channel == Channel.SMS:
            del self.fields["subject"]
        else:
            self.fields["subject"].required = True


@login_required
def template_edit(request: HttpRequest, kind: str, channel: str, language: str) -> HttpResponse:
    """GET shows the wording and its preview; POST "preview" previews what was typed (nothing saved;
    what Save would refuse is said beside the field, in Save's words), "save" saves it, "reset" goes
    back to the built-in wording once confirmed (without ``confirm`` the page asks first)."""
    row = wording_get(actor=request.user, kind=kind, channel=channel, language=language)
    if row is None:
        raise Http404
    can_edit = request.user.has_perm("notifications.manage_templates")
    action = request.POST.get("action", "")
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    names = ", ".join("{" + name + "}" for name in row.placeholders)
    form = TemplateForm(
        request.POST if request.method == "POST" and action != "reset" else None,
        initial={"subject": row.subject, "body": row.body},
        channel=channel,
        names=names,
    )
    subject, body = row.subject, row.body
    confirm_reset = action == "reset" and request.POST.get("confirm") != "1"
    if action == "reset" and not confirm_reset:
        services.template_reset(actor=request.user, kind=kind, channel=channel, language=language)
        messages.success(request, "Back to the built-in wording.")
        return redirect("message-template", kind=kind, channel=channel, language=language)
    if request.method == "POST" and form.is_valid():
        subject, body = form.cleaned_data.get("subject", ""), form.cleaned_data["body"]
        if action == "preview":
            typed_subject = "" if channel == Channel.SMS else subject.strip()
            problems = wording_errors(kind=kind, channel=channel, subject=typed_subject, body=body.strip())
            for name, errors in problems.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        if action == "save":
            saved = submit(
                form,
                lambda: services.template_save(
                    actor=request.user, kind=kind, channel=channel, language=language, subject=subject, body=body
                ),
            )
            if saved is not None:
                messages.success(request, "Wording saved: messages written from now on use it.")
                return redirect("message-template", kind=kind, channel=channel, language=language)
    elif request.method == "POST":
        subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
    context = {
        "row": row,
        "form": form,
        "can_edit": can_edit,
        "preview": template_preview(kind=kind, channel=channel, language=language, subject=subject, body=body),
        # a Save that reached here was refused: the box shows what was typed, as Preview does
        "previewing": request.method == "POST" and action in ("preview", "save"),
        "confirm_reset": confirm_reset,
        "placeholders": [(name, PLACEHOLDERS[name]) for name in row.placeholders],
        "history": wording_history(actor=request.user, kind=kind, channel=channel, language=language),
    }
    return render(request, "messages/template_edit.html", context)


# --- messaging settings -----------------------------------------------------------------------------
OFFSET = re.compile(r"^\s*(\d{1,5})\s*(d|h|m|days?|hours?|minutes?|mins?)\s*$", re.IGNORECASE)
UNIT_MINUTES = {"d": 1440, "h": 60, "m": 1}


def offsets_text(minutes: list[int]) -> str:
    """Offsets as an owner types them: 1d, 2h, 30m (the largest whole unit)."""
    parts = []
    for m in minutes:
        if m % 1440 == 0:
            parts.append(f"{m // 1440}d")
        elif m % 60 == 0:
            parts.append(f"{m // 60}h")
        else:
            parts.append(f"{m}m")
    return ", ".join(parts)


def parse_offsets(text: str) -> list[int]:
    """ "24h, 2h, 30m" as minutes; a part that is not a number and a unit raises ValidationError."""
    out = []
    for part in [p for p in re.split(r"[,;]", text) if p.strip()]:
        found = OFFSET.match(part)
        if found is None:
            raise forms.ValidationError(f"“{part.strip()}” is not a time before: write e.g. 24h, 2h or 30m.")
        out.append(int(found.group(1)) * UNIT_MINUTES[found.group(2)[0].lower()])
    return out


class MessagingSettingsForm(forms.Form):
    reminder_offsets = forms.CharField(
        required=False,
        max_length=100,
        label="Reminders before each appointment",
        help_text="Times before the appointment, separated by commas: d days, h hours, m minutes (e.g. 24h, 2h). "
        "Leave empty for no reminders.",
    )
    quiet_hours_start = forms.TimeField(
        required=False,
        label="Quiet hours start",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="On each branch's own clock: no SMS or e-mail goes to patients between start and end.",
    )
    quiet_hours_end = forms.TimeField(
        required=False, label="Quiet hours end", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    confirm_online = forms.BooleanField(required=False, label="Confirm bookings made online")
    confirm_phone = forms.BooleanField(required=False, label="Confirm bookings taken by phone")
    confirm_walk_in = forms.BooleanField(required=False, label="Confirm walk-ins")
    confirm_staff = forms.BooleanField(required=False, label="Confirm other bookings made by staff")
    sms_enabled = forms.BooleanField(required=False, label="Send SMS")
    email_enabled = forms.BooleanField(required=False, label="Send e-mail")
    twilio_messaging_service_sid = forms.CharField(
        required=False,
        max_length=34,
        label="Twilio Messaging Service SID",
        help_text=(
            "MG followed by 32 characters, from Twilio's console (Messaging, Services); a service serves one clinic. "
            "Empty: the platform's shared one. Only texts patients send to your own service confirm, cancel or "
            "stop texts; through the shared one they are listed under Replies but change nothing."
        ),
    )

    def clean_reminder_offsets(self) -> list[int]:
        return parse_offsets(self.cleaned_data.get("reminder_offsets") or "")

    def values(self) -> MessagingSettingsIn:
        d = self.cleaned_data
        return MessagingSettingsIn(
            reminder_offsets_minutes=d["reminder_offsets"],
            quiet_hours_start=d["quiet_hours_start"],
            quiet_hours_end=d["quiet_hours_end"],
            confirm_online=d["confirm_online"],
            confirm_phone=d["confirm_phone"],
            confirm_walk_in=d["confirm_walk_in"],
            confirm_staff=d["confirm_staff"],
            sms_enabled=d["sms_enabled"],
            email_enabled=d["email_enabled"],
            twilio_messaging_service_sid=d["twilio_messaging_service_sid"],
        )


FIELD_MAP = {"reminder_offsets_minutes": "reminder_offsets"}


def _initial(current: MessagingSettings) -> dict[str, Any]:
    return {
        "reminder_offsets": offsets_text(list(current.reminder_offsets_minutes)),
        "quiet_hours_start": current.quiet_hours_start,
        "quiet_hours_end": current.quiet_hours_end,
        "confirm_online": current.confirm_online,
        "confirm_phone": current.confirm_phone,
        "confirm_walk_in": current.confirm_walk_in,
        "confirm_staff": current.confirm_staff,
        "sms_enabled": current.sms_enabled,
        "email_enabled": current.email_enabled,
        "twilio_messaging_service_sid": current.twilio_messaging_service_sid,
    }


def _held_text(change: MessagingSettingsChange) -> str:
    """The messages and waitlist offers the old quiet hours held, given the new time: how many, and
    which go now and which wait until the new quiet hours end."""
    held, offers = change.held_retimed, change.offers_retimed
    if not held and not offers:
        return ""
    what = [f"{held} message{pluralize(held)} (confirmations, notices)"] if held else []
    what += [f"{offers} waitlist offer{pluralize(offers)}"] if offers else []
    now, later = change.retimed_now, held + offers - change.retimed_now
    when = [f"{now} go{pluralize(now, 'es,')} now"] if now else []
    if later and change.quiet_end is not None:
        when.append(f"{later} wait{pluralize(later, 's,')} until {change.quiet_end:%H:%M}")
    return f" Held for quiet hours and given the new time: {' and '.join(what)}; {', '.join(when)}."


def _saved_text(change: MessagingSettingsChange) -> str:
    """What saving the settings did to the reminders already written, and to the messages the old
    quiet hours held, in words."""
    replanned = change.replanned
    if replanned is None:
        return "Messaging settings saved. Reminder times and quiet hours are unchanged."
    retimed = _held_text(change)
    if not replanned.visits:
        return f"Messaging settings saved. No waiting reminder needed a new time.{retimed}"
    moved = f"{replanned.moved} waiting reminder{pluralize(replanned.moved)}"
    return (
        f"Messaging settings saved. {moved} given a new time, {replanned.written} added, "
        f"{replanned.dropped} no longer needed. Reminders already sent stay sent.{retimed}"
    )


@login_required
def messaging_settings(request: HttpRequest) -> HttpResponse:
    """Owners change the messaging settings; branch managers read them (a change is refused, 403)."""
    current = messaging_settings_read(actor=request.user)
    can_edit = request.user.has_perm("notifications.manage_messaging_settings")
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    form = MessagingSettingsForm(request.POST if request.method == "POST" else None, initial=_initial(current))
    if request.method == "POST" and form.is_valid():
        saved = submit(
            form, lambda: services.messaging_settings_change(actor=request.user, values=form.values()), FIELD_MAP
        )
        if saved is not None:
            messages.success(request, _saved_text(saved))
            return redirect("settings-messages")
    context = {
        "form": form,
        "current": current,
        "offsets": offsets_text(list(current.reminder_offsets_minutes)),
        "can_edit": can_edit,
        "kinds": Kind,
    }
    return render(request, "messages/settings.html", context)

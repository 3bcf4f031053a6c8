"""The rules every set-up change keeps: booked appointments are never left outside the time the
change leaves (a shift that ends or narrows, a day that closes), and the past is never rewritten
(a shift or a special day before today, in the branch's zone, stays as it was). The refusal of a
stranding names how many; the selectors ``stranded_by_*`` (scheduling.selectors) list them for the
pages."""

from __future__ import annotations

from collections.abc import Sized
from datetime import date
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import ngettext

from scheduling.exceptions import AppointmentsAffected, InvalidScheduling
from tenants.org.models import Branch


def refuse_stranding(stranded: Sized, what: str) -> None:
    if n := len(stranded):
        raise AppointmentsAffected(
            ngettext(
                "%(n)d booked appointment falls in the time %(what)s would take away; move or cancel it first.",
                "%(n)d booked appointments fall in the time %(what)s would take away; move or cancel them first.",
                n,
            )
            % {"n": n, "what": what}
        )


def branch_today(branch: Branch) -> date:
    """Today on the branch's wall clock."""
    return timezone.now().astimezone(ZoneInfo(branch.timezone)).date()


def refuse_past(branch: Branch, *days: tuple[str, date]) -> None:
    """Refuse (400, naming the field) a change that touches a day before today at the branch: each
    of `days` is (field, date), the day a row is on and the day it would move to."""
    today = branch_today(branch)
    errors = {field: ["The past stays as it was: use today or a later day."] for field, day in days if day < today}
    if errors:
        raise InvalidScheduling(fields=errors)

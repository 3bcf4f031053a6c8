"""The chain's cancellation window as patients meet it: inside it a patient may neither cancel nor
move an appointment online, and is told to call the branch (by its phone number when it has one).
One answer for the services that refuse and the pages that decide what to offer."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from config.validation import phone_shown
from scheduling.selectors import policy_get
from tenants.org.models import Branch
from tenants.org.selectors import phone_region


def inside_cancellation_window(*, start: datetime, now: datetime | None = None) -> bool:
    """True when an appointment starting at ``start`` is too close to cancel or move online."""
    now = now or timezone.now()
    return start - now < timedelta(hours=policy_get().cancellation_window_hours)


def call_the_branch(branch: Branch | None) -> str:
    """Whom a patient calls for what cannot be done online: "Please call Central on 020 7946 0000."."""
    if branch is not None and branch.phone:
        number = phone_shown(branch.phone, region=phone_region(timezone_name=branch.timezone))
        return f"Please call {branch.name} on {number}."
    return "Please call the clinic."

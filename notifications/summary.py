"""Messages written on a schedule rather than by an event: each branch manager's morning summary and
the patients' follow-up reminders. A periodic task runs these every few minutes in each chain
(notifications/schedule_tasks.py); each row's key makes a second run write nothing.

- The daily summary: once a branch's own clock passes SUMMARY_AT (and before SUMMARY_UNTIL, so a
  branch opened in the afternoon is not summarised that day), each of its branch managers gets an
  e-mail: the day's appointments (how many, the first; those already seen or missed too),
  yesterday's no-shows and cancellations, and the messages due yesterday or today that failed.
  Counted when written, in the chain's language.
- Follow-up reminders: an open follow-up coming due within FOLLOW_UP_AHEAD days (and not more than
  FOLLOW_UP_LATE days overdue) of a patient with no upcoming appointment gets one reminder to book,
  with the booking page's link. The follow-up's reason is clinical and never leaves the record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Min, Q
from django.utils import timezone

from notifications.models import Channel, Kind, Message
from notifications.notices import tell
from notifications.outbox import message_enqueue
from notifications.placeholders import babel_locale, local_time, site_link
from notifications.policy import UPCOMING
from notifications.selectors import needing_someone
from patients.models import FollowUp
from scheduling.intervals import day_bounds
from scheduling.models import Appointment, Status
from tenants.org.models import Branch, Role, StaffMember
from tenants.org.selectors import chain_settings_get, staff_with_role

SUMMARY_AT = time(7)
SUMMARY_UNTIL = time(12)
FOLLOW_UP_AHEAD = 7
FOLLOW_UP_LATE = 30
#: A day's appointments: those still ahead and those already begun, seen or missed (not cancelled).
OF_THE_DAY = (*UPCOMING, Status.CHECKED_IN, Status.IN_PROGRESS, Status.COMPLETED, Status.NO_SHOW)


@dataclass(frozen=True)
class DaySummary:
    branch: Branch
    day: date
    appointments: int
    first: datetime | None
    no_shows: int
    cancelled: int
    failed: int


def day_summary(*, branch: Branch, day: date) -> DaySummary:
    """What a branch's manager reads on the morning of ``day`` (the branch's own calendar day)."""
    tz = ZoneInfo(branch.timezone)
    today = day_bounds(day, tz)
    yesterday = day_bounds(day - timedelta(days=1), tz)
    # the whole day's visits, whatever has become of the ones already begun (a summary written late
    # in the morning counts the day, not what is left of it)
    ahead = Appointment.objects.filter(
        branch=branch, span__startswith__gte=today[0], span__startswith__lt=today[1], status__in=list(OF_THE_DAY)
    ).aggregate(first=Min("span__startswith"), count=Count("pk"))
    past = Appointment.objects.filter(
        branch=branch, span__startswith__gte=yesterday[0], span__startswith__lt=yesterday[1]
    )
    failed = needing_someone(  # as the message log's Failed tab: a failure sent again since and gone is not
        Message.objects.filter(
            Q(branch=branch) | Q(appointment__branch=branch), due_at__gte=yesterday[0], due_at__lt=today[1]
        ).exclude(kind=Kind.DAILY_SUMMARY)
    )
    return DaySummary(
        branch=branch,
        day=day,
        appointments=ahead["count"],
        first=ahead["first"],
        no_shows=past.filter(status=Status.NO_SHOW).count(),
        cancelled=past.filter(status=Status.CANCELLED).count(),
        failed=failed.count(),
    )


@dataclass(frozen=True)
class _Words:
    """A summary's words in one language; counts as (one, many) with {n}."""

    today: tuple[str, str]
    first: str
    none: str
    yesterday: str
    no_shows: tuple[str, str]
    cancelled: tuple[str, str]
    failed: tuple[str, str]


_WORDS = {
    "en": _Words(
        today=("1 appointment today", "{n} appointments today"),
        first=", the first at {time}",
        none="No appointments today",
        yesterday="Yesterday: {no_shows}, {cancelled}.",
        no_shows=("1 no-show", "{n} no-shows"),
        cancelled=("1 cancelled", "{n} cancelled"),
        failed=(
            "1 message could not be sent: see the message log.",
            "{n} messages could not be sent: see the message log.",
        ),
    ),
    "de": _Words(
        today=("Heute 1 Termin", "Heute {n} Termine"),
        first=", der erste um {time}",
        none="Heute keine Termine",
        yesterday="Gestern: {no_shows}, {cancelled}.",
        no_shows=("1 nicht erschienen", "{n} nicht erschienen"),
        cancelled=("1 abgesagt", "{n} abgesagt"),
        failed=(
            "1 Nachricht konnte nicht gesendet werden: siehe Nachrichtenprotokoll.",
            "{n} Nachrichten konnten nicht gesendet werden: siehe Nachrichtenprotokoll.",
        ),
    ),
}


def _count(forms: tuple[str, str], n: int) -> str:
    return forms[0] if n == 1 else forms[1].format(n=n)


def summary_text(summary: DaySummary, *, language: str) -> str:
    words = _WORDS.get(babel_locale(language).language, _WORDS["en"])
    tz = ZoneInfo(summary.branch.timezone)
    if summary.appointments:
        head = _count(words.today, summary.appointments)
        if summary.first is not None:
            head += words.first.format(time=local_time(summary.first, tz=tz, language=language).time)
        head += "."
    else:
        head = f"{words.none}."
    yesterday = words.yesterday.format(
        no_shows=_count(words.no_shows, summary.no_shows), cancelled=_count(words.cancelled, summary.cancelled)
    )
    lines = [head, yesterday]
    if summary.failed:
        lines.append(_count(words.failed, summary.failed))
    return " ".join(lines)


def _managers(branch: Branch) -> list[StaffMember]:
    return list(staff_with_role(Role.BRANCH_MANAGER).filter(branches=branch).select_related("user"))


def daily_summaries_write(*, now: datetime | None = None) -> int:
    """Write the morning summary of every branch whose morning it is, to each of its managers, once
    per branch, manager and day. Returns how many were written by this run."""
    now = now or timezone.now()
    language = (chain_settings_get().locale or "en").lower()
    written = 0
    for branch in Branch.objects.all():
        local = now.astimezone(ZoneInfo(branch.timezone))
        if not SUMMARY_AT <= local.time() < SUMMARY_UNTIL:
            continue
        managers = [m for m in _managers(branch) if m.user.email]
        if not managers:
            continue
        text = summary_text(day_summary(branch=branch, day=local.date()), language=language)
        for manager in managers:
            key = f"daily_summary:{branch.pk}:{local.date().isoformat()}:{manager.user_id}"
            if Message.objects.filter(key=key).exists():
                continue
            message_enqueue(
                kind=Kind.DAILY_SUMMARY,
                channel=Channel.EMAIL,
                recipient=manager.user.email,
                due_at=now,
                language=language,
                branch_id=branch.pk,
                staff_user_id=manager.user_id,
                context={"text": text},
                key=key,
            )
            written += 1
    return written


def follow_up_reminders_write(*, now: datetime | None = None) -> int:
    """Remind patients of follow-ups coming due (the rule above) once each. Returns how many
    follow-ups were told by this run."""
    now = now or timezone.now()
    chain = chain_settings_get()
    today = now.astimezone(ZoneInfo(chain.default_timezone)).date()
    due = FollowUp.objects.filter(
        status=FollowUp.Status.OPEN,
        due_date__lte=today + timedelta(days=FOLLOW_UP_AHEAD),
        due_date__gte=today - timedelta(days=FOLLOW_UP_LATE),
    ).select_related("patient", "doctor__user")
    already = {
        int(str(key).split(":")[1])
        for key in Message.objects.filter(
            kind=Kind.FOLLOW_UP,
            key__startswith="follow_up:",
            created_at__gte=now - timedelta(days=FOLLOW_UP_AHEAD + FOLLOW_UP_LATE + 1),
        ).values_list("key", flat=True)
    }
    booked = set(
        Appointment.objects.filter(status__in=list(UPCOMING), span__startswith__gt=now).values_list(
            "patient_id", flat=True
        )
    )
    told = 0
    link = site_link("book")
    for follow_up in due:
        if follow_up.patient_id in booked or follow_up.pk in already:
            continue
        doctor = follow_up.doctor.user.get_full_name() if follow_up.doctor else ""
        told += bool(
            tell(
                patient=follow_up.patient,
                kind=Kind.FOLLOW_UP,
                key=f"follow_up:{follow_up.pk}",
                context={"link": link, "doctor": doctor},
            )
        )
    return told

"""The reports' pages: where "Reports" leads each reader (/reports/), the owner's overview across
branches, a branch's dashboard, a doctor's figures, and the appointments behind a figure.

Every page reads the rollups through reporting.selectors (the appointments behind a figure through
reporting.drill), held by reporting.scope to what the reader may see: a branch or doctor beyond reach
is refused there (403 page), never narrowed here. A page parses its period (GET ``from``/``to``; this
month on the chain's clock when not given), reads, and shapes the figures into cards, tables and charts
(frontend/chart.html, each chart drawn from its own table). Files to download go through
reporting.export, as the API's do; a list that names patients is access-logged, on the page and in
the file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal, format_percent
from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_safe

from config.errors import ApplicationError, NotFound, ValidationFailed
from config.money import money_format
from frontend.forms import DayField, show_error, to_int
from frontend.templatetags.charts import Chart, Series
from notifications.models import Channel
from reporting.drill import (
    BEHIND_COLUMNS,
    FIGURE_LABELS,
    AppointmentBehind,
    Figure,
    appointments_behind,
    behind_file_rows,
    behind_rows,
)
from reporting.exceptions import DoctorNotInReach
from reporting.export import Column, Kind, export_filename, export_response
from reporting.period import MAX_DAYS, Grain, Period
from reporting.scope import Reach, figures_reach, may_see_figures, may_see_money, money_reach
from reporting.selectors import (
    Dashboard,
    DoctorLoad,
    Figures,
    Filters,
    Group,
    Money,
    MoneyRow,
    Row,
    doctor_name,
    doctors_load,
    figures_branch,
    figures_doctor,
    figures_overview,
    message_rows,
    money_rows,
    rows_with_figure,
)
from scheduling.models import Source, Status
from tenants.audit.services import access_log_records
from tenants.authz import Actor, authorize
from tenants.org.models import Branch, Role, StaffMember
from tenants.org.selectors import branch_list, chain_settings_get

PAGE_SIZE = 50
#: The week ahead of the dashboards: the next seven days from tomorrow (as the API's load).
AHEAD_DAYS = 7


# --- numbers as people read them ------------------------------------------------------------------


class Numbers:
    """Counts, shares, hours and money in the chain's locale (as the charts' tables read them)."""

    def __init__(self, locale: str) -> None:
        self.name = locale
        try:
            self.locale = Locale.parse(locale.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            self.locale = Locale.parse("en")

    def count(self, n: int | None) -> str:
        return "—" if n is None else str(format_decimal(n, locale=self.locale))

    def share(self, ratio: float | None) -> str:
        return "—" if ratio is None else str(format_percent(ratio, "#,##0.#%", locale=self.locale))

    def points(self, ratio: float) -> str:
        """A difference of two shares in percentage points: 0.04 → "4"."""
        return str(format_decimal(round(abs(ratio) * 100, 1), "#,##0.#", locale=self.locale))

    def hours(self, minutes: int | None) -> str:
        if minutes is None:
            return "—"
        return str(format_decimal(round(Decimal(minutes) / 60, 1), "#,##0.#", locale=self.locale)) + " h"

    def money(self, amount_minor: int | None, currency: str) -> str:
        return "—" if amount_minor is None else money_format(amount_minor, currency, locale=self.name)


def _numbers() -> Numbers:
    return Numbers(chain_settings_get().locale)


# --- the period ----------------------------------------------------------------------------------


def chain_today() -> date:
    """Today on the chain's clock: the day "this month" and the week ahead start from."""
    return timezone.localdate(timezone.now(), ZoneInfo(chain_settings_get().default_timezone))


def quick_periods(today: date) -> list[tuple[str, Period]]:
    """The periods offered in one click: whole months (so each compares with the months before)."""
    this_month = Period.month_of(today)
    last_month = Period.month_of(this_month.first - timedelta(days=1))

    def months_back(n: int) -> Period:
        first = last_month.first
        for _ in range(n - 1):
            first = Period.month_of(first - timedelta(days=1)).first
        return Period(first, last_month.last)

    return [
        ("This month", this_month),
        ("Last month", last_month),
        ("Last 3 months", months_back(3)),
        ("This year", Period(today.replace(month=1, day=1), today.replace(month=12, day=31))),
        ("Last 12 months", months_back(12)),
    ]


class IdsField(forms.MultipleChoiceField):
    """Ids from a query string (``?branch=1&branch=3``): any whole numbers, read as ints. Whether
    the reader may see them is the selectors' to say (a branch beyond reach: 403), not the form's."""

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value: Any) -> bool:
        return to_int(str(value)) is not None

    def clean(self, value: Any) -> list[int]:
        cleaned = super().clean(value)
        return [n for n in (to_int(str(v)) for v in cleaned) if n is not None]


class PeriodForm(forms.Form):
    """The period picker of every dashboard (GET): from and to (one alone: to the other end of its
    own month, as the API reads it; neither: this month); optionally the branches to compare (the
    overview)."""

    def __init__(self, data: QueryDict, *, today: date, branches: Sequence[Branch] | None = None) -> None:
        super().__init__(data)
        self.today = today
        date_input = {"type": "date"}
        self.fields["from"] = DayField(required=False, label="From", widget=forms.DateInput(attrs=date_input))
        self.fields["to"] = DayField(
            required=False,
            label="To",
            widget=forms.DateInput(attrs=date_input),
            help_text=f"Both empty: this month. A period covers at most {MAX_DAYS:,} days.",
        )
        if branches is not None:
            self.fields["branch"] = IdsField(
                required=False,
                label="Branches",
                choices=[(str(b.pk), b.name) for b in branches],
                help_text="Tick two or more to see only them side by side; none for every branch.",
            )

    def period(self) -> Period | None:
        """The period asked for, or None with the errors on the form (a day that is no day, an end
        before the start, a period longer than reports cover)."""
        if not self.is_valid():
            return None
        try:
            return Period.asked(self.cleaned_data.get("from"), self.cleaned_data.get("to"), Period.month_of(self.today))
        except ApplicationError as exc:
            show_error(self, exc)
            return None

    def branch_ids(self) -> list[int] | None:
        ids = self.cleaned_data.get("branch") if self.is_valid() else None
        return sorted(set(ids)) if ids else None


@dataclass(frozen=True)
class PeriodChoice:
    label: str
    url: str
    current: bool


def download_links(path: str, query: str) -> dict[str, str]:
    """A page's files (``csv``, ``xlsx``): what it lists, as a CSV file and as an Excel workbook."""
    start = f"{path}?{query}&" if query else f"{path}?"
    return {"csv": f"{start}format=csv", "xlsx": f"{start}format=xlsx"}


def _query(request: HttpRequest, **changes: Any) -> str:
    """The page's own query string with ``changes`` (a list for a repeated parameter; None drops
    one), without the page number and file format."""
    q = request.GET.copy()
    for key in ("page", "format"):
        q.pop(key, None)
    for key, value in changes.items():
        q.pop(key, None)
        if value is None:
            continue
        if isinstance(value, list | tuple):
            q.setlist(key, [str(v) for v in value])
        else:
            q[key] = str(value)
    return q.urlencode()


def _period_choices(request: HttpRequest, today: date, period: Period | None) -> list[PeriodChoice]:
    return [
        PeriodChoice(
            label,
            f"{request.path}?{_query(request, **{'from': p.first.isoformat(), 'to': p.last.isoformat()})}",
            p == period,
        )
        for label, p in quick_periods(today)
    ]


def period_label(period: Period, today: date | None = None) -> str:
    """A period as the page's heading names it, in the locale's formats: "May 2026", or the first and
    last days ("1 Mar 2026" to "31 May 2026") joined by an en dash; of a period still running on
    `today`, what the figures cover: "November 2026 so far, to 25/11/2026"."""
    if period == Period.month_of(period.first):
        named = date_format(period.first, "YEAR_MONTH_FORMAT")
    else:
        first, last = (date_format(day, "SHORT_DATE_FORMAT") for day in (period.first, period.last))
        named = f"{first} \N{EN DASH} {last}"
    if today is not None and period.so_far(today) != period:
        return f"{named} so far, to {date_format(today, 'SHORT_DATE_FORMAT')}"
    return named


def compared_label(period: Period, today: date) -> str:
    """What the headline figures are compared with, as the page's heading says it; of a period still
    running, its days so far against as many days of the one before."""
    previous = period.previous_so_far(today)
    if period.so_far(today) == period:
        return period_label(previous)
    return f"{period_label(previous)} (the same days)"


def _keep(request: HttpRequest, *, drop: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The page's other parameters, carried as hidden fields by its period form (a figure, a
    branch, a doctor), so that choosing another period keeps what the page is narrowed to."""
    dropped = {"from", "to", "page", "format", *drop}
    return [(k, v) for k in request.GET for v in request.GET.getlist(k) if k not in dropped][:20]


# --- what the pages show -------------------------------------------------------------------------

Better = Literal["up", "down", ""]


@dataclass(frozen=True)
class Change:
    """A figure against the previous period's: an arrow and the difference to see, and the same in
    words for a screen reader ("up 4 points from 71%"); ``tone`` says whether it is good news."""

    arrow: str
    text: str
    words: str
    tone: str


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    change: Change | None
    link: str = ""
    note: str = ""


def _tone(diff: float, better: Better) -> str:
    if not diff or not better:
        return ""
    return "better" if (diff > 0) == (better == "up") else "worse"


def _change_of(diff: float, shown: str, before: str, better: Better, unit: tuple[str, str] = ("", "")) -> Change:
    """``unit``: how the difference's unit reads (short to see, whole in words): ("pts", "points")."""
    if not diff:
        return Change("", "no change", f"no change from {before}", "")
    short, words = (f" {u}" if u else "" for u in unit)
    return Change(
        "▲" if diff > 0 else "▼",
        f"{shown}{short}",
        f"{'up' if diff > 0 else 'down'} {shown}{words} from {before}",
        _tone(diff, better),
    )


def share_change(now: float | None, before: float | None, n: Numbers, better: Better) -> Change | None:
    """In percentage points, as read (a change too small to show as a tenth of a point is none)."""
    if now is None or before is None:
        return None
    diff = round((now - before) * 100, 1)
    return _change_of(diff, n.points(diff / 100), n.share(before), better, unit=("pts", "points"))


def count_change(now: int, before: int, n: Numbers, better: Better) -> Change:
    return _change_of(now - before, n.count(abs(now - before)), n.count(before), better)


def money_change(now: int, before: int, currency: str, n: Numbers) -> Change:
    return _change_of(now - before, n.money(abs(now - before), currency), n.money(before, currency), "up")


@dataclass(frozen=True)
class Scope:
    """What a page's figures are narrowed to, for the links to the appointments behind them."""

    period: Period
    branch_ids: Sequence[int] = ()
    doctor_id: int | None = None
    service_id: int | None = None

    def behind(self, figure: Figure | str, **narrower: int | None) -> str:
        params: list[tuple[str, Any]] = [
            ("figure", str(figure)),
            ("from", self.period.first.isoformat()),
            ("to", self.period.last.isoformat()),
        ]
        branches = [narrower["branch"]] if narrower.get("branch") else list(self.branch_ids)
        params += [("branch", b) for b in branches]
        doctor = narrower.get("doctor") or self.doctor_id
        service = narrower.get("service") or self.service_id
        if doctor:
            params.append(("doctor", doctor))
        if service:
            params.append(("service", service))
        return f"{reverse('report-appointments')}?{urlencode(params)}"


def _early(f: Figures) -> int:
    return f.cancelled_early_patient + f.cancelled_early_clinic


def _by_whom(patients: int, clinic: int, n: Numbers) -> str:
    return f"{n.count(patients)} by patients, {n.count(clinic)} by the clinic"


def visit_cards(figures: Figures, before: Figures, n: Numbers, scope: Scope | None) -> list[Card]:
    """The headline cards of the visit figures, each against the previous period; a card whose
    figure is a set of appointments links to them (``scope`` None: the reader sees no list)."""

    def link(figure: Figure) -> str:
        return scope.behind(figure) if scope else ""

    return [
        Card(
            "Utilization",
            n.share(figures.utilization),
            share_change(figures.utilization, before.utilization, n, "up"),
            link(Figure.APPOINTMENTS),
            f"{n.hours(figures.booked_minutes)} booked of {n.hours(figures.capacity_minutes)}",
        ),
        Card(
            "Completed visits",
            n.count(figures.completed),
            count_change(figures.completed, before.completed, n, "up"),
            link(Figure.COMPLETED),
        ),
        Card(
            "No-show rate",
            n.share(figures.no_show_rate),
            share_change(figures.no_show_rate, before.no_show_rate, n, "down"),
            link(Figure.NO_SHOWS),
            f"{n.count(figures.no_shows)} no-show{'s' if figures.no_shows != 1 else ''}",
        ),
        Card(
            "Late cancellations",
            n.count(figures.cancelled_late),
            count_change(figures.cancelled_late, before.cancelled_late, n, "down"),
            link(Figure.CANCELLED_LATE),
            _by_whom(figures.cancelled_late_patient, figures.cancelled_late_clinic, n),
        ),
        Card(
            "Early cancellations",
            n.count(figures.cancelled - figures.cancelled_late),
            count_change(
                figures.cancelled - figures.cancelled_late, before.cancelled - before.cancelled_late, n, "down"
            ),
            link(Figure.CANCELLED_EARLY),
            _by_whom(figures.cancelled_early_patient, figures.cancelled_early_clinic, n),
        ),
        Card(
            "Rebook rate",
            n.share(figures.rebook_rate),
            share_change(figures.rebook_rate, before.rebook_rate, n, "up"),
            link(Figure.REBOOKED),
            f"{n.count(figures.rebooked)} rebooked within 30 days",
        ),
        Card(
            "New patients",
            n.count(figures.new_patients),
            count_change(figures.new_patients, before.new_patients, n, "up"),
            link(Figure.NEW_PATIENTS),
            "first visits completed",
        ),
        Card(
            "Returning patients",
            n.count(figures.returning_patients),
            count_change(figures.returning_patients, before.returning_patients, n, "up"),
            link(Figure.RETURNING_PATIENTS),
            "visits completed",
        ),
    ]


def _by_currency(rows: Iterable[MoneyRow]) -> dict[str, Money]:
    return {r.money.currency: r.money for r in rows}


def money_cards(now: Iterable[MoneyRow], before: Iterable[MoneyRow], n: Numbers) -> list[Card]:
    """Collected, invoiced and refunded in each currency, each against the previous period."""
    current, previous = _by_currency(now), _by_currency(before)
    cards = []
    several = len(current) > 1
    for currency, money in sorted(current.items()):
        was = previous.get(currency, Money(currency))
        suffix = f" ({currency})" if several else ""
        cards += [
            Card(
                f"Collected{suffix}",
                n.money(money.net_collected_minor, currency),
                money_change(money.net_collected_minor, was.net_collected_minor, currency, n),
                note=f"{n.count(money.payments)} payment{'s' if money.payments != 1 else ''}, less refunds",
            ),
            Card(
                f"Invoiced{suffix}",
                n.money(money.invoiced_minor, currency),
                money_change(money.invoiced_minor, was.invoiced_minor, currency, n),
                note=f"{n.count(money.invoices)} invoice{'s' if money.invoices != 1 else ''}",
            ),
            Card(
                f"Refunded{suffix}",
                n.money(money.refunded_minor, currency),
                _change_of(
                    money.refunded_minor - was.refunded_minor,
                    n.money(abs(money.refunded_minor - was.refunded_minor), currency),
                    n.money(was.refunded_minor, currency),
                    "down",
                ),
                note=f"{n.count(money.refunds)} refund{'s' if money.refunds != 1 else ''}",
            ),
        ]
    return cards


def trend_charts(dashboard: Dashboard, today: date | None = None) -> list[Chart]:
    """This period against the previous one, bucket by bucket (the previous drawn dashed). The days
    after `today` have no completed visits to draw yet: their points are left out, not drawn as 0;
    their utilization, the bookings already made, is drawn."""
    before = dashboard.trend_before
    grain = dashboard.period.grain.value.title()
    previous = "Previous period"
    if dashboard.period.grain == Grain.DAY:  # drawn against the same weekdays (Period.weeks_before)
        weeks = (dashboard.period.first - dashboard.period.weeks_before().first).days // 7
        previous = f"The same weekdays {weeks} week{'s' if weeks != 1 else ''} before"

    def rows(
        pick: Callable[[Figures], float | int | None], *, done: bool = False
    ) -> list[tuple[str, list[float | int | None]]]:
        return [
            (
                r.label,
                [
                    None if done and _ahead(r.key, today) else pick(r.figures),
                    pick(before[i].figures) if i < len(before) else None,
                ],
            )
            for i, r in enumerate(dashboard.trend)
        ]

    return [
        Chart(
            caption="Completed visits, this period and before",
            kind="line",
            label=grain,
            series=[Series("This period"), Series(previous, comparison=True)],
            rows=rows(lambda f: f.completed, done=True),
        ),
        Chart(
            caption="Utilization, this period and before",
            kind="line",
            label=grain,
            series=[Series("This period", "percent"), Series(previous, "percent", comparison=True)],
            rows=rows(lambda f: f.utilization),
        ),
    ]


def _ahead(key: object, today: date | None) -> bool:
    return today is not None and isinstance(key, date) and key > today


SOURCES = [
    (Figure.SOURCE_ONLINE, "Online", "source_online"),
    (Figure.SOURCE_WALK_IN, "Walk-in", "source_walk_in"),
    (Figure.SOURCE_PHONE, "Phone", "source_phone"),
    (Figure.SOURCE_WAITLIST, "Waitlist", "source_waitlist"),
    (Figure.SOURCE_STAFF, "Booked by staff", "source_staff"),
]


def sources_chart(figures: Figures, before: Figures) -> Chart:
    return Chart(
        caption="Bookings by source",
        kind="bar",
        label="Source",
        series=[Series("This period"), Series("Previous period", comparison=True)],
        rows=[(label, [getattr(figures, name), getattr(before, name)]) for _, label, name in SOURCES],
    )


@dataclass(frozen=True)
class FigureRow:
    """A row of a table of figures (a branch, a doctor, a service): the figures as read, each count
    with the link to its appointments."""

    key: int | None
    label: str
    link: str
    figures: Figures
    cells: dict[str, str]
    links: dict[str, str]
    money: list[dict[str, str]] = field(default_factory=list)


def figure_row(
    row: Row, n: Numbers, scope: Scope | None, *, link: str = "", by: str = "", money: Sequence[Money] = ()
) -> FigureRow:
    f = row.figures
    narrower = {by: row.key} if by and isinstance(row.key, int) else {}

    def behind(figure: Figure) -> str:
        return scope.behind(figure, **narrower) if scope else ""

    cells = {
        "utilization": n.share(f.utilization),
        "booked": n.hours(f.booked_minutes),
        "capacity": n.hours(f.capacity_minutes),
        "bookings": n.count(f.bookings),
        "appointments": n.count(f.appointments),
        "completed": n.count(f.completed),
        "no_shows": n.count(f.no_shows),
        "no_show_rate": n.share(f.no_show_rate),
        "cancelled": n.count(f.cancelled),
        "cancelled_patient": n.count(f.cancelled_by_patient),
        "cancelled_clinic": n.count(f.cancelled_by_clinic),
        "cancelled_late": n.count(f.cancelled_late),
        "rebook_rate": n.share(f.rebook_rate),
        "new_patients": n.count(f.new_patients),
    }
    links = {
        "appointments": behind(Figure.APPOINTMENTS),
        "bookings": behind(Figure.BOOKINGS),
        "completed": behind(Figure.COMPLETED),
        "no_shows": behind(Figure.NO_SHOWS),
        "cancelled": behind(Figure.CANCELLED),
        "cancelled_late": behind(Figure.CANCELLED_LATE),
        "new_patients": behind(Figure.NEW_PATIENTS),
        "rebooked": behind(Figure.REBOOKED),
    }
    key = row.key if isinstance(row.key, int) else None
    return FigureRow(key, row.label, link, f, cells, links, [money_cells(m, f.completed, n) for m in money])


def money_cells(m: Money, completed: int, n: Numbers) -> dict[str, str]:
    """Money as a table shows it; the average is what was invoiced per completed visit. The
    ``*_minor`` values are what a table sorts by."""
    return {
        "currency": m.currency,
        "invoiced_minor": str(m.invoiced_minor),
        "collected_minor": str(m.net_collected_minor),
        "refunded_minor": str(m.refunded_minor),
        "average_minor": str(m.invoiced_minor // completed) if completed else "",
        "invoiced": n.money(m.invoiced_minor, m.currency),
        "collected": n.money(m.net_collected_minor, m.currency),
        "refunded": n.money(m.refunded_minor, m.currency),
        "average": n.money(m.invoiced_minor // completed, m.currency) if completed else "—",
    }


def _money_by_key(rows: Iterable[MoneyRow]) -> dict[Any, list[Money]]:
    out: dict[Any, list[Money]] = {}
    for r in rows:
        out.setdefault(r.key, []).append(r.money)
    return out


@dataclass(frozen=True)
class LoadRow:
    doctor: str
    doctor_link: str
    branch: str
    booked: str
    capacity: str
    utilization: str
    overloaded: bool
    booked_minutes: int
    capacity_minutes: int
    share: float | None


def load_rows(loads: Iterable[DoctorLoad], n: Numbers, *, doctor_links: bool) -> list[LoadRow]:
    return [
        LoadRow(
            x.doctor,
            reverse("report-doctor", args=[x.doctor_id]) if doctor_links else "",
            x.branch,
            n.hours(x.booked_minutes),
            n.hours(x.capacity_minutes),
            n.share(x.utilization) if x.capacity_minutes else "no hours",
            x.overloaded,
            x.booked_minutes,
            x.capacity_minutes,
            x.utilization,
        )
        for x in loads
    ]


def week_ahead(today: date) -> Period:
    return Period(today + timedelta(days=1), today + timedelta(days=AHEAD_DAYS))


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: bool


def _url_or_none(name: str, *args: Any) -> str | None:
    """A page's address, or None where it is not served (the work lists are pages of their own)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def reports_nav(request: HttpRequest, reach: Reach | None = None) -> list[NavItem]:
    """The reports a reader may open, above each report page: the overview (or her own figures, for a
    doctor) and the work lists."""
    user = request.user
    items: list[tuple[str, str | None]] = []
    if reach is None and may_see_figures(actor=user):
        reach = figures_reach(actor=user)
    if reach is not None and reach.doctor_id is not None:
        items.append(("My figures", reverse("report-doctor", args=[reach.doctor_id])))
    elif reach is not None or may_see_money(actor=user):
        items.append(("Overview", reverse("report-overview")))
    for perm, label, name in (
        ("reporting.view_call_backs", "Patients to call back", "report-call-backs"),
        ("reporting.view_receivables", "Invoices to chase", "report-receivables"),
        ("reporting.view_packages", "Package sessions", "report-packages"),
    ):
        if user.has_perm(perm):
            items.append((label, _url_or_none(name)))
    # every figures page (a branch, a doctor, the appointments behind a figure) is the first tab's
    figures = items[0][0] if items and items[0][0] in ("Overview", "My figures") else None
    on_list = any(request.path.startswith(url) for label, url in items if url and label != figures)
    return [
        NavItem(label, url, not on_list if label == figures else request.path.startswith(url))
        for label, url in items
        if url
    ]


def _own_doctor(actor: Actor) -> int | None:
    """The doctor whose own figures these are, when the reader is a doctor reading hers."""
    if not may_see_figures(actor=actor):
        return None
    return figures_reach(actor=actor).doctor_id


def _redirect_keeping(request: HttpRequest, name: str, *args: Any) -> HttpResponse:
    q = QueryDict(mutable=True)
    for key in ("from", "to"):
        if key in request.GET:
            q[key] = request.GET[key]
    url = reverse(name, args=args)
    return redirect(f"{url}?{q.urlencode()}" if q else url)


def _invalid(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """The page with its period form and the form's errors beside the fields: 400, nothing read."""
    return render(request, template, {**context, "invalid": True}, status=400)


# --- the pages -----------------------------------------------------------------------------------


@require_safe
@login_required
def reports(request: HttpRequest) -> HttpResponse:
    """Where "Reports" leads: the owner (and billing, for the money) to the overview, a branch
    manager to their branch (or a choice of theirs), a doctor to her own figures, reception to the
    patients to call back."""
    user = request.user
    authorize(user, "reporting.view_reports")
    if may_see_figures(actor=user):
        reach = figures_reach(actor=user)
        if reach.doctor_id is not None:
            return _redirect_keeping(request, "report-doctor", reach.doctor_id)
        if reach.branch_ids is None:
            return _redirect_keeping(request, "report-overview")
        branches = list(branch_list(actor=user).filter(pk__in=reach.branch_ids).order_by("name"))
        if len(branches) == 1:
            return _redirect_keeping(request, "report-branch", branches[0].pk)
        context = {"branches": branches, "reports_nav": reports_nav(request, reach)}
        return render(request, "reports/choose.html", context)
    if may_see_money(actor=user):
        return _redirect_keeping(request, "report-overview")
    call_backs = _url_or_none("report-call-backs")
    if call_backs and user.has_perm("reporting.view_call_backs"):
        return redirect(call_backs)
    return render(request, "reports/choose.html", {"branches": [], "reports_nav": reports_nav(request)})


def _messages_read(n: Numbers, rows: Iterable[Any]) -> list[dict[str, str]]:
    """The messages' table. Twilio reports each text's delivery; e-mail reports none (a message is
    sent, or it failed), so e-mail's delivered count and rate read "not reported", not 0."""
    return [
        {
            "channel": r.channel.upper() if r.channel == "sms" else r.channel.title(),
            "kind": r.kind.replace("_", " ").capitalize(),
            "messages": n.count(r.messages),
            "sent": n.count(r.sent),
            "delivered": n.count(r.delivered) if _reported(r) else "Not reported",
            "failed": n.count(r.failed),
            "rate": n.share(r.delivery_rate) if _reported(r) else "Not reported",
        }
        for r in rows
    ]


def _reported(row: Any) -> bool:
    return bool(row.channel != Channel.EMAIL or row.delivered)


@require_safe
@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The owner's overview: the chain's headline figures against the previous period, the trend,
    the branches side by side (or those chosen, to compare them), bookings by source, messages and
    the reminders' effect, doctors overloaded in the week ahead. Billing reads the money only; a
    doctor is sent to her own figures."""
    user = request.user
    own = _own_doctor(user)
    if own is not None:
        return _redirect_keeping(request, "report-doctor", own)
    figures_too = may_see_figures(actor=user)
    reach = figures_reach(actor=user) if figures_too else money_reach(actor=user)  # 403 for anyone else
    branches = list(branch_list(actor=user).order_by("name"))
    if reach.branch_ids is not None:
        branches = [b for b in branches if b.pk in reach.branch_ids]
    today = chain_today()
    form = PeriodForm(request.GET, today=today, branches=branches)
    period = form.period()
    context: dict[str, Any] = {
        "form": form,
        "period_fields": [form["from"], form["to"]],
        "reports_nav": reports_nav(request, reach if figures_too else None),
        "figures_too": figures_too,
        "title": "Overview" if reach.branch_ids is None else "Your branches",
        "keep": _keep(request),
    }
    if period is None:
        return _invalid(request, "reports/overview.html", {**context, "choices": _period_choices(request, today, None)})
    chosen = form.branch_ids()
    n = _numbers()
    names = {b.pk: b.name for b in branches}
    context |= {
        "period": period,
        "period_label": period_label(period, today),
        "previous_label": compared_label(period, today),
        "choices": _period_choices(request, today, period),
        "chosen": [names.get(b, f"Branch {b}") for b in chosen or ()],
    }
    if not figures_too:
        return render(request, "reports/overview.html", context | _money_overview(user, period, chosen, n))
    dashboard = figures_overview(actor=user, period=period, branch_ids=chosen, today=today)
    scope = Scope(dashboard.period, branch_ids=chosen or ())
    compared = dashboard.compared
    money_by_branch = _money_by_key(dashboard.money)
    if request.GET.get("format"):
        return export_response(
            rows=_export_rows(rows_with_figure(dashboard.rows), money_by_branch, "branch"),
            columns=BRANCH_COLUMNS,
            filename=export_filename("branches", dashboard.period.first, dashboard.period.last),
            fmt=request.GET["format"],
        )
    rows = [
        figure_row(
            r, n, scope, link=reverse("report-branch", args=[r.key]), by="branch", money=money_by_branch.get(r.key, ())
        )
        for r in rows_with_figure(dashboard.rows)
        if isinstance(r.key, int)
    ]
    filters = Filters.of(branch_ids=chosen)
    loads = doctors_load(actor=user, period=week_ahead(today), filters=filters)
    context |= {
        **download_links(request.path, _query(request)),
        "cards": visit_cards(compared.figures, compared.before, n, scope),
        "money_cards": money_cards(dashboard.money_total, dashboard.money_before, n),
        "trends": trend_charts(dashboard, today),
        "rows": rows,
        "branch_chart": Chart(
            caption="Utilization and no-show rate by branch",
            kind="bar",
            label="Branch",
            series=[Series("Utilization", "percent"), Series("No-show rate", "percent")],
            rows=[(r.label, [r.figures.utilization, r.figures.no_show_rate]) for r in rows],
        ),
        "sources": sources_chart(compared.figures, compared.before),
        "source_links": [(label, scope.behind(figure)) for figure, label, _ in SOURCES],
        "message_rows": _messages_read(n, message_rows(actor=user, period=period, filters=filters)),
        "reminders": _reminder_effect(compared.figures, n, scope),
        "overloaded": load_rows([x for x in loads if x.overloaded], n, doctor_links=True),
        "loads_count": len(loads),
        "ahead": week_ahead(today),
    }
    return render(request, "reports/overview.html", context)


def _reminder_effect(f: Figures, n: Numbers, scope: Scope | None) -> list[dict[str, str]]:
    reminded = f.outcomes_reminded
    not_reminded = f.outcomes - f.outcomes_reminded
    return [
        {
            "label": "With a reminder",
            "visits": n.count(reminded),
            "no_shows": n.count(f.no_shows_reminded),
            "rate": n.share(f.no_show_rate_reminded),
            "link": scope.behind(Figure.NO_SHOWS_REMINDED) if scope else "",
        },
        {
            "label": "Without a reminder",
            "visits": n.count(not_reminded),
            "no_shows": n.count(f.no_shows - f.no_shows_reminded),
            "rate": n.share(f.no_show_rate_not_reminded),
            "link": scope.behind(Figure.NO_SHOWS_NOT_REMINDED) if scope else "",
        },
    ]


def _money_overview(user: Actor, period: Period, chosen: list[int] | None, n: Numbers) -> dict[str, Any]:
    """The overview of a reader with the money figures only (billing): no visit figure, no list of
    appointments."""
    filters = Filters.of(branch_ids=chosen)
    today = chain_today()
    shown = period.so_far(today)  # as the dashboards: of a period still running, its days so far
    total = money_rows(actor=user, period=shown, group=Group.CHAIN, filters=filters)
    before = money_rows(actor=user, period=period.previous_so_far(today), group=Group.CHAIN, filters=filters)
    by_branch = money_rows(actor=user, period=shown, group=Group.BRANCH, filters=filters)
    return {
        "money_cards": money_cards(total, before, n),
        "money_rows": [
            {
                "label": r.label,
                "currency": r.money.currency,
                "invoiced": n.money(r.money.invoiced_minor, r.money.currency),
                "collected": n.money(r.money.net_collected_minor, r.money.currency),
                "refunded": n.money(r.money.refunded_minor, r.money.currency),
            }
            for r in by_branch
        ],
    }


def _branch_asked(actor: Actor, data: QueryDict) -> int | None:
    """The one branch a page is narrowed to (``?branch=``): none, or a branch within reach (403
    beyond it, 404 for no branch, 400 for what is no id)."""
    raw = data.get("branch")
    if not raw:
        return None
    pk = to_int(raw)
    if pk is None:
        said = ["Choose a branch from a dashboard."]
        raise ValidationFailed("The branch asked for is not one.", fields={"branch": said})
    return _branch_in_reach(actor, pk)[1].pk


def _branch_in_reach(actor: Actor, pk: int) -> tuple[Reach, Branch]:
    reach = figures_reach(actor=actor)  # 403 without visit figures
    reach.branches([pk])  # 403 for a branch beyond reach
    branch = branch_list(actor=actor).filter(pk=pk).first()
    if branch is None:
        raise NotFound("No such branch.")
    return reach, branch


DOCTOR_COLUMNS = [
    Column("doctor", "Doctor"),
    Column("utilization", "Utilization", Kind.RATIO),
    Column("booked_minutes", "Booked minutes", Kind.INT),
    Column("capacity_minutes", "Capacity minutes", Kind.INT),
    Column("bookings", "Bookings", Kind.INT),
    Column("completed", "Completed", Kind.INT),
    Column("no_shows", "No-shows", Kind.INT),
    Column("no_show_rate", "No-show rate", Kind.RATIO),
    Column("cancelled_early_patient", "Cancelled early by patient", Kind.INT),
    Column("cancelled_early_clinic", "Cancelled early by clinic", Kind.INT),
    Column("cancelled_late_patient", "Cancelled late by patient", Kind.INT),
    Column("cancelled_late_clinic", "Cancelled late by clinic", Kind.INT),
    Column("rebook_rate", "Rebook rate", Kind.RATIO),
    Column("new_patients", "New patients", Kind.INT),
    Column("currency", "Currency"),
    Column("invoiced_minor", "Invoiced", Kind.MONEY),
    Column("collected_minor", "Collected less refunds", Kind.MONEY),
    Column("average_minor", "Average invoiced per completed visit", Kind.MONEY),
]


def _export_rows(rows: Iterable[Row], money: dict[Any, list[Money]], name: str) -> list[dict[str, Any]]:
    """One line per row and currency (a row without money: one line, its money cells empty)."""
    out = []
    for r in rows:
        values = {name: r.label, **r.figures.as_dict()}
        monies: list[Money | None] = [*money.get(r.key, [])] or [None]
        for m in monies:
            line = dict(values)
            if m is not None:
                line |= {
                    "currency": m.currency,
                    "invoiced_minor": m.invoiced_minor,
                    "collected_minor": m.net_collected_minor,
                    "average_minor": m.invoiced_minor // r.figures.completed if r.figures.completed else None,
                }
            out.append(line)
    return out


@require_safe
@login_required
def branch_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    """A branch's dashboard: its headline figures against the previous period, the trend, each
    doctor's utilization and figures (each a link to her figures and to the appointments behind
    them), the services, the money per doctor, the week ahead's load; the doctors' table as CSV."""
    user = request.user
    own = _own_doctor(user)
    if own is not None:
        return _redirect_keeping(request, "report-doctor", own)
    reach, branch = _branch_in_reach(user, pk)
    today = chain_today()
    form = PeriodForm(request.GET, today=today)
    period = form.period()
    context: dict[str, Any] = {
        "form": form,
        "period_fields": [form["from"], form["to"]],
        "branch": branch,
        "reports_nav": reports_nav(request, reach),
        "keep": _keep(request),
    }
    if period is None:
        return _invalid(request, "reports/branch.html", {**context, "choices": _period_choices(request, today, None)})
    dashboard = figures_branch(actor=user, branch_id=branch.pk, period=period, today=today)
    money = _money_by_key(dashboard.money)
    doctors = rows_with_figure(dashboard.rows)
    if request.GET.get("format"):
        return export_response(
            rows=_export_rows(doctors, money, "doctor"),
            columns=DOCTOR_COLUMNS,
            filename=export_filename(f"doctors-{branch.name}", dashboard.period.first, dashboard.period.last),
            fmt=request.GET["format"],
        )
    n = _numbers()
    scope = Scope(dashboard.period, branch_ids=[branch.pk])
    compared = dashboard.compared
    doctor_rows = [
        figure_row(
            r,
            n,
            scope,
            link=f"{reverse('report-doctor', args=[r.key])}?{_query(request, branch=branch.pk)}",
            by="doctor",
            money=money.get(r.key, ()),
        )
        for r in doctors
    ]
    other_money = [{"label": r.label, **money_cells(r.money, 0, n)} for r in dashboard.money if r.key is None]
    loads = doctors_load(actor=user, period=week_ahead(today), filters=Filters.of(branch_ids=[branch.pk]))
    context |= {
        "period": period,
        "period_label": period_label(period, today),
        "previous_label": compared_label(period, today),
        "choices": _period_choices(request, today, period),
        "cards": visit_cards(compared.figures, compared.before, n, scope),
        "money_cards": money_cards(dashboard.money_total, dashboard.money_before, n),
        "trends": trend_charts(dashboard, today),
        "doctors": doctor_rows,
        "doctor_chart": Chart(
            caption="Utilization by doctor",
            kind="bar",
            label="Doctor",
            series=[Series("Utilization", "percent")],
            rows=[(r.label, [r.figures.utilization]) for r in doctor_rows],
        ),
        "services": [figure_row(r, n, scope, by="service") for r in rows_with_figure(dashboard.services)],
        "other_money": other_money,
        "money_shown": bool(dashboard.money),
        "loads": load_rows(loads, n, doctor_links=True),
        "ahead": week_ahead(today),
        **download_links(request.path, _query(request)),
    }
    return render(request, "reports/branch.html", context)


def _doctor_in_reach(actor: Actor, pk: int) -> tuple[Reach, StaffMember]:
    """The doctor whose figures are asked for, if the reader may see them: her own (a doctor), or a
    doctor working at one of the reader's branches."""
    reach = figures_reach(actor=actor)
    reach.doctors([pk])  # a doctor asking for another's: 403
    doctor = (
        StaffMember.objects.filter(pk=pk, roles__contains=[Role.DOCTOR])
        .select_related("user")
        .prefetch_related("branches")
        .first()
    )
    if doctor is None:
        raise NotFound("No such doctor.")
    if reach.branch_ids is not None and not {b.pk for b in doctor.branches.all()} & reach.branch_ids:
        raise DoctorNotInReach()
    return reach, doctor


SERVICE_COLUMNS = [Column("service", "Service"), *DOCTOR_COLUMNS[4:]]
BRANCH_COLUMNS = [Column("branch", "Branch"), *DOCTOR_COLUMNS[1:]]


@require_safe
@login_required
def doctor_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    """A doctor's figures (her practitioner performance): appointments, completed visits, revenue and
    average revenue per visit, no-shows, rebook rate, against the previous period; the trend; per
    service and per branch; each count a link to its appointments; the services' table as CSV."""
    user = request.user
    reach, doctor = _doctor_in_reach(user, pk)
    branch_id = _branch_asked(user, request.GET)
    today = chain_today()
    form = PeriodForm(request.GET, today=today)
    period = form.period()
    name = doctor_name(doctor)
    context: dict[str, Any] = {
        "form": form,
        "period_fields": [form["from"], form["to"]],
        "doctor": doctor,
        "name": name,
        "reports_nav": reports_nav(request, reach),
        "own": reach.doctor_id is not None,
        "keep": _keep(request),
    }
    if period is None:
        return _invalid(request, "reports/doctor.html", {**context, "choices": _period_choices(request, today, None)})
    dashboard = figures_doctor(actor=user, doctor_id=doctor.pk, period=period, branch_id=branch_id, today=today)
    money = _money_by_key(dashboard.money)
    services = rows_with_figure(dashboard.services)
    if request.GET.get("format"):
        return export_response(
            rows=_export_rows(services, money, "service"),
            columns=SERVICE_COLUMNS,
            filename=export_filename(f"doctor-{name}-services", dashboard.period.first, dashboard.period.last),
            fmt=request.GET["format"],
        )
    n = _numbers()
    scope = Scope(dashboard.period, branch_ids=[branch_id] if branch_id else (), doctor_id=doctor.pk)
    compared = dashboard.compared
    f, b = compared.figures, compared.before
    totals = _by_currency(dashboard.money_total)
    totals_before = _by_currency(dashboard.money_before)
    revenue_cards = []
    for currency, m in sorted(totals.items()):
        was = totals_before.get(currency, Money(currency))
        average = m.invoiced_minor // f.completed if f.completed else None
        average_before = was.invoiced_minor // b.completed if b.completed else None
        revenue_cards += [
            Card(
                "Revenue" + (f" ({currency})" if len(totals) > 1 else ""),
                n.money(m.invoiced_minor, currency),
                money_change(m.invoiced_minor, was.invoiced_minor, currency, n),
                note=f"invoiced, {n.money(m.net_collected_minor, currency)} collected",
            ),
            Card(
                "Average revenue" + (f" ({currency})" if len(totals) > 1 else ""),
                n.money(average, currency),
                None
                if average is None or average_before is None
                else money_change(average, average_before, currency, n),
                note="invoiced per completed visit",
            ),
        ]
    visits = {c.label: c for c in visit_cards(f, b, n, scope)}
    cards = [
        Card(
            "Appointments not cancelled",
            n.count(f.appointments),
            count_change(f.appointments, b.appointments, n, "up"),
            scope.behind(Figure.APPOINTMENTS),
            f"{n.count(f.bookings)} booked in all",
        ),
        visits["Completed visits"],
        visits["Utilization"],
        Card(
            "No-shows (DNAs)",
            n.count(f.no_shows),
            count_change(f.no_shows, b.no_shows, n, "down"),
            scope.behind(Figure.NO_SHOWS),
            f"{n.share(f.no_show_rate)} of visits with an outcome",
        ),
        *(visits[label] for label in ("Rebook rate", "Late cancellations", "Early cancellations")),
        *(visits[label] for label in ("New patients", "Returning patients")),
    ]
    selected_branch = None
    if branch_id:
        named = {r.key: r.label for r in dashboard.rows} | {b.pk: b.name for b in doctor.branches.all()}
        selected_branch = named.get(branch_id, f"Branch {branch_id}")
    context |= {
        "period": period,
        "period_label": period_label(period, today),
        "previous_label": compared_label(period, today),
        "choices": _period_choices(request, today, period),
        "cards": revenue_cards + cards,
        "trends": trend_charts(dashboard, today),
        "services": [figure_row(r, n, scope, by="service", money=money.get(r.key, ())) for r in services],
        "service_chart": Chart(
            caption="Completed visits by service",
            kind="bar",
            label="Service",
            series=[Series("Completed visits"), Series("No-shows")],
            rows=[(r.label, [r.figures.completed, r.figures.no_shows]) for r in services],
        ),
        "other_money": [{"label": r.label, **money_cells(r.money, 0, n)} for r in dashboard.money if r.key is None],
        "money_shown": bool(dashboard.money),
        "branches": [
            figure_row(r, n, scope, by="branch", link=_branch_link(reach, r.key))
            for r in rows_with_figure(dashboard.rows)
        ],
        "selected_branch": selected_branch,
        "all_branches": f"{request.path}?{_query(request, branch=None)}",
        **download_links(request.path, _query(request)),
    }
    return render(request, "reports/doctor.html", context)


def _branch_link(reach: Reach, key: Any) -> str:
    """A branch's dashboard, for a reader who reads branches (not a doctor reading her own)."""
    if not isinstance(key, int) or reach.doctor_id is not None:
        return ""
    return reverse("report-branch", args=[key])


class BehindForm(forms.Form):
    """Which appointments: a figure, the period, and the branch, doctor and service it is narrowed to."""

    figure = forms.ChoiceField(choices=[(f.value, FIGURE_LABELS[f]) for f in Figure], label="Figure")
    doctor = forms.IntegerField(required=False, widget=forms.HiddenInput)
    service = forms.IntegerField(required=False, widget=forms.HiddenInput)


@dataclass(frozen=True)
class Narrowed:
    """What the list is narrowed to, in words and as filters."""

    filters: Filters
    words: list[str]


def _narrowed(user: Actor, data: QueryDict, form: PeriodForm) -> Narrowed | None:
    branches = form.branch_ids()
    doctor = to_int(data.get("doctor"))
    service = to_int(data.get("service"))
    bad = [k for k in ("doctor", "service") if data.get(k) and to_int(data.get(k)) is None]
    for key in bad:
        form.add_error(None, f"The {key} asked for is not one: choose it from a dashboard.")
    if bad:
        return None
    words = []
    if branches:
        figures_reach(actor=user).branches(branches)  # 403 for a branch beyond reach
        names = dict(branch_list(actor=user).filter(pk__in=branches).values_list("pk", "name"))
        if set(branches) - names.keys():
            raise NotFound("No such branch.")
        words.append(", ".join(names[b] for b in branches))
    return Narrowed(
        Filters.of(
            branch_ids=branches,
            doctor_ids=None if doctor is None else [doctor],
            service_ids=None if service is None else [service],
        ),
        words,
    )


@require_safe
@login_required
def appointments(request: HttpRequest) -> HttpResponse:
    """The appointments behind a figure: when, patient (a link to the chart), doctor, service,
    branch, status and source, on each branch's clock, a page at a time; the whole list as CSV.
    Patients shown (and exported) are access-logged. Readers of visit figures only (not billing)."""
    user = request.user
    reach = figures_reach(actor=user)  # 403 for billing, reception, patients
    today = chain_today()
    form = PeriodForm(request.GET, today=today, branches=[])
    what = BehindForm(request.GET)
    period = form.period()
    context: dict[str, Any] = {
        "form": form,
        "period_fields": [form["from"], form["to"]],
        "what": what,
        "reports_nav": reports_nav(request, reach),
        "keep": _keep(request),
    }
    narrowed = _narrowed(user, request.GET, form) if period is not None else None
    if period is None or narrowed is None or not what.is_valid():
        return _invalid(request, "reports/appointments.html", context)
    figure = Figure(what.cleaned_data["figure"])
    found = appointments_behind(actor=user, period=period, figure=figure, filters=narrowed.filters)
    label = FIGURE_LABELS[figure]
    if request.GET.get("format"):
        rows = behind_file_rows(found, request.GET["format"])
        response = export_response(
            rows=[r.export_row() for r in rows],
            columns=BEHIND_COLUMNS,
            filename=export_filename(f"appointments-{figure.value}", period.first, period.last),
            fmt=request.GET["format"],
        )
        access_log_records(request, action="export", object_type="appointment", records=_records(rows))
        return response
    page = Paginator(found, PAGE_SIZE).get_page(to_int(request.GET.get("page")) or 1)
    rows = behind_rows(page.object_list)
    access_log_records(request, action="list", object_type="appointment", records=_records(rows))
    doctor_id = next(iter(narrowed.filters.doctor_ids or ()), None)
    service_id = next(iter(narrowed.filters.service_ids or ()), None)
    words = list(narrowed.words)
    if doctor_id is not None:
        words.append(next((r.doctor for r in rows if r.doctor_id == doctor_id), "") or _doctor_label(doctor_id))
    if service_id is not None:
        words.append(next((r.service for r in rows if r.service_id == service_id), "the service chosen"))
    context |= {
        "label": label,
        "period": period,
        "period_label": period_label(period),
        "narrowed": words,
        "page": page,
        "rows": [listed(r) for r in rows],
        **download_links(request.path, _query(request)),
        "page_query": _query(request),
        "choices": _period_choices(request, today, period),
    }
    return render(request, "reports/appointments.html", context)


def listed(row: AppointmentBehind) -> dict[str, Any]:
    """A row of the list as the page shows it: its start on its branch's clock (the row's own zone,
    not the page's), statuses and sources as people read them."""
    start = row.start
    return {
        **row.as_dict(),
        "when": date_format(start, "SHORT_DATETIME_FORMAT"),
        "status_label": Status(row.status).label,
        "source_label": Source(row.source).label,
    }


@dataclass(frozen=True)
class _Shown:
    pk: int
    patient_id: int | None


def _records(rows: Iterable[Any]) -> list[_Shown]:
    return [_Shown(r.id, r.patient_id) for r in rows]


def _doctor_label(doctor_id: int) -> str:
    doctor = StaffMember.objects.filter(pk=doctor_id).select_related("user").first()
    return doctor_name(doctor) if doctor is not None else "the doctor chosen"

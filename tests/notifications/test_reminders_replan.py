"""Changing the reminder times or quiet hours re-plans the pending reminders of upcoming visits in
the same transaction, in bulk: a reminder already sent stays sent and is not written again, running
it again changes nothing, the page's service says how many changed, and the dispatcher claiming
reminders at the same moment (real concurrent connections) never makes one go twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from notifications import services
from notifications.dispatch import messages_dispatch
from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.policy import messaging_settings
from notifications.reminders import Replanned, reminders_replan
from patients.models import Patient
from patients.services import consent_set
from tests.conftest import WORLD
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup
from tests.helpers import calendar_clear, committed, race
from tests.notifications.sent_world import messaging, reachable, reminders
from tests.notifications.sent_world import settings_in as _values

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    messaging(offsets=[24 * 60, 120], quiet=None)
    return clinic_setup(in_a, doctors=1, shift=(time(7), time(19)), opens=time(7), closes=time(19))


def test_new_quiet_hours_move_the_waiting_reminders_and_say_how_many(clinic):
    # given two visits at 09:00 and 11:00 without quiet hours: their two-hour reminders wait at 07:00 and 09:00
    nine = book(clinic, clinic.at(MONDAY, 9), patient=reachable(clinic))
    eleven = book(clinic, clinic.at(MONDAY, 11), patient=reachable(clinic))
    assert reminders(nine.pk)[-1].due_at == clinic.at(MONDAY, 7)
    # when the owner sets quiet hours 21:00-08:00
    change = services.messaging_settings_change(
        actor=clinic.owner, values=_values(quiet_hours_start=time(21), quiet_hours_end=time(8))
    )
    # then the 09:00 visit's reminder now goes at 08:00, the same row; the 11:00 visit's stay as they were
    assert [m.due_at for m in reminders(nine.pk)] == [clinic.at(MONDAY - timedelta(days=1), 9), clinic.at(MONDAY, 8)]
    assert [m.due_at for m in reminders(eleven.pk)][-1] == clinic.at(MONDAY, 9)
    # and the change says one visit's reminder was given a new time
    assert change.replanned == Replanned(visits=1, moved=1, written=0, dropped=0)


def test_new_offsets_keep_a_sent_reminder_sent_and_replanning_again_changes_nothing(clinic):
    # given a visit whose day-before reminder was already sent
    visit = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    day_before, two_hours = reminders(visit.pk)
    Message.objects.filter(pk=day_before.pk).update(status=MessageStatus.SENT, sent_at=timezone.now())
    # when the owner changes the reminders to a day and one hour before
    change = services.messaging_settings_change(actor=clinic.owner, values=_values(reminder_offsets_minutes=[1440, 60]))
    # then the sent one stays sent and is not written again; the two-hour one becomes the one-hour one (same row)
    rows = Message.objects.filter(appointment_id=visit.pk, kind=Kind.REMINDER)
    assert rows.filter(status=MessageStatus.SENT).count() == 1
    assert [(m.pk, m.due_at, m.context["offset"]) for m in reminders(visit.pk)] == [
        (two_hours.pk, clinic.at(MONDAY, 9), 60)
    ]
    assert change.replanned == Replanned(visits=1, moved=1, written=0, dropped=0)
    # and planning again changes nothing (idempotent)
    assert reminders_replan() == Replanned(visits=0, moved=0, written=0, dropped=0)
    assert rows.count() == 2


def test_new_reminder_times_move_each_waiting_reminder_in_place_without_dead_rows(clinic):
    # given two visits, each with a day-before and a two-hour reminder waiting
    visits = [book(clinic, clinic.at(MONDAY, h), patient=reachable(clinic)) for h in (11, 14)]
    before = {v.pk: [m.pk for m in reminders(v.pk)] for v in visits}
    # when the owner changes the two-hour reminder to three hours
    change = services.messaging_settings_change(
        actor=clinic.owner, values=_values(reminder_offsets_minutes=[1440, 180])
    )
    # then each visit keeps its two rows, the second now three hours before; nothing is "not needed"
    for visit, hour in zip(visits, (11, 14), strict=True):
        rows = reminders(visit.pk)
        assert [m.pk for m in rows] == before[visit.pk]
        assert rows[-1].due_at == clinic.at(MONDAY, hour - 3)
        assert rows[-1].key == f"reminder:{visit.pk}:180:{int(visit.span.lower.timestamp())}:{rows[-1].channel}"
    assert not Message.objects.filter(kind=Kind.REMINDER, status=MessageStatus.CANCELLED).exists()
    assert change.replanned == Replanned(visits=2, moved=2, written=0, dropped=0)
    # and planning again changes nothing
    assert reminders_replan() == Replanned(visits=0, moved=0, written=0, dropped=0)


def test_a_reminder_written_by_e_mail_goes_by_sms_in_its_own_row_once_the_patient_agreed_to_texts(clinic):
    # given a visit booked while its patient could only be e-mailed: its reminders wait by e-mail
    patient = reachable(clinic, sms=False)
    visit = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    by_email = [m.pk for m in reminders(visit.pk, channel=Channel.EMAIL)]
    assert len(by_email) == 2
    # when the patient gives a mobile and agrees to texts, and then the owner sets quiet hours
    Patient.objects.filter(pk=patient.pk).update(phone="+447912399999")
    consent_set(actor=clinic.owner, patient=Patient.objects.get(pk=patient.pk), channel="sms", given=True)
    change = services.messaging_settings_change(
        actor=clinic.owner, values=_values(quiet_hours_start=time(21), quiet_hours_end=time(8))
    )
    # then the same two rows now wait by SMS, to the new number; none is "not needed"
    by_sms = reminders(visit.pk, channel=Channel.SMS)
    assert [m.pk for m in by_sms] == by_email
    assert {m.recipient for m in by_sms} == {"+447912399999"}
    assert not Message.objects.filter(appointment_id=visit.pk, status=MessageStatus.CANCELLED).exists()
    assert change.replanned == Replanned(visits=1, moved=2, written=0, dropped=0)


def test_a_reminder_the_new_times_no_longer_want_is_dropped_with_the_reason(clinic):
    # given a visit with a day-before and a two-hour reminder waiting
    visit = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    day_before, two_hours = reminders(visit.pk)
    # when the owner keeps only the two-hour reminder
    change = services.messaging_settings_change(actor=clinic.owner, values=_values(reminder_offsets_minutes=[120]))
    # then the day-before one is no longer needed, saying why; the two-hour one waits as it was
    dropped = Message.objects.get(pk=day_before.pk)
    assert dropped.status == MessageStatus.CANCELLED
    assert "new reminder times" in dropped.last_error
    assert [m.pk for m in reminders(visit.pk)] == [two_hours.pk]
    assert change.replanned == Replanned(visits=1, moved=0, written=0, dropped=1)


def test_going_back_to_the_old_offsets_brings_the_dropped_reminder_back_once(clinic):
    # given a visit whose two-hour reminder was dropped by a change to one hour
    visit = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    services.messaging_settings_change(actor=clinic.owner, values=_values(reminder_offsets_minutes=[1440, 60]))
    # when the owner goes back to two hours
    services.messaging_settings_change(actor=clinic.owner, values=_values(reminder_offsets_minutes=[1440, 120]))
    # then the visit again has exactly a day-before and a two-hour reminder waiting
    assert [m.due_at for m in reminders(visit.pk)] == [clinic.at(MONDAY - timedelta(days=1), 10), clinic.at(MONDAY, 8)]


def test_settings_without_new_times_replan_nothing(clinic):
    # given a booked visit
    book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    # when the owner only turns e-mail off
    change = services.messaging_settings_change(actor=clinic.owner, values=_values(email_enabled=False))
    # then nothing is re-planned
    assert change.replanned is None


# --- against the dispatcher, on real concurrent connections ---------------------------------------------------


@pytest.fixture
def shared(django_db_setup, django_db_blocker) -> Iterator[Clinic]:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        before = messaging_settings()
        saved = (list(before.reminder_offsets_minutes), before.quiet_hours_start, before.quiet_hours_end)
        messaging(offsets=[24 * 60, 120], quiet=None)
        clinic = clinic_setup(chain, branch=chain.branches[0], doctors=1)
    yield clinic
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        Message.objects.filter(appointment__doctor__in=clinic.doctors).delete()
        calendar_clear(clinic.doctors)
        messaging(offsets=saved[0], quiet=(saved[1], saved[2]) if saved[1] else None)


@pytest.mark.parametrize("round_", range(3))
def test_a_replan_and_the_dispatcher_at_once_never_send_a_reminder_twice(shared, round_):
    # given visits whose day-before reminders are due now (committed for other connections to see)
    with committed(), schema_context(shared.chain.schema):
        day = shared.days_ahead(5 + round_)
        visits = [book(shared, shared.at(day, 10 + i), patient=reachable(shared)) for i in range(4)]
        ids = [v.pk for v in visits]
        due = Message.objects.filter(appointment_id__in=ids, kind=Kind.REMINDER, context__offset=1440)
        due.update(due_at=timezone.now() - timedelta(minutes=1))
        owner = shared.owner
        values = _values(reminder_offsets_minutes=[1440, 60])

    # when the owner changes the reminder times while the dispatcher claims due messages, each on its own connection
    def attempt(i: int) -> None:
        if i == 0:
            services.messaging_settings_change(actor=owner, values=values)
        else:
            messages_dispatch(now=timezone.now())

    outcomes = race(2, attempt, shared.chain.schema)

    # then both finish; each visit has one day-before reminder, sent at most once, and one one-hour reminder waiting
    assert outcomes == ["ok", "ok"]
    with committed(), schema_context(shared.chain.schema):
        for visit_id in ids:
            rows = Message.objects.filter(appointment_id=visit_id, kind=Kind.REMINDER)
            day_before = rows.filter(context__offset=1440).exclude(status=MessageStatus.CANCELLED)
            assert day_before.count() == 1
            assert day_before.filter(status__in=[MessageStatus.SENT, MessageStatus.PENDING]).count() == 1
            assert rows.filter(context__offset=60, status=MessageStatus.PENDING).count() == 1
            assert not rows.filter(context__offset=120, status=MessageStatus.PENDING).exists()
        # and planning again changes nothing
        assert reminders_replan() == Replanned(visits=0, moved=0, written=0, dropped=0)
        messaging(offsets=[24 * 60, 120], quiet=None)


def test_a_reminder_handed_back_to_waiting_after_the_plan_locked_its_rows_is_left_to_the_dispatcher(clinic):
    from notifications.reminders import _Changes, _channels, _reconcile, reminders_planned

    # given a visit whose two-hour reminder was claimed by the dispatcher while the plan locked the waiting
    # ones, then handed back to waiting (postponed) before the plan read every row by key
    visit = book(clinic, clinic.at(MONDAY, 9), patient=reachable(clinic))
    day_before, two_hours = reminders(visit.pk)
    messaging(offsets=[24 * 60, 120], quiet=(time(21), time(8)))
    planned = reminders_planned(visit, now=timezone.now())
    keyed = {m.key: m for m in Message.objects.filter(appointment_id=visit.pk) if m.key}
    # when the plan brings the reminders to the new quiet hours with only the day-before one locked
    changes = _Changes()
    channels = _channels(visit, planned)
    _reconcile(visit, planned=planned, channels=channels, pending=[day_before], keyed=keyed, into=changes)
    # then the row it does not hold is not written (the dispatcher may be sending it), nor written again
    assert two_hours.pk not in [m.pk for m in changes.moved]
    assert changes.written == []
    assert two_hours.pk not in changes.dropped

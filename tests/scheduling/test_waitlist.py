"""The waitlist: which entries a freed time suits, offers in the order patients joined with the time
held for them, accepting through the booking door, expiry and declines moving on, leaving the list."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django_tenants.utils import schema_context

from config.errors import PermissionDenied
from notifications.models import Kind, Message
from scheduling import services as sched
from scheduling import waitlist_tasks
from scheduling.exceptions import (
    BookingRefused,
    InvalidScheduling,
    WaitlistLinkInvalid,
    WaitlistOfferClosed,
    WaitlistOfferTaken,
)
from scheduling.leave_plan import LeaveAction
from scheduling.models import Appointment, OfferStatus, Source, Status, WaitlistEntry, WaitlistPolicy, WaitlistStatus
from scheduling.selectors import slot_list_available
from scheduling.waitlist import waitlist_candidates, waitlist_list, waitlist_offer_read
from tests.factories.scheduling import book
from tests.scheduling.waitlist_world import (
    DAY,
    booked_at,
    cancel,
    expire_at,
    join,
    link_token,
    offers_of,
    patient,
)

pytestmark = pytest.mark.django_db


def test_a_freed_time_suits_entries_by_branch_doctor_dates_times_and_weekdays(clinic):
    # given entries that differ in one rule each from a time at 10:00 with the first doctor
    start = clinic.at(DAY, 10)
    suits = join(clinic)
    same_doctor = join(clinic, doctor=clinic.doctors[0])
    other_doctor = join(clinic, doctor=clinic.doctors[1])
    too_late_in_day = join(clinic, times=(time(10, 30), time(12)))
    visit_overruns = join(clinic, times=(time(9), time(10, 15)))  # the 30-minute visit ends 10:30
    other_dates = join(clinic, day=DAY + timedelta(days=14))
    right_weekday = join(clinic, weekdays=(DAY.weekday(),))
    wrong_weekday = join(clinic, weekdays=((DAY.weekday() + 1) % 7,))
    busy_patient = patient(clinic)
    book(clinic, start, doctor=clinic.doctors[1], patient=busy_patient)
    already_booked = join(clinic, busy_patient)

    # when the entries that time suits are asked for
    found = waitlist_candidates(branch=clinic.branch, doctor_id=clinic.doctors[0].pk, start=start)

    # then those it suits come in the order they joined, and no other
    assert [e.pk for e in found] == [suits.pk, same_doctor.pk, right_weekday.pk]
    assert not {e.pk for e in found} & {
        e.pk for e in (other_doctor, too_late_in_day, visit_overruns, other_dates, wrong_weekday, already_booked)
    }


def test_a_cancelled_time_is_held_and_offered_to_the_first_who_joined(clinic):
    # given a booked time and two patients waiting, the first joined first
    appointment = booked_at(clinic)
    first, second = join(clinic), join(clinic)

    # when the appointment is cancelled
    cancel(clinic, appointment)

    # then the time is held by the waitlist and offered to the first only
    [offer] = offers_of(first)
    assert offers_of(second) == []
    hold = offer.hold
    assert (hold.status, hold.source, hold.patient_id) == (Status.HELD, Source.WAITLIST, None)
    assert hold.span.lower == appointment.span.lower
    assert hold.doctor_id == appointment.doctor_id
    assert offer.status == OfferStatus.OPEN
    assert offer.expires_at <= hold.hold_expires_at
    # and the offer's message with its link is in the outbox, the link masked for the log
    message = Message.objects.get(key=f"waitlist-offer:{offer.pk}:email")
    assert message.kind == Kind.WAITLIST_OFFER
    assert message.recipient == first.patient.email
    assert "link" in message.context["secret"]
    assert message.context["link"].endswith(f"/waitlist/offer/{link_token(offer)}/")


def test_the_held_time_blocks_others_from_booking_it(clinic):
    # given a cancelled time held for a waiting patient
    appointment = booked_at(clinic)
    join(clinic)
    cancel(clinic, appointment)

    # when the desk tries to book it for someone else, and availability is asked
    with pytest.raises(BookingRefused) as refused:
        book(clinic, appointment.span.lower, doctor=clinic.doctors[0])
    slots = slot_list_available(service=clinic.service, branch=clinic.branch, date_from=DAY, date_to=DAY, step=30)

    # then the booking is refused and the time is not offered
    assert refused.value.code == "doctor_busy"
    assert not [s for s in slots if s.start == appointment.span.lower and s.doctor_id == clinic.doctors[0].pk]


def test_accepting_books_the_time_for_the_patient_and_closes_the_entry(clinic):
    # given an offer made to a waiting patient
    appointment = booked_at(clinic)
    entry = join(clinic)
    cancel(clinic, appointment)
    [offer] = offers_of(entry)

    # when the patient accepts it by the link
    booked = sched.waitlist_offer_accept(token=link_token(offer))

    # then the held row is their appointment, and the entry and the offer say so
    appointment = Appointment.objects.get(pk=booked.appointment.pk)
    assert (appointment.pk, appointment.status, appointment.patient_id) == (
        offer.hold_id,
        Status.BOOKED,
        entry.patient_id,
    )
    entry.refresh_from_db()
    offer.refresh_from_db()
    assert (entry.status, entry.appointment_id) == (WaitlistStatus.BOOKED, appointment.pk)
    assert (offer.status, offer.appointment_id) == (OfferStatus.ACCEPTED, appointment.pk)
    assert sched.manage_link_resolve(token=booked.manage_token).pk == appointment.pk
    # and the link now says it is accepted
    assert waitlist_offer_read(token=link_token(offer)).state == "accepted"


def test_an_unanswered_offer_expires_and_the_time_goes_to_the_next(clinic):
    # given an offer to the first of two waiting patients
    appointment = booked_at(clinic)
    first, second = join(clinic), join(clinic)
    cancel(clinic, appointment)
    [offer] = offers_of(first)

    # when its time runs out and the expiry task runs (twice)
    later = expire_at(offer)
    expired = sched.waitlist_offers_expire(now=later)
    again = sched.waitlist_offers_expire(now=later)

    # then the first offer expired once, the second patient has the same held time, kept longer
    assert (expired, again) == (1, 0)
    offer.refresh_from_db()
    [next_offer] = offers_of(second)
    assert offer.status == OfferStatus.EXPIRED
    assert next_offer.status == OfferStatus.OPEN
    assert next_offer.hold_id == offer.hold_id
    assert Appointment.objects.get(pk=offer.hold_id).hold_expires_at > next_offer.expires_at - timedelta(seconds=1)
    # and the first patient is still waiting, but is not offered the same time again
    first.refresh_from_db()
    assert first.status == WaitlistStatus.WAITING
    assert len(offers_of(first)) == 1


def test_when_nobody_is_left_the_time_is_given_back(clinic):
    # given one waiting patient whose offer ran out
    appointment = booked_at(clinic)
    entry = join(clinic)
    cancel(clinic, appointment)
    [offer] = offers_of(entry)

    # when the expiry task runs
    sched.waitlist_offers_expire(now=expire_at(offer))

    # then the hold is released and the desk can book the time
    assert Appointment.objects.get(pk=offer.hold_id).status == Status.CANCELLED
    assert book(clinic, appointment.span.lower, doctor=clinic.doctors[0]).status == Status.BOOKED


def test_a_declined_offer_moves_on_and_the_patient_stays_on_the_list(clinic):
    # given an offer to the first of two
    appointment = booked_at(clinic)
    first, second = join(clinic), join(clinic)
    cancel(clinic, appointment)
    [offer] = offers_of(first)

    # when the first declines
    sched.waitlist_offer_decline(token=link_token(offer))

    # then the second is offered the time; the first is still waiting and can no longer accept it
    assert [o.status for o in offers_of(second)] == [OfferStatus.OPEN]
    first.refresh_from_db()
    assert first.status == WaitlistStatus.WAITING
    with pytest.raises(WaitlistOfferClosed):
        sched.waitlist_offer_accept(token=link_token(offer))


def test_a_late_accept_still_gets_the_time_if_nobody_took_it_and_the_next_is_told(clinic):
    # given the first offer expired and the time offered to the second
    appointment = booked_at(clinic)
    first, second = join(clinic), join(clinic)
    cancel(clinic, appointment)
    [late] = offers_of(first)
    sched.waitlist_offers_expire(now=expire_at(late))
    [current] = offers_of(second)
    assert waitlist_offer_read(token=link_token(late)).state == "late"

    # when the first accepts late, before the second answers
    sched.waitlist_offer_accept(token=link_token(late))

    # then the first has it, the second's offer is taken (kindly told, still waiting)
    current.refresh_from_db()
    second.refresh_from_db()
    assert current.status == OfferStatus.TAKEN
    assert second.status == WaitlistStatus.WAITING
    assert Message.objects.filter(key=f"waitlist-taken:{current.pk}:email").exists()
    with pytest.raises(WaitlistOfferTaken):
        sched.waitlist_offer_accept(token=link_token(current))
    assert waitlist_offer_read(token=link_token(current)).state == "taken"


def test_accepting_judges_the_time_again_for_the_patient(clinic):
    # given an offer, and the patient booked elsewhere at that time since
    appointment = booked_at(clinic)
    entry = join(clinic)
    cancel(clinic, appointment)
    [offer] = offers_of(entry)
    book(clinic, appointment.span.lower, doctor=clinic.doctors[1], patient=entry.patient)

    # when the patient accepts
    with pytest.raises(BookingRefused) as refused:
        sched.waitlist_offer_accept(token=link_token(offer))

    # then the booking door refuses it as the patient's double booking, and nothing is booked
    assert refused.value.code == "patient_busy"
    assert Appointment.objects.get(pk=offer.hold_id).status == Status.HELD


def test_an_offer_accepted_after_the_time_was_given_back_rebooks_it_if_free(clinic):
    # given the only offer expired and the hold given back
    appointment = booked_at(clinic)
    entry = join(clinic)
    cancel(clinic, appointment)
    [offer] = offers_of(entry)
    sched.waitlist_offers_expire(now=expire_at(offer))

    # when the patient accepts late and the time is still free
    booked = sched.waitlist_offer_accept(token=link_token(offer))

    # then a new booking of that time is theirs
    assert booked.appointment.span.lower == appointment.span.lower
    assert booked.appointment.patient_id == entry.patient_id


def test_offers_to_several_at_once_the_first_to_accept_wins(clinic):
    # given a policy offering a time to two at once
    WaitlistPolicy.objects.update_or_create(id=1, defaults={"offers_at_once": 2})
    appointment = booked_at(clinic)
    first, second = join(clinic), join(clinic)
    cancel(clinic, appointment)
    [a], [b] = offers_of(first), offers_of(second)
    assert a.hold_id == b.hold_id

    # when the second accepts, then the first
    sched.waitlist_offer_accept(token=link_token(b))
    with pytest.raises(WaitlistOfferTaken):
        sched.waitlist_offer_accept(token=link_token(a))

    # then the second has it, and the first still waits
    first.refresh_from_db()
    assert first.status == WaitlistStatus.WAITING
    assert Appointment.objects.get(pk=a.hold_id).patient_id == second.patient_id


def test_a_rescheduled_visits_previous_time_is_offered(clinic):
    # given a booked visit at 10:00 and a patient waiting for that morning
    appointment = booked_at(clinic)
    entry = join(clinic)

    # when the visit moves to the afternoon
    sched.appointment_reschedule(actor=clinic.receptionist, appointment=appointment, start=clinic.at(DAY, 15))

    # then 10:00 is offered
    [offer] = offers_of(entry)
    assert offer.hold.span.lower == clinic.at(DAY, 10)


def test_a_cancellation_for_the_doctors_leave_offers_nothing_and_the_leave_is_saved(clinic):
    # given a booked visit and a patient waiting for that time with that doctor
    appointment = booked_at(clinic)
    entry = join(clinic, doctor=clinic.doctors[0])

    # when the doctor's leave over that morning cancels it
    resolved = sched.leave_create_resolving(
        actor=clinic.owner,
        doctor=clinic.doctors[0],
        start=clinic.at(DAY, 8),
        end=clinic.at(DAY, 13),
        reason="course",
        for_all=sched.LeaveDecision(action=LeaveAction.CANCEL, reason="doctor away"),
    )

    # then the leave stands and the doctor's absent time is offered to nobody
    assert resolved.cancelled[0].pk == appointment.pk
    assert offers_of(entry) == []


def test_leaving_by_the_link_withdraws_the_offer_and_moves_it_on(clinic):
    # given an offer to the first of two
    appointment = booked_at(clinic)
    first, second = join(clinic), join(clinic)
    cancel(clinic, appointment)
    [offer] = offers_of(first)

    # when the first leaves the list by the offer's link
    sched.waitlist_leave(token=link_token(offer))

    # then their entry is closed, the offer withdrawn, and the second offered the time
    first.refresh_from_db()
    offer.refresh_from_db()
    assert (first.status, offer.status) == (WaitlistStatus.LEFT, OfferStatus.WITHDRAWN)
    assert [o.status for o in offers_of(second)] == [OfferStatus.OPEN]


def test_the_joined_message_carries_a_link_to_leave(clinic):
    # given a patient put on the list
    entry = join(clinic)

    # when they follow the link of the message they received
    link = str(Message.objects.get(key=f"waitlist-joined:{entry.pk}:email").context["link"])
    sched.waitlist_leave(token=link.rstrip("/").rsplit("/", 1)[-1])

    # then they are off the list
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.LEFT


def test_staff_who_cannot_book_at_the_branch_cannot_change_the_list(clinic):
    # given a waiting entry
    entry = join(clinic)

    # when billing staff (who do not book) try to remove and to add
    with pytest.raises(PermissionDenied):
        sched.waitlist_remove(actor=clinic.chain.users["billing"], entry=entry)
    with pytest.raises(PermissionDenied):
        sched.waitlist_join(
            actor=clinic.chain.users["billing"],
            patient=patient(clinic),
            branch=clinic.branch,
            service=clinic.service,
            doctor=None,
            window=sched.Window(DAY, DAY, time(9), time(12)),
        )

    # then nothing changed
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING
    assert WaitlistEntry.objects.count() == 1


def test_staff_remove_and_the_list_reads_per_branch(clinic):
    # given two waiting entries
    kept, removed = join(clinic), join(clinic)

    # when the receptionist removes one
    sched.waitlist_remove(actor=clinic.receptionist, entry=removed)

    # then the branch's list shows the other
    assert [e.pk for e in waitlist_list(actor=clinic.receptionist, branch=clinic.branch)] == [kept.pk]


def test_joining_is_refused_for_an_impossible_window(clinic):
    with pytest.raises(InvalidScheduling) as refused:
        sched.waitlist_join(
            actor=clinic.receptionist,
            patient=patient(clinic),
            branch=clinic.branch,
            service=clinic.service,
            doctor=None,
            window=sched.Window(DAY, DAY - timedelta(days=1), time(12), time(9)),
        )
    assert set(refused.value.fields) == {"date_to", "time_to"}


def test_an_offer_link_of_one_chain_opens_nothing_at_another(clinic, chain_b):
    # given an offer made at chain A
    appointment = booked_at(clinic)
    entry = join(clinic)
    cancel(clinic, appointment)
    token = link_token(offers_of(entry)[0])
    entry_link = str(Message.objects.get(key=f"waitlist-joined:{entry.pk}:email").context["link"])

    # when its link is used at chain B
    with schema_context(chain_b.schema):
        for attempt in (
            lambda: waitlist_offer_read(token=token),
            lambda: sched.waitlist_offer_accept(token=token),
            lambda: sched.waitlist_offer_decline(token=token),
            lambda: sched.waitlist_leave(token=entry_link.rstrip("/").rsplit("/", 1)[-1]),
        ):
            # then it opens nothing there
            with pytest.raises(WaitlistLinkInvalid):
                attempt()


def test_the_periodic_task_expires_the_chains_offers(clinic, time_machine):
    # given an offer to the first of two waiting patients
    appointment = booked_at(clinic)
    first, second = join(clinic), join(clinic)
    cancel(clinic, appointment)
    [offer] = offers_of(first)

    # when the task runs in the chain after the offer ran out
    time_machine.move_to(expire_at(offer), tick=False)
    done = waitlist_tasks.waitlist_offers_expire()

    # then it expired that offer and offered the time to the next
    assert done == {"schema": clinic.chain.schema, "expired": 1}
    assert [o.status for o in offers_of(second)] == [OfferStatus.OPEN]

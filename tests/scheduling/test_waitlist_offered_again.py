"""A freed time offered to nobody (nobody it suited, or all it suited had an offer to answer) is
offered again while it is still free: when a patient it suits joins, or has no offer left to answer
(declined, expired, or taken by another), through the same offer round (held, first joined first,
with its message); the desk reads how many waiting still suit a time not yet offered."""

from __future__ import annotations

from datetime import time

import pytest

from notifications.models import Message
from scheduling import services as sched
from scheduling.models import OfferStatus, Status, WaitlistPolicy
from scheduling.waitlist import waitlist_freed_list, waitlist_freed_of
from tests.factories.scheduling import book
from tests.scheduling.waitlist_world import booked_at, cancel, expire_at, join, link_token, offers_of

pytestmark = pytest.mark.django_db


def _starts(entry) -> list:
    return [(o.hold.span.lower, o.status) for o in offers_of(entry)]


def test_a_time_offered_to_nobody_is_offered_to_a_patient_who_joins_later(clinic):
    # given a time freed while nobody was waiting
    appointment = booked_at(clinic, 10)
    cancel(clinic, appointment)
    assert waitlist_freed_of(appointment_id=appointment.pk).reason.startswith("Offered to nobody")

    # when a patient it suits joins (one it does not suit joined first)
    afternoons = join(clinic, times=(time(14), time(17)))
    entry = join(clinic)

    # then the time is held and offered to the one it suits, with the offer's message
    [offer] = offers_of(entry)
    assert (offer.hold.span.lower, offer.hold.status, offer.status) == (
        appointment.span.lower,
        Status.HELD,
        OfferStatus.OPEN,
    )
    assert Message.objects.filter(key=f"waitlist-offer:{offer.pk}:email").exists()
    assert offers_of(afternoons) == []
    # and the desk reads to whom it went
    freed = waitlist_freed_of(appointment_id=appointment.pk)
    said = dict((f.pk, s) for f, s in waitlist_freed_list(actor=clinic.owner, branch=clinic.branch))[freed.pk]
    assert said.startswith("The freed time went to the waitlist: offered to ")
    assert entry.patient.first_name in said


def test_a_time_booked_since_is_not_offered_to_who_joins(clinic):
    # given a time freed to nobody, then booked by the desk for someone else
    appointment = booked_at(clinic, 10)
    cancel(clinic, appointment)
    book(clinic, appointment.span.lower, doctor=clinic.doctors[0], actor=clinic.owner)

    # when a patient it would suit joins
    entry = join(clinic)

    # then nothing is offered
    assert offers_of(entry) == []


def _offered_ten_then_eleven_freed(clinic):
    ten, eleven = booked_at(clinic, 10), booked_at(clinic, 11)
    entry = join(clinic)
    cancel(clinic, ten)
    cancel(clinic, eleven)
    [first] = offers_of(entry)
    return ten, eleven, entry, first


def test_a_time_is_offered_again_when_the_patient_declines_their_other_offer(clinic):
    # given one waiting patient offered 10:00, and 11:00 freed meanwhile to nobody (they had an offer)
    ten, eleven, entry, first = _offered_ten_then_eleven_freed(clinic)
    assert waitlist_freed_of(appointment_id=eleven.pk).reason.endswith("1 already has an offer to answer.")

    # when they decline 10:00
    sched.waitlist_offer_decline(token=link_token(first))

    # then 11:00 is offered to them
    assert _starts(entry) == [
        (ten.span.lower, OfferStatus.DECLINED),
        (eleven.span.lower, OfferStatus.OPEN),
    ]


def test_a_time_is_offered_again_when_the_patients_other_offer_expires(clinic):
    # given one waiting patient offered 10:00, and 11:00 freed meanwhile to nobody
    ten, eleven, entry, first = _offered_ten_then_eleven_freed(clinic)

    # when their offer of 10:00 runs out
    sched.waitlist_offers_expire(now=expire_at(first))

    # then 11:00 is offered to them
    assert _starts(entry) == [
        (ten.span.lower, OfferStatus.EXPIRED),
        (eleven.span.lower, OfferStatus.OPEN),
    ]


def test_a_time_is_offered_again_when_another_took_the_patients_offered_time(clinic):
    # given two patients both offered 10:00, and 11:00 freed meanwhile to nobody
    WaitlistPolicy.objects.update_or_create(id=1, defaults={"offers_at_once": 2})
    ten, eleven = booked_at(clinic, 10), booked_at(clinic, 11)
    first, second = join(clinic), join(clinic)
    cancel(clinic, ten)
    cancel(clinic, eleven)
    assert len(offers_of(first)) == len(offers_of(second)) == 1

    # when the second takes 10:00
    sched.waitlist_offer_accept(token=link_token(offers_of(second)[0]))

    # then the first, told 10:00 was taken, is offered 11:00
    assert _starts(first) == [
        (ten.span.lower, OfferStatus.TAKEN),
        (eleven.span.lower, OfferStatus.OPEN),
    ]


def test_the_desk_reads_how_many_waiting_suit_a_time_still_free(clinic):
    # given one waiting patient with an offer to answer, and another time freed to nobody meanwhile
    ten, eleven = booked_at(clinic, 10), booked_at(clinic, 11)
    join(clinic)
    cancel(clinic, ten)
    cancel(clinic, eleven)

    # when the desk reads the freed times
    said = dict((f.start, s) for f, s in waitlist_freed_list(actor=clinic.owner, branch=clinic.branch))

    # then the time still free says who it suits and that it goes to them in turn
    assert said[eleven.span.lower].endswith(
        "Still free, matching: 1 waiting (it is offered to them in turn once they have no other offer to answer)."
    )
    assert "Still free" not in said[ten.span.lower]


def test_a_time_offered_to_nobody_goes_to_the_first_joined_of_those_free(clinic):
    # given two waiting patients, each offered a time, and 11:00 freed to nobody meanwhile
    nine, ten, eleven = booked_at(clinic, 9), booked_at(clinic, 10), booked_at(clinic, 11)
    first, second = join(clinic), join(clinic)
    cancel(clinic, nine)
    cancel(clinic, ten)
    cancel(clinic, eleven)
    assert [len(offers_of(first)), len(offers_of(second))] == [1, 1]

    # when the second declines theirs (10:00, the first never asked about it)
    [declined] = offers_of(second)
    sched.waitlist_offer_decline(token=link_token(declined))

    # then 11:00 goes to the second, free now; the first keeps their one offer to answer
    assert _starts(second)[-1] == (eleven.span.lower, OfferStatus.OPEN)
    assert len(offers_of(first)) == 1


@pytest.mark.parametrize("let_go", ["declined", "expired"])
def test_a_time_everyone_let_go_is_offered_to_a_patient_who_joins_later_but_not_again_to_them(clinic, let_go):
    # given a freed 10:00 offered to the one patient waiting, who declines it or lets it run out: it is free again
    appointment = booked_at(clinic, 10)
    first = join(clinic)
    cancel(clinic, appointment)
    [offer] = offers_of(first)
    if let_go == "declined":
        sched.waitlist_offer_decline(token=link_token(offer))
    else:
        sched.waitlist_offers_expire(now=expire_at(offer))
    assert offers_of(first)[0].hold.status == Status.CANCELLED

    # when a patient it suits joins later
    later = join(clinic)

    # then 10:00 is held again and offered to them, and the first patient is not asked again
    [again] = offers_of(later)
    assert (again.hold.span.lower, again.hold.status, again.status) == (
        appointment.span.lower,
        Status.HELD,
        OfferStatus.OPEN,
    )
    assert [o.pk for o in offers_of(first)] == [offer.pk]
    # and when that patient declines too, the first is still not asked
    sched.waitlist_offer_decline(token=link_token(again))
    assert [o.pk for o in offers_of(first)] == [offer.pk]

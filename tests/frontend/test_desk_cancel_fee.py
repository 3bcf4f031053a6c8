"""The desk records who asked for a cancellation: ticked "the patient asked", a late one carries the
chain's late-cancellation fee; left unticked (the clinic cancels), none."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from invoicing.fees import FeeCharge, FeeKind, FeeRule
from invoicing.models import InvoiceStatus, PaymentMethod
from invoicing.services import fees
from invoicing.services.fees import FeeRuleIn
from invoicing.services.invoices import raise_for_appointment
from invoicing.services.payments import payment_record
from scheduling import services as sched
from scheduling.models import Status
from tests.factories.scheduling import book
from tests.frontend.test_desk import desk  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def test_the_desk_says_whether_the_patient_asked_and_only_then_a_late_cancellation_carries_the_fee(
    desk,  # noqa: F811
):
    # given a late-cancellation fee of 15.00, a 24-hour window, and two visits two hours from now
    clinic, client, host = desk
    fees.fee_policy_update(
        actor=clinic.owner,
        no_show=FeeRuleIn(),
        late_cancellation=FeeRuleIn(FeeRule.FIXED, amount_minor=1500),
    )
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=24)
    soon = (timezone.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    soon -= timedelta(minutes=soon.minute % 15)
    called, clinics_own = (
        book(clinic, soon, actor=clinic.owner, doctor=doctor, patient=clinic.patient()) for doctor in clinic.doctors
    )
    # when the panel's cancel opens, then it asks whether the patient asked, unticked
    panel = client.get(f"/desk/appointments/{called.pk}/panel/", HTTP_HOST=host, HTTP_HX_REQUEST="true")
    html = panel.content.decode()
    assert f'<input type="checkbox" id="cancel-asked-{called.pk}" name="patient_asked" value="1"' in html
    assert "The patient asked to cancel" in html
    # when the desk cancels one the patient phoned about (ticked) and one the clinic cancels (unticked)
    for appointment, asked in ((called, {"patient_asked": "1"}), (clinics_own, {})):
        client.post(
            f"/desk/appointments/{appointment.pk}/cancel/",
            {"confirm": "1", "reason": "Cannot come", **asked},
            HTTP_HOST=host,
            HTTP_HX_REQUEST="true",
        )
        appointment.refresh_from_db()
        assert appointment.status == Status.CANCELLED
        assert appointment.late_cancellation
    # then only the patient's late cancellation owes the fee
    charges = list(FeeCharge.objects.values_list("appointment_id", "kind", "amount_minor"))
    assert charges == [(called.pk, FeeKind.LATE_CANCELLATION, 1500)]


def test_the_panel_says_what_the_cancellation_did_about_the_fee_and_the_deposit(desk):  # noqa: F811
    # given a late-cancellation fee of 15.00 and a visit two hours from now with 20.00 paid toward it
    clinic, client, host = desk
    fees.fee_policy_update(
        actor=clinic.owner, no_show=FeeRuleIn(), late_cancellation=FeeRuleIn(FeeRule.FIXED, amount_minor=1500)
    )
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=24)
    sched.service_update(actor=clinic.owner, service=clinic.service, price_minor=6000)
    soon = (timezone.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    soon -= timedelta(minutes=soon.minute % 15)
    paid, unpaid = (
        book(clinic, soon, actor=clinic.owner, doctor=doctor, patient=clinic.patient()) for doctor in clinic.doctors
    )
    visit = raise_for_appointment(paid, actor=None, issue=True, prepaid_by=paid.patient)
    payment_record(actor=clinic.owner, invoice=visit, method=PaymentMethod.CASH, amount_minor=2000)
    # when the desk cancels the paid one at the patient's request, and the other as the clinic's own
    said = []
    for appointment, asked in ((paid, {"patient_asked": "1"}), (unpaid, {})):
        panel = client.post(
            f"/desk/appointments/{appointment.pk}/cancel/",
            {"confirm": "1", "reason": "Cannot come", **asked},
            HTTP_HOST=host,
            HTTP_HX_REQUEST="true",
        )
        said.append(panel.content.decode())
    # then the panel says the deposit was kept as the fee, and that the clinic's own carries none
    assert "cancelled. Deposit £20.00 kept as the late cancellation fee." in said[0]
    assert "cancelled. No fee." in said[1]
    visit.refresh_from_db()
    assert visit.status == InvoiceStatus.VOID

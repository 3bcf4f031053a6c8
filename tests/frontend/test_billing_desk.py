"""The billing desk finds every invoice (number, patient, status, issue date), sums the day's
takings per branch, takes one payment towards a patient's whole balance, shows aged receivables
under the page's filters with a Current column and a totals row; branch managers read billing and
change nothing; the desk's panel says what else is past due and what a booked visit paid ahead."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction

from invoicing import services as billing
from invoicing.models import InvoiceStatus, Payment
from invoicing.services.invoices import raise_for_appointment
from invoicing.services.payments import payment_add
from tests.factories import Chain
from tests.factories.invoicing import PRICE, completed_visit, priced
from tests.factories.invoicing import ledger_state as _state
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.frontend.test_billing_pages import _as, _get, _post, _visit_elsewhere
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

DESK = "/billing/"
TAKINGS = "/billing/takings/"


@pytest.fixture
def clinic(in_a: Chain) -> Any:
    return priced(clinic_setup(in_a))


def _section(html: str, heading_id: str) -> str:
    found = re.search(rf'<section class="card" aria-labelledby="{heading_id}">(.*?)</section>', html, re.S)
    assert found is not None, heading_id
    return found.group(1)


# --- walk 12: every invoice can be found


def test_the_desk_finds_paid_void_and_refunded_invoices_by_number_status_and_issue_day(in_a, client, clinic):
    # given a paid invoice, a void one, a refunded one and an open one
    paid = completed_visit(clinic, hour=9)
    billing.payment_record(actor=clinic.receptionist, invoice=paid, method="cash", amount_minor=PRICE)
    void = completed_visit(clinic, hour=10)
    billing.invoice_void(actor=clinic.owner, invoice=void, reason="Raised twice")
    refunded = completed_visit(clinic, hour=11)
    payment = billing.payment_record(actor=clinic.receptionist, invoice=refunded, method="cash", amount_minor=PRICE)
    billing.refund_record(actor=clinic.owner, payment=payment, amount_minor=PRICE, reason="Did not take place")
    still_open = completed_visit(clinic, hour=12)
    _as(client, in_a, "billing")
    # when billing opens the desk as it comes, only what is owed is listed
    default = _section(_get(client, in_a, DESK).content.decode(), "open-h")
    assert still_open.number in default
    assert paid.number not in default
    # when she asks for any status, all four are there
    anything = _section(_get(client, in_a, DESK, data={"status": "any"}).content.decode(), "open-h")
    assert all(i.number in anything for i in (paid, void, refunded, still_open))
    # each status finds its own
    for invoice, status in ((paid, "paid"), (void, "void"), (refunded, "refunded")):
        found = _section(_get(client, in_a, DESK, data={"status": status}).content.decode(), "open-h")
        assert invoice.number in found, status
        assert still_open.number not in found, status
    # the number typed (all of it, or its digits) finds the invoice whatever its status
    for typed in (paid.number, paid.number.lower(), paid.number.split("-")[-1]):
        by_number = _section(_get(client, in_a, DESK, data={"q": typed, "status": "any"}).content.decode(), "open-h")
        assert paid.number in by_number, typed
        assert void.number not in by_number, typed
    # the issue day narrows it: none was issued the day before
    day = paid.issued_at.date()
    on_day = {"status": "any", "issued_from": day.isoformat(), "issued_to": day.isoformat()}
    assert paid.number in _get(client, in_a, DESK, data=on_day).content.decode()
    before = {"status": "any", "issued_to": (day - timedelta(days=1)).isoformat()}
    assert "No invoice matches." in _get(client, in_a, DESK, data=before).content.decode()


def test_a_nonsense_search_finds_nothing_and_is_no_error(in_a, client, clinic):
    completed_visit(clinic)
    _as(client, in_a, "billing")
    for data in ({"q": "INV-\x7f"}, {"issued_from": "2024-13-45"}, {"status": "bogus"}, {"branch": "9" * 30}):
        assert _get(client, in_a, DESK, data=data).status_code == 200, data


# --- walk 11: aged receivables follow the filters, a Current column, totals and what is past due


def test_aged_receivables_follow_the_filters_with_current_column_totals_and_past_due(in_a, client, clinic):
    # given one patient whose invoice is 40 days past due and another whose invoice is not yet due
    late = completed_visit(clinic, hour=9)
    fresh = completed_visit(clinic, day=MONDAY + timedelta(days=40), hour=10)
    elsewhere = _visit_elsewhere(in_a)
    with time_machine.travel(late.due_at + timedelta(days=40)):
        _as(client, in_a, "owner")
        # when the owner opens the desk
        html = _get(client, in_a, DESK).content.decode()
        aged = _section(html, "aged-h")
        # then the columns start with Current, patients are plain cells (not row headers), totals add up
        assert '<th scope="col" class="num">Current</th>' in aged
        assert '<th scope="row"><a' not in aged
        totals = re.search(r"<tfoot>(.*?)</tfoot>", aged, re.S)
        assert totals is not None
        assert "£225.00" in totals.group(1)  # three invoices of £75.00
        # past due: the late one (31-60 days) and the other branch's (the same age); the fresh one is current
        assert "<strong>£150.00</strong> past due of £225.00 owed" in aged
        # when she narrows the page to the first patient, the receivables follow
        narrowed = _section(_get(client, in_a, DESK, data={"q": late.patient.mrn}).content.decode(), "aged-h")
        assert str(late.patient) in narrowed
        assert str(fresh.patient) not in narrowed
        # and to the second branch
        branch = _section(_get(client, in_a, DESK, data={"branch": in_a.branches[1].pk}).content.decode(), "aged-h")
        assert str(elsewhere.patient) in branch
        assert str(late.patient) not in branch


def test_what_is_owed_counts_every_invoice_found_not_only_the_page_shown(in_a, client, clinic, monkeypatch):
    # given three open invoices of £75.00, one of them partly paid, and a page that shows two
    *_, third = (completed_visit(clinic, hour=h) for h in (9, 10, 11))
    billing.payment_record(actor=clinic.receptionist, invoice=third, method="cash", amount_minor=PRICE // 3)
    monkeypatch.setattr("invoicing.desk.PAGE_LIMIT", 2)
    _as(client, in_a, "billing")
    # when billing opens the desk
    owed = _section(_get(client, in_a, DESK).content.decode(), "owed-h")
    # then what is owed is all three's, as the invoices to chase and the aged receivables say
    assert "<strong>£200.00</strong> owed on 3 open invoices" in owed, owed


# --- walk 12: the day's takings


def test_the_days_takings_show_payments_by_method_refunds_and_the_net(in_a, client, clinic):
    # given on one day at the first branch: a cash payment, a card-terminal one, and a refund of part of the cash
    first = completed_visit(clinic, hour=9)
    second = completed_visit(clinic, hour=10)
    day = clinic.at(MONDAY, 17)
    with time_machine.travel(day, tick=False):
        cash = billing.payment_record(actor=clinic.receptionist, invoice=first, method="cash", amount_minor=PRICE)
        billing.payment_record(actor=clinic.receptionist, invoice=second, method="card_terminal", amount_minor=5000)
        billing.refund_record(actor=clinic.owner, payment=cash, amount_minor=1000, reason="Goodwill")
    # and a payment at the other branch the same day
    elsewhere = _visit_elsewhere(in_a)
    with time_machine.travel(day, tick=False):
        billing.payment_record(actor=clinic.owner, invoice=elsewhere, method="cash", amount_minor=3000)
    # when reception opens the takings of that day
    _as(client, in_a, "receptionist")
    page = _get(client, in_a, TAKINGS, data={"day": MONDAY.isoformat()})
    assert page.status_code == 200
    cashup = _section(page.content.decode(), "cashup-h")
    # then cash shows £75.00 taken, £10.00 refunded, £65.00 net; the card terminal £50.00; the day £115.00 net
    cash_row = re.search(r"<th scope=\"row\">Cash</th>(.*?)</tr>", cashup, re.S)
    assert cash_row is not None
    assert re.findall(r"£[\d.,]+", cash_row.group(1)) == ["£75.00", "£10.00", "£65.00"]
    assert "Card terminal" in cashup
    totals = re.search(r"<tfoot>(.*?)</tfoot>", cashup, re.S)
    assert totals is not None
    assert re.findall(r"£[\d.,]+", totals.group(1)) == ["£125.00", "£10.00", "£115.00"]
    # the other branch's payment is not in reception's day, nor can she open that branch
    assert "£30.00" not in page.content.decode()
    other = _get(client, in_a, TAKINGS, data={"branch": in_a.branches[1].pk, "day": MONDAY.isoformat()})
    assert other.status_code == 404
    # the day before is empty
    empty = _get(client, in_a, TAKINGS, data={"day": (MONDAY - timedelta(days=1)).isoformat()}).content.decode()
    assert "Nothing was taken or refunded on this day." in empty


def test_the_takings_api_answers_the_same_day(chain_a, api):
    from django_tenants.utils import schema_context

    with schema_context(chain_a.schema):
        clinic = priced(clinic_setup(chain_a))
        invoice = completed_visit(clinic)
        with time_machine.travel(clinic.at(MONDAY, 17), tick=False):
            billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="cash", amount_minor=2000)
    answer = api(chain_a, "billing").call("GET", f"/api/v1/invoicing/takings/?day={MONDAY.isoformat()}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["totals"] == [{"currency": "GBP", "taken_minor": 2000, "refunded_minor": 0, "net_minor": 2000}]
    assert api(chain_a, "doctor").call("GET", "/api/v1/invoicing/takings/").status_code == 403


# --- walk 12: one payment towards the whole balance


def test_reception_pays_a_patients_whole_balance_at_once_oldest_first(in_a, client, clinic):
    # given one patient with three open invoices, the oldest partly paid
    oldest = completed_visit(clinic, hour=9)
    patient = oldest.patient
    billing.payment_record(actor=clinic.receptionist, invoice=oldest, method="cash", amount_minor=2500)
    middle = completed_visit(clinic, patient=patient, day=MONDAY + timedelta(days=1))
    newest = completed_visit(clinic, patient=patient, day=MONDAY + timedelta(days=2))
    _as(client, in_a, "receptionist")
    page = _get(client, in_a, f"/billing/patients/{patient.pk}/").content.decode()
    # the balance is offered in one go: £50.00 + £75.00 + £75.00
    assert "Pay the whole balance" in page
    assert 'name="balance-gbp-amount" value="200.00"' in page
    # when she takes £100.00 by card
    done = _post(
        client,
        in_a,
        f"/billing/patients/{patient.pk}/pay/",
        {"balance-gbp-amount": "100.00", "balance-gbp-method": "card_terminal", "balance-gbp-currency": "GBP"},
    )
    # then the oldest is paid, the middle one gets the £50.00 left, the newest nothing
    assert done.status_code == 302
    assert [_state(i)[:2] for i in (oldest, middle, newest)] == [
        (InvoiceStatus.PAID, PRICE),
        (InvoiceStatus.PARTLY_PAID, 5000),
        (InvoiceStatus.ISSUED, 0),
    ]
    after = _get(client, in_a, f"/billing/patients/{patient.pk}/").content.decode()
    assert f"Payment recorded on {oldest.number}, {middle.number}." in after


def test_more_than_the_balance_is_refused_beside_the_amount_and_nothing_is_written(in_a, client, clinic):
    first = completed_visit(clinic, hour=9)
    second = completed_visit(clinic, patient=first.patient, hour=11)
    before = [_state(first), _state(second)]
    _as(client, in_a, "receptionist")
    page = _post(
        client,
        in_a,
        f"/billing/patients/{first.patient_id}/pay/",
        {"balance-gbp-amount": "150.01", "balance-gbp-method": "cash", "balance-gbp-currency": "GBP"},
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert "That is more than the patient owes: £150.00." in html
    assert 'id="id_balance-gbp-amount_error"' in html
    assert 'value="150.01"' in html
    assert [_state(first), _state(second)] == before


def test_the_balance_payment_api_allocates_oldest_first(chain_a, api):
    from django_tenants.utils import schema_context

    with schema_context(chain_a.schema):
        clinic = priced(clinic_setup(chain_a))
        first = completed_visit(clinic, hour=9)
        second = completed_visit(clinic, patient=first.patient, day=MONDAY + timedelta(days=1))
    clerk = api(chain_a, "receptionist")
    url = f"/api/v1/invoicing/patients/{first.patient_id}/payments/"
    answer = clerk.call("POST", url, {"method": "cash", "amount_minor": PRICE + 100, "currency": "GBP"})
    assert answer.status_code == 201
    assert [(row["invoice"], row["payment"]["amount_minor"]) for row in answer.json()] == [
        (first.pk, PRICE),
        (second.pk, 100),
    ]
    too_much = clerk.call("POST", url, {"method": "cash", "amount_minor": PRICE, "currency": "GBP"})
    assert_error(too_much, 409, "overpayment")
    with schema_context(chain_a.schema):
        assert Payment.objects.filter(invoice__patient_id=first.patient_id).count() == 2


# --- walk 13: the desk's panel


def test_the_panel_says_what_else_is_past_due_with_a_link_to_pay_it(in_a, client, clinic):
    # given a patient whose earlier invoice is past due, at a later completed visit
    earlier = completed_visit(clinic, hour=9)
    later = completed_visit(clinic, patient=earlier.patient, day=MONDAY + timedelta(days=20))
    with time_machine.travel(later.issued_at + timedelta(hours=1)):
        _as(client, in_a, "receptionist")
        # the panel of a booked visit asks for its money too
        panel = _get(client, in_a, f"/desk/appointments/{later.appointment_id}/panel/").content.decode()
        assert f'hx-get="/billing/visits/{later.appointment_id}/"' in panel
        offer = _get(client, in_a, f"/billing/visits/{later.appointment_id}/").content.decode()
    # then it offers this visit's payment and says the earlier £75.00 is past due, with a link to the balance
    assert f'href="/billing/invoices/{later.pk}/#take-payment"' in offer
    assert "Past due</span> £75.00 on 1 other invoice" in offer
    assert f'href="/billing/patients/{earlier.patient_id}/#pay-balance"' in offer


def test_a_booked_visits_panel_says_the_deposit_paid(in_a, client, clinic):
    # given a booked visit whose £20.00 deposit was paid online
    appointment = book(clinic, clinic.at(MONDAY, 15))
    with transaction.atomic():
        invoice = raise_for_appointment(appointment, actor=None, issue=True, prepaid_by=appointment.patient)
        payment_add(invoice, actor=None, method="stripe", amount_minor=2000, reference="pi_desk_deposit")
    _as(client, in_a, "receptionist")
    panel = _get(client, in_a, f"/desk/appointments/{appointment.pk}/panel/").content.decode()
    assert f'hx-get="/billing/visits/{appointment.pk}/"' in panel
    offer = _get(client, in_a, f"/billing/visits/{appointment.pk}/").content.decode()
    # then it says so, and offers no payment before the visit
    assert "Deposit £20.00 paid" in offer
    assert "Take payment" not in offer


# --- walk 22: branch managers read billing of their branches and change nothing


def test_a_branch_manager_reads_billing_of_her_branch_and_changes_nothing(in_a, client, clinic):
    invoice = completed_visit(clinic)
    elsewhere = _visit_elsewhere(in_a)
    before = (_state(invoice), _state(elsewhere))
    _as(client, in_a, "branch_manager")
    # she finds Billing in her bar, the desk with receivables, the takings, the invoice and the patient's billing
    assert f'href="{DESK}"' in _get(client, in_a, "/").content.decode()
    desk = _get(client, in_a, DESK).content.decode()
    assert invoice.number in desk
    assert elsewhere.number not in desk
    assert "Aged receivables" in desk
    assert _get(client, in_a, TAKINGS).status_code == 200
    page = _get(client, in_a, f"/billing/invoices/{invoice.pk}/").content.decode()
    for action in ("Take payment", "Record refund", "Void invoice"):
        assert action not in page
    patient_page = _get(client, in_a, f"/billing/patients/{invoice.patient_id}/").content.decode()
    assert "Pay the whole balance" not in patient_page
    # and every change is refused, nothing written
    pay = {"pay-amount": "10.00", "pay-method": "cash"}
    assert _post(client, in_a, f"/billing/invoices/{invoice.pk}/pay/", pay).status_code == 403
    assert _post(client, in_a, f"/billing/invoices/{invoice.pk}/void/", {"void-reason": "x"}).status_code == 403
    paid = _post(
        client,
        in_a,
        f"/billing/patients/{invoice.patient_id}/pay/",
        {"balance-gbp-amount": "10.00", "balance-gbp-method": "cash", "balance-gbp-currency": "GBP"},
    )
    assert paid.status_code in {302, 403}
    assert "Take payment" not in _get(client, in_a, f"/billing/visits/{invoice.appointment_id}/").content.decode()
    # another branch's invoice is not found
    assert _get(client, in_a, f"/billing/invoices/{elsewhere.pk}/").status_code == 404
    assert (_state(invoice), _state(elsewhere)) == before


def test_the_fee_policy_is_the_owners_to_change_and_billing_reads_it(in_a):
    billing_clerk, owner = in_a.users["billing"], in_a.users["owner"]
    assert owner.has_perm("invoicing.manage_fee_policy")
    assert not billing_clerk.has_perm("invoicing.manage_fee_policy")
    assert billing_clerk.has_perm("invoicing.view_fee_policy")
    assert not in_a.users["branch_manager"].has_perm("invoicing.record_payment")
    assert not in_a.users["branch_manager"].has_perm("invoicing.manage_invoice")


# --- walk 10: every page reachable; walk 21: billing high on the chart


def test_the_billing_desk_links_the_takings_fees_and_pending_package_sessions(in_a, client):
    _as(client, in_a, "billing")
    html = _get(client, in_a, DESK).content.decode()
    for href in ('href="/billing/takings/"', 'href="/billing/fees/"', 'href="/packages/pending/"'):
        assert href in html, href
    _as(client, in_a, "receptionist")
    html = _get(client, in_a, DESK).content.decode()
    assert 'href="/billing/takings/"' in html


def test_the_owners_settings_link_online_payments(in_a, client):
    _as(client, in_a, "owner")
    html = _get(client, in_a, "/settings/payments/").content.decode()
    assert 'href="/settings/payments/online/">Online payments</a>' in html
    _as(client, in_a, "billing")
    assert "/settings/payments/online/" not in _get(client, in_a, DESK).content.decode()


def test_the_billing_card_comes_right_after_the_details_on_the_chart(in_a, client, clinic):
    invoice = completed_visit(clinic)
    _as(client, in_a, "receptionist")
    chart = _get(client, in_a, f"/patients/{invoice.patient_id}/").content.decode()
    order = [m.group(1) for m in re.finditer(r'<h2 id="(\w+)">', chart)]
    assert order[:3] == ["demo", "inv", "appts"]


@pytest.mark.parametrize("typed", ["1E1", "1_0", "\uff11\uff10", "+10", "1e-0", "10.001", "-5"])
def test_the_balance_payment_refuses_amounts_the_api_refuses_and_writes_nothing(in_a, client, clinic, typed):
    # given a patient who owes one invoice
    invoice = completed_visit(clinic, hour=9)
    before = _state(invoice)
    _as(client, in_a, "receptionist")
    # when reception types an amount the API would refuse into "pay the whole balance"
    page = _post(
        client,
        in_a,
        f"/billing/patients/{invoice.patient_id}/pay/",
        {"balance-gbp-amount": typed, "balance-gbp-method": "cash", "balance-gbp-currency": "GBP"},
    )
    # then it is refused beside the amount and nothing is paid
    assert page.status_code == 400
    assert 'id="id_balance-gbp-amount_error"' in page.content.decode()
    assert _state(invoice) == before


def test_the_takings_log_the_patients_of_the_days_refunds_too(in_a, client, clinic, api):
    from tenants.audit.models import AccessLog

    # given a payment taken on Monday and part of it refunded on Tuesday
    invoice = completed_visit(clinic)
    with time_machine.travel(clinic.at(MONDAY, 17), tick=False):
        paid = billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="cash", amount_minor=PRICE)
    tuesday = MONDAY + timedelta(days=1)
    with time_machine.travel(clinic.at(tuesday, 12), tick=False):
        refund = billing.refund_record(actor=clinic.owner, payment=paid, amount_minor=1000, reason="Goodwill")
    patient = invoice.patient
    # when billing reads Tuesday's takings, which list only the refund, on the page and through the API
    _as(client, in_a, "billing")
    page = _get(client, in_a, TAKINGS, data={"day": tuesday.isoformat()})
    assert page.status_code == 200
    assert patient.last_name in page.content.decode()
    shown = AccessLog.objects.filter(patient_id=patient.pk, object_type="refund", object_id=str(refund.pk))
    assert shown.count() == 1
    answer = api(in_a, "billing").call("GET", f"/api/v1/invoicing/takings/?day={tuesday.isoformat()}")
    # then each reading names the refund's patient in the access log
    assert answer.status_code == 200
    assert shown.count() == 2

"""Session packages' pages, the sale and what follows it: the sale form names each package's
sessions and price and preselects the user's branch; the purchase links its invoice and reads
"Awaiting payment" while owed; billing cancels a package choosing what is given back; the desk
panel puts a visit on a package and back again, and says when the package is not paid; the portal
offers no purchase while the chain cannot take payments online. Refusals change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from invoicing import services as billing
from invoicing.models import CreditNote, PackageSale
from packages.models import PackagePurchase, PackageSession, PurchaseStatus, SessionStatus
from patients.portal import portal_user_for
from tests.factories import Chain
from tests.factories.invoicing import ledger_state, priced
from tests.factories.packages import PACKAGE_PRICE, product, sold
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a: Chain) -> Clinic:
    return priced(clinic_setup(in_a))


def test_the_sale_form_names_price_and_sessions_preselects_the_branch_and_links_the_invoice(
    clinic: Clinic, in_a: Chain, client: Any
):
    # given a product and the receptionist (who works at the clinic's branch) on a patient's packages
    offered = product(clinic, sessions=3)
    patient = clinic.patient()
    sign_in(client, in_a.users["receptionist"])
    path = f"/patients/{patient.pk}/packages/"
    page = client.get(path, HTTP_HOST=in_a.host).content.decode()
    # then each package reads its sessions, price and validity, and her branch is chosen
    assert f"{offered.name}: 3 sessions, £300.00, 90 days" in page
    assert f'<option value="{clinic.branch.pk}" selected>' in page
    # when she sells it
    done = client.post(path, {"product": offered.pk, "branch": clinic.branch.pk}, HTTP_HOST=in_a.host, follow=True)
    # then the row links its invoice and reads "Awaiting payment" until it is paid
    invoice = PackageSale.objects.get(purchase__patient=patient).invoice
    body = done.content.decode()
    assert f'href="/billing/invoices/{invoice.pk}/"' in body
    assert "Awaiting payment" in body
    billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="cash", amount_minor=PACKAGE_PRICE)
    paid = client.get(path, HTTP_HOST=in_a.host).content.decode()
    assert "Awaiting payment" not in paid
    assert ">Active</span>" in paid


def test_billing_cancels_a_package_from_the_patients_page_and_reception_may_not(
    clinic: Clinic, in_a: Chain, client: Any
):
    # given an unpaid package of three
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=3)
    invoice = PackageSale.objects.get(purchase=purchase).invoice
    before = ledger_state(invoice)
    url = f"/patients/{patient.pk}/packages/{purchase.pk}/cancel/"
    # when reception tries: refused, nothing changed
    sign_in(client, in_a.users["receptionist"])
    assert client.get(url, HTTP_HOST=in_a.host).status_code == 403
    assert client.post(url, {"reason": "x", "give_back": "pro_rata"}, HTTP_HOST=in_a.host).status_code == 403
    assert ledger_state(invoice) == before
    # when billing opens it: the choice says what each gives back; without a choice it is refused
    sign_in(client, in_a.users["billing"])
    listed = client.get(f"/patients/{patient.pk}/packages/", HTTP_HOST=in_a.host).content.decode()
    assert f'href="{url}"' in listed
    form = client.get(url, HTTP_HOST=in_a.host).content.decode()
    assert "3 of 3, £300.00 (£300.00 credited off what is owed)" in form
    assert "Nothing: no credit note, no refund" in form
    refused = client.post(url, {"reason": "moved away"}, HTTP_HOST=in_a.host)
    assert refused.status_code == 200
    assert PackagePurchase.objects.get(pk=purchase.pk).status == PurchaseStatus.ACTIVE
    # when billing cancels it pro rata
    done = client.post(url, {"reason": "moved away", "give_back": "pro_rata"}, HTTP_HOST=in_a.host, follow=True)
    # then the package is cancelled with the reason and the invoice credited in full
    assert "cancelled." in done.content.decode()
    purchase.refresh_from_db()
    assert (purchase.status, purchase.cancel_note) == (PurchaseStatus.CANCELLED, "moved away")
    assert CreditNote.objects.get(invoice=invoice).amount_minor == PACKAGE_PRICE


def test_the_desk_panel_puts_a_visit_on_the_package_and_back_and_says_it_is_unpaid(
    clinic: Clinic, in_a: Chain, client: Any
):
    # given a visit booked before its patient bought a package (unpaid)
    patient = clinic.patient()
    visit = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    purchase = sold(clinic, patient, sessions=2)
    invoice = PackageSale.objects.get(purchase=purchase).invoice
    sign_in(client, in_a.users["receptionist"])
    url = f"/packages/appointments/{visit.pk}/"
    line = client.get(url, HTTP_HOST=in_a.host, HTTP_HX_REQUEST="true").content.decode()
    # then the panel offers the package and says its invoice is owed
    assert "Use the package" in line
    assert "Package not paid" in line
    assert invoice.number in line
    # when the desk uses it: the visit holds a session
    used = client.post(url, {"action": "use"}, HTTP_HOST=in_a.host, HTTP_HX_REQUEST="true").content.decode()
    assert "Package: 1 of 2 left" in used
    assert PackageSession.objects.get(appointment=visit).status == SessionStatus.RESERVED
    # when the desk takes it off and uses it again: undone, then back on
    off = client.post(url, {"action": "release"}, HTTP_HOST=in_a.host, HTTP_HX_REQUEST="true").content.decode()
    assert "Use the package" in off
    back = client.post(url, {"action": "use"}, HTTP_HOST=in_a.host, HTTP_HX_REQUEST="true").content.decode()
    assert "Package: 1 of 2 left" in back
    # and a doctor cannot change it
    sign_in(client, in_a.users["doctor"])
    client.post(url, {"action": "release"}, HTTP_HOST=in_a.host, HTTP_HX_REQUEST="true")
    assert PackageSession.objects.get(appointment=visit).status == SessionStatus.RESERVED


def test_the_portal_offers_no_purchase_while_the_chain_cannot_take_payments_online(
    clinic: Clinic, in_a: Chain, client: Any
):
    # given a package on sale and a chain whose Stripe account is not connected
    offered = product(clinic, sessions=3)
    patient = clinic.patient()
    sign_in(client, portal_user_for(patient=patient))
    page = client.get("/portal/packages/", HTTP_HOST=in_a.host).content.decode()
    # then the page names the package in plain words and offers no purchase
    assert offered.name in page
    assert "Packages are sold at the front desk" in page
    assert "Pay and buy" not in page
    # and a posted purchase buys nothing and shows no error
    sent = client.post("/portal/packages/", {"product": offered.pk, "branch": clinic.branch.pk}, HTTP_HOST=in_a.host)
    assert sent.status_code == 200
    assert "Stripe" not in sent.content.decode()
    assert not PackagePurchase.objects.exists()


def test_a_weekly_series_booked_at_the_desk_says_how_many_visits_its_package_covers(
    clinic: Clinic, in_a: Chain, client: Any
):
    # given a patient with a two-session package and the receptionist at the desk
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=2)
    sign_in(client, in_a.users["receptionist"])
    form = {
        "patient": patient.pk,
        "service": clinic.service.pk,
        "doctor": clinic.doctors[0].pk,
        "day": str(MONDAY),
        "at": "10:00",
        "count": 4,
        "notes": "",
    }
    # when she books four weekly visits
    done = client.post(f"/desk/{clinic.branch.pk}/book/", form, HTTP_HOST=in_a.host, follow=True)
    # then two draw a session each, and the message says the other two are paid as usual
    body = done.content.decode()
    assert "4 weekly appointments booked. 2 on the patient&#x27;s package" in body
    assert "no session left for the other 2, paid as usual." in body
    purchase.refresh_from_db()
    assert (purchase.reserved, purchase.left) == (2, 0)

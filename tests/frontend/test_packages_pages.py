"""Session packages' pages: the owner adds and retires products in settings; reception sells a
package from the patient's packages page and reads the balance; the desk panel says "Package: 2 of
3 left" and takes a visit off its package; managers read what is still owed. Refusals change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from invoicing.checkout.models import OnlineCheckout
from invoicing.models import PackageSale
from packages.models import PackageProduct, PackagePurchase, PackageSession, SessionStatus
from patients.portal import portal_user_for
from tenants.audit.models import AccessLog
from tests.factories import Chain
from tests.factories.invoicing import priced
from tests.factories.packages import product, sold
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup
from tests.fakes.stripe_server import FakeStripe, pay_checkout_session
from tests.helpers import sign_in
from tests.invoicing.checkout_world import connect_stripe

pytestmark = pytest.mark.django_db

SETTINGS = "/settings/packages/"


@pytest.fixture
def clinic(in_a: Chain) -> Clinic:
    return priced(clinic_setup(in_a))


def test_the_owner_adds_a_package_and_stops_selling_it(clinic: Clinic, in_a: Chain, client: Any):
    # given the owner on the packages settings page
    sign_in(client, in_a.users["owner"])
    page = client.get(SETTINGS, HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert b"<h1>Packages</h1>" in page.content
    assert b'<label for="id_name">Name</label>' in page.content
    # when she submits a package without services: the error is said beside the field
    bad = {"name": "Physio 10", "sessions": "10", "validity_days": "180", "price": "450.00"}
    refused = client.post(SETTINGS, bad, HTTP_HOST=in_a.host)
    assert refused.status_code == 200
    assert b"Please correct what is marked below." in refused.content
    assert not PackageProduct.objects.exists()
    # when she adds it with the service
    added = client.post(SETTINGS, {**bad, "services": [clinic.service.pk]}, HTTP_HOST=in_a.host, follow=True)
    # then it is listed at its price in minor units, on sale
    made = PackageProduct.objects.get()
    assert (made.name, made.sessions, made.price_minor, made.validity_days) == ("Physio 10", 10, 45000, 180)
    assert b"Package Physio 10 added." in added.content
    assert b"On sale" in added.content
    # when she stops selling it
    client.post(f"/settings/packages/{made.pk}/retire/", HTTP_HOST=in_a.host)
    made.refresh_from_db()
    assert made.is_active is False


def test_reception_may_not_open_the_packages_settings(clinic: Clinic, in_a: Chain, client: Any):
    sign_in(client, in_a.users["receptionist"])
    offered = product(clinic)
    assert client.get(SETTINGS, HTTP_HOST=in_a.host).status_code == 403
    client.post(f"/settings/packages/{offered.pk}/retire/", HTTP_HOST=in_a.host)
    offered.refresh_from_db()
    assert offered.is_active is True


def test_reception_sells_a_package_from_the_patients_page_and_reads_the_balance(
    clinic: Clinic, in_a: Chain, client: Any
):
    # given a product and a patient, and the receptionist signed in
    offered = product(clinic, sessions=3)
    patient = clinic.patient()
    sign_in(client, in_a.users["receptionist"])
    path = f"/patients/{patient.pk}/packages/"
    chart = client.get(f"/patients/{patient.pk}/", HTTP_HOST=in_a.host)
    assert f'href="{path}"'.encode() in chart.content  # the chart leads to the patient's packages
    page = client.get(path, HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert b"No package bought." in page.content
    assert b"Sell package" in page.content
    # when she sells it
    sold_page = client.post(path, {"product": offered.pk, "branch": clinic.branch.pk}, HTTP_HOST=in_a.host, follow=True)
    # then the patient has it, its invoice is issued, and the page shows what is left
    purchase = PackagePurchase.objects.get(patient=patient)
    assert PackageSale.objects.filter(purchase=purchase).exists()
    assert b"sold; its invoice is issued." in sold_page.content
    assert b"3 of 3" in sold_page.content
    # and once a visit is booked on it, the page counts it and lists the visit
    book(clinic, clinic.at(MONDAY, 10), patient=patient)
    again = client.get(path, HTTP_HOST=in_a.host)
    assert b"2 of 3" in again.content
    assert b"Visits booked on a package" in again.content
    assert AccessLog.objects.filter(object_type="package_purchase", patient_id=patient.pk).exists()


def test_a_doctor_neither_reads_nor_sells_packages(clinic: Clinic, in_a: Chain, client: Any):
    offered = product(clinic)
    patient = clinic.patient()
    sign_in(client, in_a.users["doctor"])
    path = f"/patients/{patient.pk}/packages/"
    assert client.get(path, HTTP_HOST=in_a.host).status_code == 403
    client.post(path, {"product": offered.pk, "branch": clinic.branch.pk}, HTTP_HOST=in_a.host)
    assert not PackagePurchase.objects.exists()


def test_the_desk_panel_says_what_is_left_and_takes_a_visit_off_the_package(clinic: Clinic, in_a: Chain, client: Any):
    # given a patient with a package of three and a visit booked on it
    patient = clinic.patient()
    sold(clinic, patient, sessions=3)
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    sign_in(client, in_a.users["receptionist"])
    # when the desk opens the appointment's panel
    panel = client.get(f"/desk/appointments/{appointment.pk}/panel/", HTTP_HOST=in_a.host, HTTP_HX_REQUEST="true")
    assert f'hx-get="/packages/appointments/{appointment.pk}/"'.encode() in panel.content
    line = client.get(f"/packages/appointments/{appointment.pk}/", HTTP_HOST=in_a.host, HTTP_HX_REQUEST="true")
    # then it reads how many sessions are left
    assert b"Package: 2 of 3 left" in line.content
    assert b"Don&#x27;t use the package" in line.content or b"Don't use the package" in line.content
    # when the desk takes the visit off the package
    taken = client.post(f"/packages/appointments/{appointment.pk}/", HTTP_HOST=in_a.host, HTTP_HX_REQUEST="true")
    # then the session is back and the line is gone
    assert taken.status_code == 200
    assert b"Package:" not in taken.content
    assert PackageSession.objects.get(appointment=appointment).status == SessionStatus.RELEASED


def test_managers_read_the_sessions_still_owed(clinic: Clinic, in_a: Chain, client: Any):
    offered = product(clinic, sessions=4)
    sold(clinic, clinic.patient(), of=offered)
    sign_in(client, in_a.users["owner"])
    page = client.get("/packages/pending/", HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert offered.name.encode() in page.content
    sign_in(client, in_a.users["receptionist"])
    assert client.get("/packages/pending/", HTTP_HOST=in_a.host).status_code == 403


def test_a_patient_buys_a_package_from_the_portal(clinic: Clinic, in_a: Chain, client: Any, stripe_fake: FakeStripe):
    # given a chain taking payments, a package on sale and a patient signed in to the portal
    account = connect_stripe(clinic, stripe_fake)
    offered = product(clinic, sessions=3)
    patient = clinic.patient()
    sign_in(client, portal_user_for(patient=patient))
    page = client.get("/portal/packages/", HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert offered.name.encode() in page.content
    assert b'<label for="id_product">Package</label>' in page.content
    # when they buy it
    sent = client.post("/portal/packages/", {"product": offered.pk, "branch": clinic.branch.pk}, HTTP_HOST=in_a.host)
    # then they are sent to Stripe's page; paid and back, the page says so and the package is theirs
    assert sent.status_code == 302
    assert sent["Location"].startswith(stripe_fake.url)
    started = OnlineCheckout.objects.get(patient=patient)
    pay_checkout_session(stripe_fake, started.session_id, account=account)
    back = client.get(f"/portal/packages/paid/{started.return_token}/", HTTP_HOST=in_a.host)
    assert b"your package is ready to use" in back.content
    mine = client.get("/portal/packages/", HTTP_HOST=in_a.host)
    assert b"3 of 3 sessions left" in mine.content

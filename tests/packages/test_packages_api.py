"""The packages API: owners shape products, the desk sells and reads balances (access-logged),
managers read the pending report, a visit is taken off its package; refusals change nothing."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from invoicing.models import PackageSale
from packages.models import PackageProduct, PackagePurchase, PackageSession, SessionStatus
from tenants.audit.models import AccessLog
from tests.factories.invoicing import priced
from tests.factories.packages import PACKAGE_PRICE, product, sold
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

BASE = "/api/v1/packages"


@pytest.fixture
def clinic(chain_a):
    with schema_context(chain_a.schema):
        return priced(clinic_setup(chain_a))


def test_owner_creates_retires_and_reception_may_not(clinic, chain_a, api):
    body = {
        "name": "Physio 5",
        "services": [clinic.service.pk],
        "sessions": 5,
        "price_minor": 25000,
        "validity_days": 90,
    }
    # when reception tries: refused, nothing written
    assert_error(api(chain_a, "receptionist").call("POST", f"{BASE}/products/", body), 403)
    with schema_context(chain_a.schema):
        assert not PackageProduct.objects.exists()
    # when the owner creates it, then retires it
    owner = api(chain_a, "owner")
    created = owner.call("POST", f"{BASE}/products/", body)
    assert created.status_code == 201, created.content
    assert (created.json()["sessions"], created.json()["price_minor"]) == (5, 25000)
    pk = created.json()["id"]
    assert owner.call("POST", f"{BASE}/products/{pk}/retire/").json()["is_active"] is False
    # and bad input is refused
    assert_error(owner.call("POST", f"{BASE}/products/", {**body, "sessions": 0}), 400, "validation_error")


def test_reception_sells_reads_the_balance_and_takes_a_visit_off_the_package(clinic, chain_a, api):
    with schema_context(chain_a.schema):
        offered = product(clinic, sessions=4)
        patient = clinic.patient()
    desk = api(chain_a, "receptionist")
    # when the desk sells the package
    sale = desk.call(
        "POST", f"{BASE}/patients/{patient.pk}/purchases/", {"product": offered.pk, "branch": clinic.branch.pk}
    )
    assert sale.status_code == 201, sale.content
    purchase_id = sale.json()["id"]
    # then it is invoiced, and a booking reserves a session the balance shows
    with schema_context(chain_a.schema):
        assert PackageSale.objects.get(purchase_id=purchase_id).invoice.subtotal_minor == PACKAGE_PRICE
        appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    (row,) = desk.call("GET", f"{BASE}/patients/{patient.pk}/purchases/").json()
    assert (row["sessions_total"], row["reserved"], row["left"]) == (4, 1, 3)
    pending = desk.call("GET", f"{BASE}/patients/{patient.pk}/pending-sessions/").json()
    assert [p["appointment"] for p in pending] == [appointment.pk]
    with schema_context(chain_a.schema):
        assert AccessLog.objects.filter(object_type="package_purchase", patient_id=patient.pk, action="list").exists()
    # when a doctor tries to take the visit off the package: refused, nothing changed
    assert_error(api(chain_a, "doctor").call("POST", f"{BASE}/appointments/{appointment.pk}/release/"), 403)
    with schema_context(chain_a.schema):
        assert PackageSession.objects.get(appointment=appointment).status == SessionStatus.RESERVED
    # when the desk does
    released = desk.call("POST", f"{BASE}/appointments/{appointment.pk}/release/")
    assert released.json()["status"] == SessionStatus.RELEASED
    # then a second time is refused with its code
    assert_error(desk.call("POST", f"{BASE}/appointments/{appointment.pk}/release/"), 409, "no_package_session")


def test_a_retired_product_is_not_sold_and_doctors_see_nothing(clinic, chain_a, api):
    with schema_context(chain_a.schema):
        offered = product(clinic)
        patient = clinic.patient()
        sold(clinic, patient, of=offered)
    owner = api(chain_a, "owner")
    owner.call("POST", f"{BASE}/products/{offered.pk}/retire/")
    body = {"product": offered.pk, "branch": clinic.branch.pk}
    assert_error(owner.call("POST", f"{BASE}/patients/{patient.pk}/purchases/", body), 409, "package_product_retired")
    with schema_context(chain_a.schema):
        assert PackagePurchase.objects.filter(patient=patient).count() == 1
    doctor = api(chain_a, "doctor")
    assert_error(doctor.call("GET", f"{BASE}/patients/{patient.pk}/purchases/"), 403)
    assert_error(doctor.call("GET", f"{BASE}/pending/"), 403)
    (row,) = api(chain_a, "branch_manager").call("GET", f"{BASE}/pending/").json()
    assert (row["name"], row["sessions_left"]) == (offered.name, 3)

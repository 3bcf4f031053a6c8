"""Cancelling a package through the API (billing, owners) and putting a visit on a package (the
desk); refusals change nothing."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from invoicing.models import PackageSale, Refund
from packages.models import PackagePurchase, PackageSession, PurchaseStatus, SessionStatus
from tests.factories.invoicing import ledger_state, priced
from tests.factories.packages import PACKAGE_PRICE, product, sold
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

BASE = "/api/v1/packages"


@pytest.fixture
def clinic(chain_a):
    with schema_context(chain_a.schema):
        return priced(clinic_setup(chain_a))


def test_billing_cancels_a_package_through_the_api_and_reception_may_not(clinic, chain_a, api):
    with schema_context(chain_a.schema):
        purchase = sold(clinic, clinic.patient(), sessions=3)
        invoice = PackageSale.objects.get(purchase=purchase).invoice
        before = ledger_state(invoice)
    body = {"reason": "moved away", "give_back": "pro_rata"}
    url = f"{BASE}/purchases/{purchase.pk}/cancel/"
    # when reception tries: refused, nothing changed
    assert_error(api(chain_a, "receptionist").call("POST", url, body), 403)
    assert_error(api(chain_a, "billing").call("POST", url, {**body, "give_back": "half"}), 400, "validation_error")
    with schema_context(chain_a.schema):
        assert PackagePurchase.objects.get(pk=purchase.pk).status == PurchaseStatus.ACTIVE
        assert ledger_state(invoice) == before
    # when billing cancels it, giving back the unused sessions (nothing paid: all credited)
    done = api(chain_a, "billing").call("POST", url, body)
    assert done.status_code == 200, done.content
    answer = done.json()
    assert (answer["purchase"]["status"], answer["purchase"]["cancel_note"]) == ("cancelled", "moved away")
    assert (answer["credited_minor"], answer["refunded_minor"]) == (PACKAGE_PRICE, 0)
    # and a second cancel is refused
    assert_error(api(chain_a, "billing").call("POST", url, body), 409, "package_not_cancellable")
    with schema_context(chain_a.schema):
        assert not Refund.objects.exists()


def test_the_desk_puts_a_visit_booked_before_the_sale_on_the_package(clinic, chain_a, api):
    # given a visit booked, then a package of its service sold
    with schema_context(chain_a.schema):
        patient = clinic.patient()
        visit = book(clinic, clinic.at(MONDAY, 10), patient=patient)
        other = book(clinic, clinic.at(MONDAY, 12), patient=clinic.patient())
        purchase = sold(clinic, patient, of=product(clinic, sessions=1))
        assert not PackageSession.objects.filter(appointment=visit).exists()
    desk = api(chain_a, "receptionist")
    # when the desk puts it on the package
    used = desk.call("POST", f"{BASE}/appointments/{visit.pk}/use/")
    assert used.status_code == 200, used.content
    with schema_context(chain_a.schema):
        assert PackageSession.objects.get(appointment=visit).status == SessionStatus.RESERVED
        purchase.refresh_from_db()
        assert purchase.left == 0
    # and a patient without a package is refused, nothing written
    assert_error(desk.call("POST", f"{BASE}/appointments/{other.pk}/use/"), 409, "no_package_left")
    with schema_context(chain_a.schema):
        assert not PackageSession.objects.filter(appointment=other).exists()

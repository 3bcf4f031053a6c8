"""The services settings as an owner reads them: each tick's hint under its own tick, and the list's
price saying where a branch charges another."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from scheduling import services as sched
from tests.factories.scheduling import clinic_setup
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db


def _owner_page(client, chain, url="/settings/services/") -> str:
    with schema_context(chain.schema):
        sign_in(client, chain.users["owner"])
    page = client.get(url, HTTP_HOST=chain.host)
    assert page.status_code == 200
    return page.content.decode()


def test_each_ticks_hint_follows_its_own_tick_and_describes_it(in_a, client):
    # given / when
    html = _owner_page(client, in_a)

    # then: the length hint comes after "Staff may change a visit's length" (not after the tick before),
    # the "Untick" hint after "Offered", and each tick is described by its own hint
    form = html[html.index("<h2>Add a service</h2>") :]
    online = form.index("Patients may book it online")
    length = form.index("Staff may change a visit")
    offered = form.index("Offered</label>")
    drag_hint = form.index("drag a visit&#x27;s end")
    untick_hint = form.index("Untick: not offered")
    assert online < length < drag_hint < offered < untick_hint
    tick = re.search(r'<input type="checkbox" name="length_adjustable"[^>]*>', form)
    assert tick is not None
    assert 'aria-describedby="id_length_adjustable_helptext"' in tick.group(0)
    assert 'id="id_length_adjustable_helptext"' in form


def test_the_services_list_shows_the_price_of_a_branch_that_charges_another(in_a, client):
    # given: a service at 65.00, charged 80.00 at the first branch
    clinic = clinic_setup(in_a, doctors=1)
    sched.service_update(actor=clinic.owner, service=clinic.service, price_minor=6500)
    sched.service_price_set(actor=clinic.owner, service=clinic.service, branch=clinic.branch, price_minor=8000)

    # when
    html = _owner_page(client, in_a)

    # then: the list's price cell says both, the branch's named
    row = re.search(rf'<tr><td><a href="/settings/services/{clinic.service.pk}/">.*?</tr>', html, re.S)
    assert row is not None
    assert "65.00" in row.group(0)
    assert re.search(rf"80\.00 at {re.escape(str(clinic.branch))}", row.group(0))

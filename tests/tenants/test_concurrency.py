"""Races decided by the database, with real concurrent connections (one per thread)."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tenants.accounts.models import User
from tenants.org import services
from tenants.org.models import Invitation, StaffMember
from tests.conftest import WORLD
from tests.factories import PASSWORD
from tests.helpers import committed, race

pytestmark = pytest.mark.django_db
CLIENTS = 8


def test_one_invitation_link_used_by_eight_people_at_once_makes_one_account():
    chain = WORLD["a"]
    with committed(), schema_context(chain.schema):
        invitation, link = services.staff_invite(actor=chain.users["owner"], email="race@example.com", roles=["doctor"])
    token = link.rstrip("/").rsplit("/", 1)[-1]

    def accept(i: int) -> None:
        services.invitation_accept(token=token, first_name=f"Racer{i}", last_name="X", password=PASSWORD)

    try:
        outcomes = race(CLIENTS, accept, chain.schema)
        assert outcomes.count("ok") == 1, outcomes
        assert set(outcomes) - {"ok"} == {"invitation_not_pending"}, outcomes
        with committed(), schema_context(chain.schema):
            assert User.objects.filter(email="race@example.com").count() == 1
            assert StaffMember.objects.filter(user__email="race@example.com").count() == 1
    finally:
        with committed(), schema_context(chain.schema):
            Invitation.objects.filter(pk=invitation.pk).delete()
            StaffMember.objects.filter(user__email="race@example.com").delete()
            User.objects.filter(email="race@example.com").delete()

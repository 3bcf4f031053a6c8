"""Spent one-time codes are purged once they prove nothing, in the chain that holds them only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import schema_context

from patients import portal
from patients.exceptions import CodeInvalid
from patients.models import BookingCodeUse, PortalCode
from patients.services import patient_create
from tests.conftest import WORLD

pytestmark = pytest.mark.django_db
IP = "198.51.100.9"


def _code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def _spend_a_challenge(contact: str, capture) -> str:
    with capture(execute=True):
        sent = portal.booking_code_request(contact=contact, ip=IP)
    portal.booking_code_verify(challenge=sent.challenge, code=_code(), ip=IP)
    return sent.challenge


def test_used_challenges_and_expired_codes_go_once_they_prove_nothing(django_capture_on_commit_callbacks):
    cache.clear()
    a, b = WORLD["a"], WORLD["b"]
    start = timezone.now()
    spent = {}
    with time_machine.travel(start, tick=False):
        # given in chain A a used booking challenge and an expired sign-in code, and the same in chain B
        for chain in (a, b):
            with schema_context(chain.schema):
                patient_create(actor=chain.users["owner"], first_name="Cy", last_name="Code", email="cy@example.com")
                spent[chain.schema] = _spend_a_challenge("cy@example.com", django_capture_on_commit_callbacks)
                portal.portal_code_request(identifier="cy@example.com", ip=IP)
    with schema_context(a.schema):
        uses, codes = BookingCodeUse.objects.count(), PortalCode.objects.count()
        assert uses >= 1
        assert codes >= 1

    # when the purge runs in A while the challenge could still be presented: nothing goes
    with time_machine.travel(start + timedelta(minutes=5), tick=False), schema_context(a.schema):
        assert portal.spent_codes_purge() == {"booking_code_uses": 0, "portal_codes": 0}
        # and the used challenge is still refused
        with pytest.raises(CodeInvalid):
            portal.booking_code_verify(challenge=spent[a.schema], code="000000", ip="198.51.100.10")

    # when it runs in A two days later
    later = start + timedelta(days=2)
    with time_machine.travel(later, tick=False), schema_context(a.schema):
        assert portal.spent_codes_purge() == {"booking_code_uses": uses, "portal_codes": codes}
        assert not BookingCodeUse.objects.exists()
        assert not PortalCode.objects.exists()
        # then the old challenge is still worthless: its signature has expired
        with pytest.raises(CodeInvalid):
            portal.booking_code_verify(challenge=spent[a.schema], code=_code(), ip="198.51.100.11")
    # and chain B's rows are untouched
    with schema_context(b.schema):
        assert BookingCodeUse.objects.exists()
        assert PortalCode.objects.exists()

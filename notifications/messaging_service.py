"""One Twilio Messaging Service, one chain: the chain's messaging settings name its service, and the
platform's registry (tenants.MessagingService, public schema, unique SID) records which chain it is.
A second chain naming a service already named is refused by the database's unique key, so two
owners saving the same SID at once cannot both have it. The platform's shared service (the default
for chains without one of their own) belongs to no chain."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from notifications.exceptions import MessagingServiceTaken
from tenants.models import MessagingService
from tenants.selectors import current_clinic


def messaging_service_claim(*, sid: str) -> None:
    """Record ``sid`` as this chain's Messaging Service ("" gives it up), inside the caller's
    transaction: refused with ``messaging_service_taken`` when another chain has it, or it is the
    platform's shared one."""
    clinic_id = current_clinic().pk
    if sid and sid == settings.TWILIO_MESSAGING_SERVICE_SID:
        raise MessagingServiceTaken(fields={"twilio_messaging_service_sid": [SHARED]})
    MessagingService.objects.filter(clinic_id=clinic_id).exclude(sid=sid).delete()
    if not sid or MessagingService.objects.filter(clinic_id=clinic_id, sid=sid).exists():
        return
    try:
        with transaction.atomic():
            MessagingService.objects.create(clinic_id=clinic_id, sid=sid)
    except IntegrityError as taken:
        raise MessagingServiceTaken(fields={"twilio_messaging_service_sid": [TAKEN]}) from taken


SHARED = (
    "This is Clinicflow's shared Messaging Service, used by clinics without one of their own: "
    "give the SID of your own service."
)
TAKEN = "Another clinic on Clinicflow uses this Messaging Service: create one of your own and give its SID."

__all__ = ["messaging_service_claim"]

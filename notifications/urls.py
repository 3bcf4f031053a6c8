"""Twilio's webhooks on a chain's site (notifications/webhooks.py)."""

from django.urls import path

from notifications import webhooks

urlpatterns = [
    path("twilio/status/", webhooks.twilio_status, name="twilio-status"),
    path("twilio/inbound/", webhooks.twilio_inbound, name="twilio-inbound"),
]

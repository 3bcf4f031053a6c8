"""The chain's messaging settings (owners change them, branch managers read them; each change in the
history) and the API of messages: the log, a message, resending, the wording and the settings, each
refusal answered with its documented code."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from django_tenants.utils import schema_context

from config.errors import PermissionDenied
from notifications import services
from notifications.exceptions import MessagingSettingsInvalid
from notifications.models import Kind, Message, MessageStatus, MessagingSettings, Template
from notifications.selectors import messaging_settings_get, messaging_settings_read
from notifications.services import MessagingSettingsIn
from patients import services as patient_services
from tests.factories import Chain
from tests.helpers import assert_error
from tests.notifications.message_world import settled, written

pytestmark = pytest.mark.django_db


def _values(**changes: Any) -> MessagingSettingsIn:
    base: dict[str, Any] = {
        "reminder_offsets_minutes": [1440, 120],
        "quiet_hours_start": time(21),
        "quiet_hours_end": time(8),
        "confirm_online": True,
        "confirm_phone": True,
        "confirm_walk_in": False,
        "confirm_staff": True,
        "sms_enabled": True,
        "email_enabled": True,
        "twilio_messaging_service_sid": "",
    }
    return MessagingSettingsIn(**(base | changes))


def test_the_owner_sets_the_reminder_times_once_each_earliest_first(in_a: Chain):
    saved = services.messaging_settings_update(
        actor=in_a.users["owner"], values=_values(reminder_offsets_minutes=[120, 2880, 120])
    )
    assert saved.reminder_offsets_minutes == [2880, 120]
    assert messaging_settings_get().reminder_offsets_minutes == [2880, 120]
    history = list(MessagingSettings.history.all())
    assert history[0].history_user_id == in_a.users["owner"].pk
    assert history[0].history_change_reason == "messaging settings changed"


@pytest.mark.parametrize(
    "changes",
    [
        {"reminder_offsets_minutes": [5]},
        {"reminder_offsets_minutes": [15 * 1440]},
        {"reminder_offsets_minutes": [20, 30, 40, 50, 60, 70]},
        {"quiet_hours_end": None},
        {"quiet_hours_end": time(21)},
        {"twilio_messaging_service_sid": "MG123"},
    ],
)
def test_settings_that_do_not_fit_are_refused_and_nothing_changes(in_a: Chain, changes: dict[str, Any]):
    with pytest.raises(MessagingSettingsInvalid):
        services.messaging_settings_update(actor=in_a.users["owner"], values=_values(**changes))
    assert messaging_settings_get().reminder_offsets_minutes == [1440, 120]


@pytest.mark.parametrize("role", ["branch_manager", "receptionist", "doctor", "billing"])
def test_only_owners_change_the_settings(in_a: Chain, role: str):
    with pytest.raises(PermissionDenied):
        services.messaging_settings_update(actor=in_a.users[role], values=_values(sms_enabled=False))
    assert messaging_settings_get().sms_enabled is True


def test_branch_managers_read_the_settings_and_reception_does_not(in_a: Chain):
    assert messaging_settings_read(actor=in_a.users["branch_manager"]).pk == 1
    with pytest.raises(PermissionDenied):
        messaging_settings_read(actor=in_a.users["receptionist"])


# --- the API --------------------------------------------------------------------------------------
def test_the_api_reads_and_patches_the_settings_and_documents_a_refusal(chain_a: Chain, api: Any):
    owner = api(chain_a, "owner")
    got = owner.call("GET", "/api/v1/messages/settings/")
    assert got.status_code == 200
    assert got.json()["reminder_offsets_minutes"] == [1440, 120]
    patched = owner.call(
        "PATCH", "/api/v1/messages/settings/", {"reminder_offsets_minutes": [60], "sms_enabled": False}
    )
    assert patched.status_code == 200
    assert (patched.json()["reminder_offsets_minutes"], patched.json()["sms_enabled"]) == ([60], False)
    assert patched.json()["quiet_hours_start"] == "21:00:00"  # left out: kept
    assert_error(
        owner.call("PATCH", "/api/v1/messages/settings/", {"twilio_messaging_service_sid": "nope"}),
        400,
        "messaging_settings_invalid",
    )
    assert_error(api(chain_a, "branch_manager").call("PATCH", "/api/v1/messages/settings/", {}), 403)


def test_the_api_saves_previews_and_resets_a_wording(chain_a: Chain, api: Any):
    owner = api(chain_a, "owner")
    path = "/api/v1/messages/templates/reminder/sms/de/"
    saved = owner.call("PUT", path, {"body": "Bis {when}, {patient}!"})
    assert saved.status_code == 200
    assert saved.json()["is_own"] is True
    assert saved.json()["preview_body"] == "Bis Mo. 2. März, 10:30, Anna!"
    assert saved.json()["preview_segments"] == {"encoding": "GSM-7", "length": 29, "segments": 1}
    refused = assert_error(owner.call("PUT", path, {"body": "{{ patient }}"}), 400, "template_invalid")
    assert "{patient}" in refused["fields"]["body"][0]
    reset = owner.call("POST", path + "reset/")
    assert reset.status_code == 200
    assert reset.json()["is_own"] is False
    assert owner.call("GET", "/api/v1/messages/templates/reminder/fax/de/").status_code == 404
    listed = owner.call("GET", "/api/v1/messages/templates/?language=de").json()
    assert len(listed) == len(Kind) * 2
    assert_error(api(chain_a, "branch_manager").call("PUT", path, {"body": "Hi"}), 403)
    with schema_context(chain_a.schema):
        assert not Template.objects.exists()


def test_the_api_lists_a_failed_message_and_resends_it_once(chain_a: Chain, api: Any):
    with schema_context(chain_a.schema):
        patient = patient_services.patient_create(actor=chain_a.users["owner"], first_name="Api", last_name="Person")
        failed = settled(
            written(patient=patient, branch_id=chain_a.branches[0].pk), MessageStatus.FAILED, error="21211"
        )
    reception = api(chain_a, "receptionist")
    listed = reception.call("GET", "/api/v1/messages/?status=failed").json()
    assert failed.pk in [row["id"] for row in listed["results"]]
    detail = reception.call("GET", f"/api/v1/messages/{failed.pk}/").json()
    assert (detail["status"], detail["last_error"], detail["resends"]) == ("failed", "21211", [])
    resent = reception.call("POST", f"/api/v1/messages/{failed.pk}/resend/")
    assert resent.status_code == 201
    assert resent.json()["resend_of"] == failed.pk
    assert_error(reception.call("POST", f"/api/v1/messages/{failed.pk}/resend/"), 409, "message_resend_pending")
    with schema_context(chain_a.schema):
        assert Message.objects.filter(resend_of_id=failed.pk).count() == 1
    assert_error(api(chain_a, "doctor").call("GET", "/api/v1/messages/"), 403)


def test_the_apis_previews_name_this_chain_and_its_first_branch_as_the_pages_do(chain_a: Chain, api: Any):
    # given chain A's owner
    owner = api(chain_a, "owner")
    # when she reads every wording with its preview, and one wording alone
    listed = owner.call("GET", "/api/v1/messages/templates/?language=en")
    one = owner.call("GET", "/api/v1/messages/templates/confirmation/sms/en/")
    # then the previews are filled with this chain's name and its first branch, not another clinic's
    with schema_context(chain_a.schema):
        from tenants.org.models import Branch
        from tenants.org.selectors import chain_settings_get

        name = chain_settings_get().name
        first = Branch.objects.filter(is_active=True).order_by("name").first()
    assert listed.status_code == one.status_code == 200
    assert first is not None
    confirmation = next(r for r in listed.json() if (r["kind"], r["channel"]) == ("confirmation", "sms"))
    for preview in (confirmation["preview_body"], one.json()["preview_body"]):
        assert name in preview
        assert first.name in preview
        assert "Riverside" not in preview

"""Messaging settings pages: the wording of every message (own or built-in), one wording's editor
with a server-side preview (nothing saved until "Save"), refusals naming the allowed placeholders,
back to the default; the reminder and messaging settings (owners change, branch managers read)."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from notifications.models import MessagingSettings, Template
from tenants.org.selectors import chain_settings_get
from tests.factories import Chain
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db

EDIT = "/settings/messages/templates/reminder/sms/en/"


def test_the_owner_previews_saves_and_resets_the_reminder_wording(in_a: Chain, client: Any):
    sign_in(client, in_a.users["owner"])
    page = client.get("/settings/messages/templates/", HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert f'href="{EDIT}"' in page.content.decode()
    # the editor shows the built-in wording, previewed with sample values, in one SMS
    html = client.get(EDIT, HTTP_HOST=in_a.host).content.decode()
    assert "The built-in wording" in html
    branch = sorted(b.name for b in in_a.branches)[0]
    assert f"{chain_settings_get().name} reminder: Physiotherapy with" in html
    assert f"at {branch}, Mon 2 Mar, 10:30" in html
    assert "one SMS." in html
    # when she previews her own wording, then it is filled in and nothing is saved
    body = "Hi {patient}, see you {when} at {branch}. Reply C to confirm."
    html = client.post(EDIT, {"action": "preview", "body": body}, HTTP_HOST=in_a.host).content.decode()
    assert "Preview of what you typed" in html
    assert f"Hi Anna, see you Mon 2 Mar, 10:30 at {branch}. Reply C to confirm." in html
    assert not Template.objects.exists()
    # when she saves it, then it is the chain's own
    answer = client.post(EDIT, {"action": "save", "body": body}, HTTP_HOST=in_a.host)
    assert answer.status_code == 302
    assert Template.objects.get(kind="reminder", channel="sms", language="en").body == body
    html = client.get(EDIT, HTTP_HOST=in_a.host).content.decode()
    assert "Your own wording, last changed by Olivia Owner" in html
    # when she goes back to the built-in wording (and confirms), then hers is gone and the change is listed
    client.post(EDIT, {"action": "reset", "confirm": "1"}, HTTP_HOST=in_a.host)
    assert not Template.objects.exists()
    html = client.get(EDIT, HTTP_HOST=in_a.host).content.decode()
    assert "back to the built-in wording by Olivia Owner" in html


def test_template_code_is_refused_beside_the_message_naming_the_placeholders(in_a: Chain, client: Any):
    sign_in(client, in_a.users["owner"])
    answer = client.post(
        EDIT, {"action": "save", "body": "Hi {{ patient.__class__ }} {% debug %}"}, HTTP_HOST=in_a.host
    )
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "Template code is not allowed. Use only these placeholders: {patient}" in html
    assert not Template.objects.exists()
    # and the preview shows the text as harmless text, nothing evaluated
    assert '<p class="pre-wrap" id="preview-body">Hi {{ patient.__class__ }} {% debug %}</p>' in html


def test_an_email_wording_needs_a_subject(in_a: Chain, client: Any):
    sign_in(client, in_a.users["owner"])
    answer = client.post(
        "/settings/messages/templates/confirmation/email/de/",
        {"action": "save", "subject": "", "body": "Hallo {patient}"},
        HTTP_HOST=in_a.host,
    )
    assert answer.status_code == 200
    assert not Template.objects.exists()


def test_a_branch_manager_reads_the_wording_and_may_not_change_it(in_a: Chain, client: Any):
    sign_in(client, in_a.users["branch_manager"])
    html = client.get(EDIT, HTTP_HOST=in_a.host).content.decode()
    assert "only owners change it" in html
    assert "<textarea" not in html
    assert client.post(EDIT, {"action": "save", "body": "Hi"}, HTTP_HOST=in_a.host).status_code == 403
    assert not Template.objects.exists()


def test_an_unknown_wording_is_not_found(in_a: Chain, client: Any):
    sign_in(client, in_a.users["owner"])
    assert client.get("/settings/messages/templates/reminder/fax/en/", HTTP_HOST=in_a.host).status_code == 404


def test_the_owner_sets_reminders_quiet_hours_and_channels(in_a: Chain, client: Any):
    sign_in(client, in_a.users["owner"])
    page = client.get("/settings/messages/", HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert 'value="1d, 2h"' in page.content.decode()  # the defaults: a day and two hours before
    answer = client.post(
        "/settings/messages/",
        {
            "reminder_offsets": "48h, 2h, 30m",
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:30",
            "confirm_online": "on",
            "confirm_phone": "on",
            "sms_enabled": "on",
            "twilio_messaging_service_sid": "MG" + "a1" * 16,
        },
        HTTP_HOST=in_a.host,
    )
    assert answer.status_code == 302
    saved = MessagingSettings.objects.get(pk=1)
    assert saved.reminder_offsets_minutes == [2880, 120, 30]
    assert (saved.quiet_hours_start, saved.quiet_hours_end) == (time(22), time(7, 30))
    assert (saved.confirm_online, saved.confirm_walk_in, saved.email_enabled) == (True, False, False)
    assert saved.history.first().history_user_id == in_a.users["owner"].pk
    assert 'value="2d, 2h, 30m"' in client.get("/settings/messages/", HTTP_HOST=in_a.host).content.decode()


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("reminder_offsets", "tomorrow", "is not a time before"),
        ("reminder_offsets", "3m", "between 10 minutes and 14 days"),
        ("quiet_hours_end", "", "both a start and an end"),
        ("twilio_messaging_service_sid", "AC123", "MG followed by 32"),
    ],
)
def test_a_wrong_setting_is_said_beside_its_field_and_nothing_changes(
    in_a: Chain, client: Any, field: str, value: str, says: str
):
    sign_in(client, in_a.users["owner"])
    data = {"reminder_offsets": "24h", "quiet_hours_start": "21:00", "quiet_hours_end": "08:00", field: value}
    answer = client.post("/settings/messages/", data, HTTP_HOST=in_a.host)
    assert answer.status_code == 200
    assert says in answer.content.decode()
    assert not MessagingSettings.objects.filter(pk=1, reminder_offsets_minutes=[1440]).exists()


def test_a_branch_manager_reads_the_settings_and_reception_has_none(in_a: Chain, client: Any):
    sign_in(client, in_a.users["branch_manager"])
    html = client.get("/settings/messages/", HTTP_HOST=in_a.host).content.decode()
    assert "1d, 2h before each appointment" in html
    assert "Only the chain's owners change these." in html
    assert client.post("/settings/messages/", {"reminder_offsets": "1h"}, HTTP_HOST=in_a.host).status_code == 403
    sign_in(client, in_a.users["receptionist"])
    assert client.get("/settings/messages/", HTTP_HOST=in_a.host).status_code == 403


def test_the_help_says_unknown_placeholders_are_refused_and_preview_flags_them_as_save_does(in_a: Chain, client: Any):
    sign_in(client, in_a.users["owner"])
    # given the editor of the SMS confirmation: its help says what is refused, not "written as typed"
    url = "/settings/messages/templates/confirmation/sms/en/"
    html = client.get(url, HTTP_HOST=in_a.host).content.decode()
    assert "is refused" in html
    assert "as it is typed" not in html
    assert "sent as written" not in html
    # when the owner previews a typo'd placeholder
    typo = {"body": "Booked: {paitent}, {when}"}
    preview_html = client.post(url, {"action": "preview", **typo}, HTTP_HOST=in_a.host).content.decode()
    # then the preview says beside the field what Save says, before anything is saved
    said = "{paitent} is not a placeholder. Use only these placeholders:"
    assert said in preview_html
    assert "Save would refuse it" in preview_html
    assert not Template.objects.exists()
    save_html = client.post(url, {"action": "save", **typo}, HTTP_HOST=in_a.host).content.decode()
    assert said in save_html
    # and template code is flagged by the preview in the same words as by Save
    code = {"body": "Hi {{ patient }}"}
    flagged = client.post(url, {"action": "preview", **code}, HTTP_HOST=in_a.host).content.decode()
    assert "Template code is not allowed." in flagged
    assert not Template.objects.exists()


def test_the_preview_fills_in_this_chains_name_branch_doctor_and_own_host(in_a: Chain, client: Any):
    sign_in(client, in_a.users["owner"])
    # when the owner opens the e-mail confirmation's editor
    html = client.get("/settings/messages/templates/confirmation/email/en/", HTTP_HOST=in_a.host).content.decode()
    # then the preview names her chain, its first branch and one of its doctors, with a link on its own host
    branch = sorted(b.name for b in in_a.branches)[0]
    assert chain_settings_get().name in html
    assert f" at {branch} is booked" in html
    assert f"http://{in_a.host}" in html or f"https://{in_a.host}" in html
    assert "Riverside" not in html
    assert "riverside.clinicflow.app" not in html
    # and the preview card lets a long link wrap (the card's class carries the wrapping rule)
    assert 'class="card preview-card"' in html


def test_back_to_the_built_in_wording_asks_first_and_keeps_the_wording_until_confirmed(in_a: Chain, client: Any):
    sign_in(client, in_a.users["owner"])
    client.post(EDIT, {"action": "save", "body": "See you {when}."}, HTTP_HOST=in_a.host)
    # the button is a disclosure that asks first (no script needed)
    html = client.get(EDIT, HTTP_HOST=in_a.host).content.decode()
    assert '<details class="confirm reset-confirm">' in html
    assert "Discard your own wording and go back to the built-in one?" in html
    # when a reset arrives without the confirmation (e.g. an old form), then nothing is discarded and the page asks
    answer = client.post(EDIT, {"action": "reset"}, HTTP_HOST=in_a.host)
    assert answer.status_code == 200
    assert '<details class="confirm reset-confirm" open>' in answer.content.decode()
    assert Template.objects.get(kind="reminder", channel="sms", language="en").body == "See you {when}."
    # when she confirms, then the built-in wording is back
    assert client.post(EDIT, {"action": "reset", "confirm": "1"}, HTTP_HOST=in_a.host).status_code == 302
    assert not Template.objects.exists()


def test_saving_new_quiet_hours_says_how_many_waiting_reminders_were_replanned(in_a: Chain, client: Any):
    from tests.factories.scheduling import MONDAY, book, clinic_setup
    from tests.notifications.sent_world import messaging, reachable, reminders

    # given a visit at 09:00 with its two-hour reminder at 07:00 (no quiet hours yet)
    messaging(offsets=[24 * 60, 120], quiet=None)
    clinic = clinic_setup(in_a, doctors=1, shift=(time(7), time(19)), opens=time(7), closes=time(19))
    visit = book(clinic, clinic.at(MONDAY, 9), patient=reachable(clinic))
    sign_in(client, in_a.users["owner"])
    # when the owner sets quiet hours 21:00-08:00 on the settings page
    data = {"reminder_offsets": "1d, 2h", "quiet_hours_start": "21:00", "quiet_hours_end": "08:00", "sms_enabled": "on"}
    page = client.post("/settings/messages/", data, HTTP_HOST=in_a.host, follow=True).content.decode()
    # then the reminder waits at 08:00 and the page says one waiting reminder was given a new time
    assert reminders(visit.pk)[-1].due_at == clinic.at(MONDAY, 8)
    assert "1 waiting reminder given a new time, 0 added, 0 no longer needed." in page
    # and the page states the quiet-hours rule
    assert "When a reminder goes" in page
    assert "goes when they end, if that is still at least an hour before the visit" in page

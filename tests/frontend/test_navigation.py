"""The main bar fits 1024 px on one row: the settings pages sit under one "Settings" entry, and each
settings page lists the others in its own sub-navigation; the account is a short "Account" link."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from tests.helpers import sign_in

pytestmark = pytest.mark.django_db

SETTINGS = [
    "Chain settings",
    "Services",
    "Branches",
    "Staff",
    "Leave",
    "Booking rules",
    "Payments",
    "Online payments",
    "Packages",
    "Fees",
    "Messaging",
    "Emergency access",
]


def _page(client, chain, role: str, path: str) -> str:  # type: ignore[no-untyped-def]
    with schema_context(chain.schema):
        sign_in(client, chain.users[role])
    answer = client.get(path, HTTP_HOST=chain.host)
    assert answer.status_code == 200
    return answer.content.decode()


def _links(html: str, nav: str) -> list[str]:
    block = re.search(rf'<nav class="{nav}"[^>]*>.*?</nav>', html, re.S)
    assert block is not None, nav
    return [re.sub(r"<[^>]+>", "", label) for label in re.findall(r"<a [^>]*>(.*?)</a>", block.group(0), re.S)]


def test_the_owners_main_bar_has_one_settings_entry_and_a_short_account_link(in_a, client) -> None:
    # when the owner opens her home page
    html = _page(client, in_a, "owner", "/")

    # then the main bar names a few places, the settings pages under one entry, and no e-mail shown
    bar = re.search(r'<div class="nav-links">(.*?)</div>', html, re.S)
    assert bar is not None
    places = re.findall(r">([^<]+)</a>", bar.group(1))
    assert "Settings" in places
    assert not set(places) & {"Leave", "Emergency access", "Staff", "Branches", "Chain settings"}
    assert len(places) <= 8
    assert "Messages" in places  # the message log: what was sent, what failed
    assert "Reports" in places  # the dashboards and the work lists
    assert re.search(r'class="who"[^>]*>Account<span class="visually-hidden">: ', html)
    # and her home's set-up shortcuts still lead to every settings page
    shortcuts = re.search(r'<ul class="inline-list shortcuts">(.*?)</ul>', html, re.S)
    assert shortcuts is not None
    assert all(f">{label}</a>" in shortcuts.group(1) for label in SETTINGS)


def test_a_settings_page_lists_the_other_settings_pages_and_marks_itself(in_a, client) -> None:
    # when the owner opens the leave page
    html = _page(client, in_a, "owner", "/settings/leave/")

    # then the settings sub-navigation lists every settings page, Leave current, and Settings is current above
    assert _links(html, "settings-nav") == SETTINGS
    assert re.search(r'<a href="/settings/leave/" aria-current="page">Leave</a>', html)
    assert re.search(r'<a href="/settings/"[^>]*aria-current="page">Settings</a>', html)


def test_a_receptionist_has_no_settings_entry(in_a, client) -> None:
    html = _page(client, in_a, "receptionist", "/")
    bar = re.search(r'<div class="nav-links">(.*?)</div>', html, re.S)
    assert bar is not None
    # (Reports: reception's list of patients to call back)
    places = re.findall(r">([^<]+)</a>", bar.group(1))
    assert places == ["Home", "Front desk", "Patients", "Billing", "Messages", "Reports"]
    assert 'class="settings-nav"' not in html


def test_the_message_log_is_in_the_bar_of_those_who_answer_patients_and_not_of_doctors(in_a, client) -> None:
    # when a doctor opens her home page, then there is no message log in her bar
    html = _page(client, in_a, "doctor", "/")
    bar = re.search(r'<div class="nav-links">(.*?)</div>', html, re.S)
    assert bar is not None
    assert "Messages" not in re.findall(r">([^<]+)</a>", bar.group(1))
    # and on the message log the branch manager finds it current, and Messaging among the settings pages
    html = _page(client, in_a, "branch_manager", "/messages/")
    assert re.search(r'<a href="/messages/" aria-current="page">Messages</a>', html)
    html = _page(client, in_a, "branch_manager", "/settings/messages/")
    assert "Messaging" in _links(html, "settings-nav")

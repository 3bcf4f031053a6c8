"""Browser journeys: Playwright drives Debian's Chromium against a live server of the app.

The live server has its own database connection, so data for these journeys is committed in a chain
of their own ("charlie"), provisioned once; the test database is dropped at the end of the run."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from pytest_django.live_server_helper import LiveServer

from tests import clock
from tests.factories import Chain, chain_create

# A page's answer is awaited up to 15 s (Playwright's default is 5 s): on two shared cores a request
# during the whole suite can take longer than that without anything being wrong.
expect.set_options(timeout=15_000)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is missing: run `make setup`"
    return {**browser_type_launch_args, "executable_path": chromium, "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_chain(django_db_setup: None, django_db_blocker: Any) -> Chain:
    with django_db_blocker.unblock():
        return chain_create("charlie", branches=1)


@pytest.fixture(scope="session")
def live_server_port(browser_chain: Chain) -> Iterator[str]:
    server = LiveServer("localhost:0")
    yield str(server.thread.port)
    server.stop()


@pytest.fixture
def live(live_server_port: str, browser_chain: Chain, settings: Any) -> str:
    settings.SITE_PORT = live_server_port  # links in e-mails point at the live server
    return f"http://{browser_chain.host}:{live_server_port}"


@pytest.fixture
def context(context: Any) -> Any:
    """The browser's clock is its own: on a moved run (tests/clock.py) it starts at the run's time."""
    if clock.shift_days():
        context.clock.install(time=datetime.now(UTC))
    return context


@pytest.fixture
def shot(page: Any) -> Any:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, target: Any = None) -> None:
        (target or page).screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def axe(page: Any) -> Any:
    """Run axe-core on the page as it is now: no serious or critical accessibility violation."""
    from axe_playwright_python.sync_playwright import Axe

    checker = Axe()

    def check(name: str) -> None:
        results = checker.run(page)
        bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
        assert not bad, f"{name}: " + "; ".join(
            f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes']]}" for v in bad
        )

    return check


def sign_in(page: Any, live: str, email: str, code: str | None = None) -> None:
    """Sign in on the login page as a person would: the password, then (owners, and whoever the
    chain asks) one of their recovery codes as the second factor."""
    from tests.factories import PASSWORD

    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if code:
        page.get_by_role("link", name="Lost your phone? Use a recovery code").click()
        page.get_by_label("Recovery code").fill(code)
        page.get_by_role("button", name="Verify").click()


def recovery_code(chain: Chain, role: str) -> str:
    """A fresh recovery code of the chain's user, committed so that the live server sees it; the
    user gets a real authenticator first if they have none."""
    from django_tenants.utils import schema_context

    from tests.helpers import committed, second_factor_code

    with committed(), schema_context(chain.schema):
        code = second_factor_code(chain.users[role])
    assert code, f"{role} owes no second factor"
    return code


def emailed_code(email: str) -> str:
    """The six-digit code in the newest sign-in or booking code e-mailed to this address (a
    booking's confirmation may have reached the same inbox after it)."""
    import re

    from django.core import mail

    for message in reversed(mail.outbox):
        found = re.search(r"code: (\d{6})$", message.subject)
        if message.to == [email] and found:
            return found.group(1)
    raise AssertionError(f"no code was e-mailed to {email}")


def standing_box(page: Any, element: Any, *, centre: bool = True) -> dict[str, float]:
    """The element's box once it stands still, brought to the middle of the view unless `centre` is
    False: the desk's book may draw itself anew (a live refresh) between two steps, leaving a locator
    briefly without a box."""
    from playwright.sync_api import expect

    for _ in range(50):
        expect(element).to_be_visible()
        if centre:  # away from the edges, where dragging scrolls
            element.evaluate("e => e.scrollIntoView({block: 'center'})")
        box = element.bounding_box()
        page.wait_for_timeout(150)
        if box is not None and element.bounding_box() == box:
            return box  # type: ignore[no-any-return]
    raise AssertionError("the element never stood still")

"""The check that keeps pages thin (config/lint_pages.py, run by `make lint`): it refuses ORM writes,
transactions, message sending and private names of other modules in frontend/, and passes the
pages as they are."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from config import lint_pages

VIOLATION = textwrap.dedent(
    """
    from django.core.mail import send_mail
    from django.db import transaction
    from notifications.sms import send_sms
    from patients import portal
    from patients.portal import _portal_user
    from scheduling.models import Appointment


    def page(request, pk):
        with transaction.atomic():
            appointment = Appointment.objects.get(pk=pk)
            appointment.notes = "x"
            appointment.save()
            Appointment.objects.filter(pk=pk).update(notes="y")
            Appointment.objects.get_or_create(pk=pk)
            portal._limit("key", 3)
            transaction.on_commit(lambda: send_sms(to="+447700900000", body="hi"))
            send_mail("s", "b", None, ["a@example.com"])
    """
)


def test_a_thin_page_passes() -> None:
    # given a page that parses, calls one service and renders
    source = textwrap.dedent(
        """
        from frontend.forms import submit
        from scheduling import services

        def page(request, form):
            context = {"form": form}
            context |= {"done": submit(form, lambda: services.appointment_book(actor=request.user))}
            return context
        """
    )
    # when it is checked, then nothing is found
    assert lint_pages.check_source(source, "frontend/ok.py") == []


def test_each_kind_of_violation_is_found() -> None:
    # given a page that writes, opens a transaction, sends messages and reaches private names
    # when it is checked
    found = "\n".join(lint_pages.check_source(VIOLATION, "frontend/bad.py"))
    # then each is named with its line
    for expected in (
        "frontend/bad.py:2: imports django.core.mail",
        "frontend/bad.py:3: imports django.db.transaction",
        "frontend/bad.py:4: imports notifications.sms",
        "frontend/bad.py:6: imports the private name _portal_user from patients.portal",
        "frontend/bad.py:11: transaction.atomic",
        "frontend/bad.py:14: .save() writes",
        "frontend/bad.py:15: .update() writes",
        "frontend/bad.py:16: .get_or_create() writes",
        "frontend/bad.py:17: portal._limit: a private name of another module",
        "frontend/bad.py:18: transaction.on_commit",
        "frontend/bad.py:18: send_sms() sends a message",
        "frontend/bad.py:19: send_mail() sends a message",
    ):
        assert expected in found


def test_the_command_fails_on_a_violation_and_passes_the_frontend(tmp_path: Path) -> None:
    # given a folder of pages with a violation
    (tmp_path / "bad_views.py").write_text(VIOLATION, encoding="utf-8")

    # when the check runs on it, and on frontend/ as `make lint` runs it
    def run(*paths: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "config.lint_pages", *paths]
        return subprocess.run(command, cwd=lint_pages.ROOT, capture_output=True, text=True, check=False)  # noqa: S603

    failing, passing = run(str(tmp_path)), run()
    # then it fails naming the violation, and passes the real pages
    assert failing.returncode == 1
    assert "bad_views.py:14: .save() writes: call a service instead" in failing.stdout
    assert passing.returncode == 0, passing.stdout

"""Services refuse bad fields through one helper (config.validation.require_valid), and check
e-mail addresses through one check (config.validation.email_error)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from config.errors import ValidationFailed
from config.validation import email_error, require_valid

ROOT = Path(__file__).resolve().parents[2]


def test_the_fields_that_failed_are_raised_in_the_error_given() -> None:
    # given two checks, one failed
    checks = {"name": None, "email": "Enter a valid e-mail address."}

    # when they are required valid
    with pytest.raises(ValidationFailed) as caught:
        require_valid(ValidationFailed, checks)

    # then only the failed field is named, in the {"field": [error]} shape
    assert caught.value.fields == {"email": ["Enter a valid e-mail address."]}


def test_nothing_is_raised_when_every_check_passed() -> None:
    # given checks that all passed, when they are required valid, then nothing is raised
    require_valid(ValidationFailed, {"name": None, "email": None})


@pytest.mark.parametrize("value", ["", "a@", "@", "a@b@c", "no-at-sign"])
def test_what_is_not_an_email_address_is_refused(value: str) -> None:
    assert email_error(value) == "Enter a valid e-mail address."


def test_an_email_address_passes() -> None:
    assert email_error("desk@clinic.example") is None


def test_no_service_collects_errors_and_raises_them_by_hand() -> None:
    # given every service module, when read, then none raises what collect() gathered itself
    offenders = []
    for path in sorted(ROOT.glob("*/**/services*.py")) + sorted(ROOT.glob("*/services/*.py")):
        if ".venv" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                func = node.value.func
                if isinstance(func, ast.Name) and func.id == "collect":
                    target = node.targets[0]
                    if isinstance(target, ast.Name) and target.id == "errors":
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    # invitation_accept adds the password validator's messages to what it collected
    assert offenders == ["tenants/org/services.py:" + str(_accept_line())]


def _accept_line() -> int:
    source = (ROOT / "tenants/org/services.py").read_text().splitlines()
    start = next(i for i, line in enumerate(source) if line.startswith("def invitation_accept"))
    return next(i for i in range(start, len(source)) if source[i].strip().startswith("errors = collect(")) + 1

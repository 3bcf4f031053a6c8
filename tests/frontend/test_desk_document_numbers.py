"""The billing desk's table keeps an invoice number on one line at 1024 px (issue 12's walk saw
"INV-/000001" broken at its hyphen): the number's cell is a document number, which the stylesheet
never wraps, as the fees list does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories.invoicing import completed_visit, priced
from tests.factories.scheduling import clinic_setup
from tests.frontend.test_billing_pages import _as, _get

pytestmark = pytest.mark.django_db

APP_CSS = Path(__file__).resolve().parents[2] / "frontend" / "static" / "frontend" / "app.css"


def test_the_desks_invoice_numbers_are_never_wrapped(in_a, client):
    # given an issued invoice
    invoice = completed_visit(priced(clinic_setup(in_a)))
    # when billing opens the desk
    _as(client, in_a, "billing")
    html = _get(client, in_a, "/billing/").content.decode()
    # then the number sits in a document-number cell, and the stylesheet keeps such cells on one line
    assert f'<td class="doc-number"><a href="/billing/invoices/{invoice.pk}/">{invoice.number}</a></td>' in html
    assert re.search(r"td\.doc-number\s*\{[^}]*white-space:\s*nowrap", APP_CSS.read_text())

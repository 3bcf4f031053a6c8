"""Pages are marked in the chain's English: a British chain's pages are `en-GB` (fields that follow
the page's language read British dates, screen readers a British voice); a chain in another
language still reads English pages, marked plain `en`."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tenants.org.models import ChainSettings
from tests.factories import Chain
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db


def _lang(html: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', html)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(("locale", "marked"), [("en-GB", "en-GB"), ("en_au", "en-AU"), ("de-DE", "en"), ("en", "en")])
def test_a_page_is_marked_in_the_chains_english(in_a: Chain, client: Any, locale: str, marked: str):
    # given a chain whose locale is `locale`
    ChainSettings.objects.filter(pk=1).update(locale=locale)
    sign_in(client, in_a.users["receptionist"])
    # when reception opens the desk
    response = client.get("/desk/", HTTP_HOST=in_a.host, follow=True)
    # then the page is marked in the chain's English
    assert response.status_code == 200
    assert _lang(response.content.decode()) == marked

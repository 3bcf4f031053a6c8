"""Currencies come from CLDR (Babel), in the kernel (config.money, config.validation)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.utils import timezone

from config.money import currencies, currency_choices, money_format
from frontend.forms import ChainSettingsForm
from tenants.org.exceptions import InvalidOrgData
from tenants.org.models import ChainSettings
from tenants.org.services import chain_settings_update


@time_machine.travel(datetime(2026, 1, 15, 12, tzinfo=UTC), tick=False)  # after ANG gave way to XCG
def test_a_retired_currency_is_refused_and_its_successor_accepted(in_a):
    # given an owner of a chain that bills in GBP
    owner = in_a.users["owner"]
    # when she picks the Netherlands Antilles guilder, replaced by the Caribbean guilder in 2025
    with pytest.raises(InvalidOrgData) as refused:
        chain_settings_update(actor=owner, currency="ANG")
    # then it is refused and the chain's currency is unchanged
    assert set(refused.value.fields) == {"currency"}
    assert ChainSettings.objects.get().currency == "GBP"
    # and its successor, which a hand-written table of 2024 did not know, is accepted
    chain_settings_update(actor=owner, currency="xcg")
    assert ChainSettings.objects.get().currency == "XCG"


@time_machine.travel(datetime(2026, 1, 15, 12, tzinfo=UTC), tick=False)  # after ANG gave way to XCG
def test_currencies_are_the_ones_in_use_on_the_day_asked():
    # given a day before the guilder's replacement and one after it
    before, after = date(2024, 1, 1), date(2026, 1, 1)
    assert currencies() == currencies(on=timezone.now().date())
    # then each day has the currency of its time
    assert "ANG" in currencies(on=before)
    assert "XCG" not in currencies(on=before)
    assert "XCG" in currencies(on=after)
    assert "ANG" not in currencies(on=after)
    assert {"GBP", "EUR", "USD", "JPY"} <= currencies(on=after)


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "shown"),
    [
        (12345, "GBP", "en-gb", "£123.45"),
        (1200, "JPY", "en", "¥1,200"),
        (5, "EUR", "de-de", "0,05\xa0€"),
        (1234, "KWD", "en", "KWD1.234"),
        (990, "GBP", "zz", "£9.90"),
    ],
)
def test_an_amount_in_minor_units_reads_as_its_currency_and_locale_write_it(minor, currency, locale, shown):
    assert money_format(minor, currency, locale=locale) == shown


@time_machine.travel(datetime(2026, 1, 15, 12, tzinfo=UTC), tick=False)  # after ANG gave way to XCG
def test_the_settings_page_offers_currencies_by_code_and_name(in_a):
    # given the chain settings form
    choices = dict(ChainSettingsForm().fields["currency"].choices)
    # then every currency in use is offered with its name, and a retired one is not
    assert choices["GBP"] == "GBP - British Pound"
    assert set(choices) == set(currencies())
    assert "ANG" not in choices
    assert currency_choices()[0][0] < currency_choices()[-1][0]

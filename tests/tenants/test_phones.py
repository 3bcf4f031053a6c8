"""Phone numbers are read one way (config.validation.phone_e164) by the API and the pages alike:
national form in the country of the branch's or the chain's time zone, international form, any
spacing; anything else is an error on the phone field. A patient's phone is the mobile the clinic
texts: only a number that can receive text messages is taken there."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from config.validation import phone_e164, phone_region
from patients import services as patients
from patients.exceptions import InvalidPatient
from patients.models import Patient
from tenants.org import services as org
from tests.helpers import assert_error, sign_in


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("020 7946 0958", "+442079460958"),
        ("+44 20 7946 0958", "+442079460958"),
        ("07700 900123", "+447700900123"),
        ("0044 (0)20 7946-0958", "+442079460958"),
        ("", ""),
    ],
)
def test_national_and_international_forms_are_one_number(typed: str, stored: str) -> None:
    assert phone_e164(typed, region="GB") == stored


@pytest.mark.parametrize("junk", ["12", "call me", "+44 20", "020 7946 0958 0958 0958"])
def test_what_is_not_a_number_is_refused_in_words(junk: str) -> None:
    with pytest.raises(ValueError, match="Enter it as you would dial it"):
        phone_e164(junk, region="GB")


def test_a_national_number_without_a_country_asks_for_the_international_form() -> None:
    with pytest.raises(ValueError, match="international form"):
        phone_e164("020 7946 0958", region=None)


def test_the_country_is_the_time_zones_else_the_locales() -> None:
    assert phone_region(timezones=("Europe/London",)) == "GB"
    assert phone_region(timezones=("UTC", "America/New_York")) == "US"
    assert phone_region(timezones=("UTC",), locale="en-gb") == "GB"
    assert phone_region(timezones=("UTC",), locale="en") is None


def test_a_patient_registered_with_a_national_number_is_stored_in_e164(in_a) -> None:
    # given chain A, in London; when the desk registers a patient typing a national number
    patient = patients.patient_create(
        actor=in_a.users["receptionist"], first_name="Nat", last_name="Ional", phone="07946 900123"
    )
    # then it is stored in international form, and search finds it as typed either way
    assert patient.phone == "+447946900123"


def test_a_branch_reads_national_numbers_in_its_own_time_zone(chain_b) -> None:
    # given chain B (New York): a branch abroad reads a national number in its own country
    with schema_context(chain_b.schema):
        owner = chain_b.users["owner"]
        london = org.branch_create(
            actor=owner, name="London office", timezone_name="Europe/London", phone="020 7946 0958"
        )
        here = org.branch_create(actor=owner, name="Midtown", timezone_name="America/New_York", phone="(212) 555-0134")
    assert (london.phone, here.phone) == ("+442079460958", "+12125550134")


def test_the_chain_contact_phone_is_read_in_the_chains_country(in_a) -> None:
    chain = org.chain_settings_update(actor=in_a.users["owner"], contact_phone="020 7946 0958")
    assert chain.contact_phone == "+442079460958"


def test_junk_is_a_field_error_and_nothing_is_registered(in_a) -> None:
    before = Patient.objects.count()
    with pytest.raises(InvalidPatient) as refused:
        patients.patient_create(actor=in_a.users["owner"], first_name="Jun", last_name="K", phone="call me")
    assert set(refused.value.fields) == {"phone"}
    assert Patient.objects.count() == before


def test_the_api_takes_a_national_number_and_names_the_field_of_junk(api, chain_a) -> None:
    desk = api(chain_a, "receptionist")
    made = desk.call("POST", "/api/v1/patients/", {"first_name": "Api", "last_name": "Caller", "phone": "07946 900124"})
    assert made.status_code == 201, made.content
    assert made.json()["phone"] == "+447946900124"
    refused = assert_error(
        desk.call("POST", "/api/v1/patients/", {"first_name": "Api", "last_name": "Junk", "phone": "12"}),
        400,
        "validation_error",
    )
    assert set(refused["fields"]) == {"phone"}


def test_the_registration_page_shows_the_phone_error_next_to_it_and_keeps_what_was_typed(in_a, client) -> None:
    # given the desk's registration form
    with schema_context(in_a.schema):
        sign_in(client, in_a.users["receptionist"])
    before = Patient.objects.count()

    # when a junk phone is typed
    page = client.post(
        "/patients/new/",
        {"first_name": "Tess", "last_name": "Typed", "sex": "unknown", "phone": "call me", "city": "Leeds"},
        HTTP_HOST=in_a.host,
    )

    # then the page names the field in error, next to it, and keeps every value typed
    html = page.content.decode()
    assert page.status_code == 200
    assert '<p class="errorlist field-error" id="id_phone_error">' in html
    assert 'aria-invalid="true" aria-describedby="id_phone_helptext id_phone_error"' in html
    assert '<a href="#id_phone">Mobile: ' in html
    for typed in ('value="Tess"', 'value="Typed"', 'value="call me"', 'value="Leeds"'):
        assert typed in html
    assert Patient.objects.count() == before


def test_the_registration_page_takes_a_national_number(in_a, client) -> None:
    with schema_context(in_a.schema):
        sign_in(client, in_a.users["receptionist"])
    page = client.post(
        "/patients/new/",
        {"first_name": "Nora", "last_name": "National", "sex": "unknown", "phone": "07946 900125"},
        HTTP_HOST=in_a.host,
    )
    assert page.status_code == 302
    assert Patient.objects.get(last_name="National").phone == "+447946900125"


@pytest.mark.parametrize("typed", ["1234", "07911", "0791 12", "\x00 07911"])
def test_a_local_only_number_is_no_phone_number(typed: str) -> None:
    # given a number only dialable inside some area (libphonenumber's IS_POSSIBLE_LOCAL_ONLY)
    # when it is read in the chain's country, then it is refused in words, as any number that is not one
    with pytest.raises(ValueError, match="Enter it as you would dial it"):
        phone_e164(typed, region="GB")


def test_a_patient_is_not_registered_with_a_truncated_number(chain_a, api) -> None:
    # given the receptionist at the API
    desk = api(chain_a, "receptionist")
    with schema_context(chain_a.schema):
        before = Patient.objects.count()
    # when she registers a patient whose mobile was cut short to four digits
    answer = desk.call("POST", "/api/v1/patients/", {"first_name": "Shor", "last_name": "Tened", "phone": "1234"})
    # then it is refused naming the phone, and nobody is registered
    assert answer.status_code == 400, answer.content
    assert "phone" in answer.json()["error"]["fields"]
    with schema_context(chain_a.schema):
        assert Patient.objects.count() == before


@pytest.mark.parametrize(
    "typed",
    [
        "0770090012",  # a digit short of a mobile: ten digits a UK number may have, but no mobile
        "020 7946 0958",  # a landline
        "07700 900123",  # the range kept for drama, never issued
    ],
)
def test_a_mobile_is_a_number_that_can_receive_text_messages(typed: str) -> None:
    # given a number of a possible length that no text message can reach
    # when it is read as a mobile, then it is refused in words; as any phone it is still taken
    with pytest.raises(ValueError, match=r"not a mobile number\. Enter a number that can receive text messages"):
        phone_e164(typed, region="GB", mobile=True)
    assert phone_e164(typed, region="GB").startswith("+44")


@pytest.mark.parametrize(
    ("typed", "region", "stored"),
    [
        ("07911 123456", "GB", "+447911123456"),
        ("+44 (0)7911 123456", None, "+447911123456"),
        ("(212) 555-0134", "US", "+12125550134"),  # North America: a number that may be either is taken
    ],
)
def test_a_mobile_is_taken_in_national_and_international_form(typed: str, region: str | None, stored: str) -> None:
    assert phone_e164(typed, region=region, mobile=True) == stored


def test_a_patient_is_not_registered_with_a_number_that_takes_no_texts(in_a) -> None:
    # given the desk registering a patient with a mobile typed a digit short
    before = Patient.objects.count()
    # when the service is asked, then it refuses naming the phone, and nobody is registered
    with pytest.raises(InvalidPatient) as refused:
        patients.patient_create(actor=in_a.users["receptionist"], first_name="Di", last_name="Git", phone="0770090012")
    assert set(refused.value.fields) == {"phone"}
    assert "not a mobile number" in refused.value.fields["phone"][0]
    assert Patient.objects.count() == before
    # and an emergency contact may be a landline
    kept = patients.patient_create(
        actor=in_a.users["receptionist"], first_name="Di", last_name="Git", emergency_contact_phone="020 7946 0958"
    )
    assert kept.emergency_contact_phone == "+442079460958"

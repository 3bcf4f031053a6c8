"""The words of messages: a built-in wording for every kind on every channel in English and German,
safe rendering (only ``{name}`` from a fixed list; template code stays harmless text), a chain's own
wording saved by owners only (unknown placeholders and template code refused, naming the allowed
ones), reset to the default, and the history of who changed what."""

from __future__ import annotations

import pytest

from config.errors import PermissionDenied
from notifications import services
from notifications.exceptions import TemplateInvalid
from notifications.models import Channel, Kind, Template
from notifications.selectors import wording_get, wording_history, wording_list
from notifications.templates import (
    DEFAULTS,
    KIND_PLACEHOLDERS,
    LANGUAGES,
    PLACEHOLDERS,
    TWO_SEGMENTS,
    default_for,
    fill,
    language_of,
    preview,
    render,
    sample_values,
    sms_segments,
    template_errors,
)
from tests.factories import Chain

VALUES = {
    "patient": "Anna",
    "service": "Physiotherapy",
    "when": "Mon 2 Mar, 10:30",
    "code": "482913",
    "clinic": "Riverside Clinics",
}


def test_every_kind_has_its_own_wording_on_every_channel_in_english_and_german():
    # then there is a written default for each kind x channel x language, using only its placeholders
    for kind in Kind.values:
        for channel in Channel.values:
            for language in LANGUAGES:
                subject, body = DEFAULTS[(kind, channel, language)]
                assert body.strip()
                assert (subject == "") == (channel == Channel.SMS), (kind, channel, language)
                assert template_errors(kind=kind, text=body) == [], (kind, channel, language)
                assert template_errors(kind=kind, text=subject) == [], (kind, channel, language)
    # and the German wording is German, not a copy of the English
    assert DEFAULTS[(Kind.REMINDER, Channel.SMS, "de")] != DEFAULTS[(Kind.REMINDER, Channel.SMS, "en")]


def test_each_default_sms_fits_one_segment_with_values_as_long_as_real_ones():
    for kind in Kind.values:
        for language in LANGUAGES:
            shown = preview(
                kind=kind,
                channel=Channel.SMS,
                language=language,
                subject="",
                body=default_for(kind=kind, channel=Channel.SMS, language=language)[1],
            )
            assert shown.segments is not None
            assert shown.segments.segments == (2 if kind in TWO_SEGMENTS else 1), (kind, language, shown.body)
            assert shown.segments.encoding == "GSM-7", (kind, language)  # umlauts are GSM-7 too


def test_segments_count_gsm7_and_unicode_as_carriers_do():
    assert sms_segments("a" * 160).segments == 1
    assert sms_segments("a" * 161).segments == 2
    assert sms_segments("€" * 80).length == 160  # the euro sign takes two GSM-7 characters
    assert sms_segments("Grüße aus München").encoding == "GSM-7"
    unicode = sms_segments("Zdravo, Łódź " + "a" * 60)
    assert unicode.encoding == "UCS-2"
    assert unicode.segments == 2


def test_a_language_tag_reads_the_wording_of_its_language_and_english_otherwise():
    assert language_of("de-AT") == "de"
    assert language_of("de_DE") == "de"
    assert language_of("fr") == "en"
    assert language_of("") == "en"


@pytest.mark.parametrize(
    "text",
    [
        "{{ patient }}",
        "{% if patient %}x{% endif %}",
        "{patient.__class__}",
        "{patient!r}",
        "{patient:>10}",
        "{0}",
        "{}",
        "${patient}",
        "{{patient}}",
    ],
)
def test_template_code_and_format_tricks_render_as_harmless_text(text: str):
    # when text with template code or format tricks is rendered
    rendered = fill(text, VALUES)
    # then nothing was evaluated: no attribute, no class, no formatting; at most a known name was filled
    assert "class" not in rendered.replace("__class__", "") or rendered == text
    assert "<" not in rendered
    assert rendered in (text, text.replace("{patient}", "Anna"))
    # and saving it is refused
    assert template_errors(kind=Kind.REMINDER, text=text)


def test_a_value_is_never_read_as_a_template():
    # given a patient whose name looks like a placeholder
    rendered = fill("Hello {patient}, your code", {"patient": "{code} {{ settings.SECRET_KEY }}", "code": "999"})
    # then the name is written as it is: one pass, no code filled in, nothing evaluated
    assert rendered == "Hello {code} {{ settings.SECRET_KEY }}, your code"


def test_an_unknown_placeholder_and_one_of_another_kind_are_named_with_the_allowed_ones():
    errors = template_errors(kind=Kind.REMINDER, text="Hi {patient}, {favourite_colour}")
    assert len(errors) == 1
    assert "{favourite_colour} is not a placeholder" in errors[0]
    assert "{patient}" in errors[0]
    assert "{manage_link}" in errors[0]
    # a known placeholder the kind has no value for (a code in a reminder)
    assert "{code} has no value in this kind of message" in template_errors(kind=Kind.REMINDER, text="{code}")[0]
    assert template_errors(kind=Kind.REMINDER, text="Stray } brace")
    assert set(KIND_PLACEHOLDERS[Kind.SIGN_IN_CODE]) <= set(PLACEHOLDERS)


def test_the_preview_fills_sample_values_of_the_language():
    shown = preview(
        kind=Kind.REMINDER, channel=Channel.EMAIL, language="de", subject="Termin {when}", body="Hallo {patient}"
    )
    assert shown.subject == f"Termin {sample_values(kind=Kind.REMINDER, language='de')['when']}"
    assert shown.body == "Hallo Anna"
    assert shown.segments is None


def test_the_owner_saves_the_chains_wording_and_messages_are_written_from_it(in_a: Chain):
    owner = in_a.users["owner"]
    # when the owner saves the clinic's own reminder wording in German
    services.template_save(
        actor=owner, kind=Kind.REMINDER, channel=Channel.SMS, language="de", body="Bis bald, {patient}: {when}."
    )
    # then a German reminder says it, an English one still the default
    _, body = render(kind=Kind.REMINDER, channel=Channel.SMS, language="de-CH", values=VALUES)
    assert body == "Bis bald, Anna: Mon 2 Mar, 10:30."
    _, english = render(kind=Kind.REMINDER, channel=Channel.SMS, language="en", values=VALUES)
    assert english.startswith("Riverside Clinics reminder: Physiotherapy")
    # and the templates list shows it as the chain's own
    row = wording_get(actor=owner, kind=Kind.REMINDER, channel=Channel.SMS, language="de")
    assert row is not None
    assert row.is_own
    assert row.body == "Bis bald, {patient}: {when}."
    assert sum(w.is_own for w in wording_list(actor=owner)) == 1


def test_saving_template_code_is_refused_and_nothing_changes(in_a: Chain):
    owner = in_a.users["owner"]
    services.template_save(actor=owner, kind=Kind.REMINDER, channel=Channel.SMS, language="en", body="Hi {patient}")
    # when the owner saves a wording with template code
    with pytest.raises(TemplateInvalid) as refused:
        services.template_save(
            actor=owner, kind=Kind.REMINDER, channel=Channel.SMS, language="en", body="Hi {{ patient.__class__ }}"
        )
    # then the refusal names the allowed placeholders, on the body field, and the saved wording stands
    assert "{patient}" in refused.value.fields["body"][0]
    assert Template.objects.get(kind=Kind.REMINDER, channel=Channel.SMS, language="en").body == "Hi {patient}"


def test_an_email_needs_a_subject_and_an_unknown_language_is_refused(in_a: Chain):
    owner = in_a.users["owner"]
    with pytest.raises(TemplateInvalid) as refused:
        services.template_save(actor=owner, kind=Kind.REMINDER, channel=Channel.EMAIL, language="en", body="Hi")
    assert "subject" in refused.value.fields
    with pytest.raises(TemplateInvalid) as refused:
        services.template_save(actor=owner, kind=Kind.REMINDER, channel=Channel.SMS, language="xx", body="Hi")
    assert "language" in refused.value.fields
    assert not Template.objects.exists()


@pytest.mark.parametrize("role", ["branch_manager", "receptionist", "doctor", "billing"])
def test_only_owners_change_the_wording(in_a: Chain, role: str):
    with pytest.raises(PermissionDenied):
        services.template_save(
            actor=in_a.users[role], kind=Kind.REMINDER, channel=Channel.SMS, language="en", body="Hi {patient}"
        )
    assert not Template.objects.exists()


def test_branch_managers_read_the_wording_and_reception_does_not(in_a: Chain):
    assert len(wording_list(actor=in_a.users["branch_manager"])) == len(Kind) * len(Channel) * len(LANGUAGES)
    with pytest.raises(PermissionDenied):
        wording_list(actor=in_a.users["receptionist"])


def test_reset_goes_back_to_the_default_and_the_history_says_who_did_what(in_a: Chain):
    owner = in_a.users["owner"]
    services.template_save(
        actor=owner, kind=Kind.CONFIRMATION, channel=Channel.SMS, language="en", body="Booked {when}"
    )
    services.template_save(
        actor=owner, kind=Kind.CONFIRMATION, channel=Channel.SMS, language="en", body="Booked: {when}"
    )
    # when the owner resets it
    assert services.template_reset(actor=owner, kind=Kind.CONFIRMATION, channel=Channel.SMS, language="en")
    # then messages use the default again
    _, body = render(kind=Kind.CONFIRMATION, channel=Channel.SMS, language="en", values=VALUES)
    assert body.startswith("Riverside Clinics: booked Physiotherapy")
    # and the history keeps each change, newest first, with the owner as author
    history = wording_history(actor=owner, kind=Kind.CONFIRMATION, channel=Channel.SMS, language="en")
    assert [h.what for h in history] == ["reset", "changed", "written"]
    assert {h.by for h in history} == {"Olivia Owner"}
    # and a second reset finds nothing to reset
    assert not services.template_reset(actor=owner, kind=Kind.CONFIRMATION, channel=Channel.SMS, language="en")


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(
    "kind", [Kind.CONFIRMATION, Kind.RESCHEDULED, "leave_moved", Kind.REMINDER, Kind.CANCELLED, Kind.NO_SHOW]
)
def test_every_default_sms_to_a_patient_about_a_visit_names_the_clinic(kind: str, language: str):
    # given the built-in SMS wording of a message about a visit
    _, body = default_for(kind=kind, channel=Channel.SMS, language=language)
    # when it is filled in for a chain called Northwind Health
    text = fill(body, {**VALUES, "clinic": "Northwind Health"})
    # then the patient reads who texts them
    assert "{clinic}" in body
    assert "Northwind Health" in text

"""The web form "Tala om vad du tycker": its fields, validation and
registration (R4, R5, R23, R30)."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from held_lock import held_write_lock
from klagomal import Contact, FixedClock, InvalidInputError, Kind, Klagomal, TransientStorageError
from klagomal.core.errors import OrganisationError
from klagomal.core.organisation import default_organisation, parse_organisation
from klagomal.intake import webform
from klagomal.intake.webform import FormErrors, FormSubmission, validate_form
from klagomal.testing import instance, plugin

TODAY = dt.date(2026, 3, 2)
ORG = default_organisation()
#: A kommun that asks the person to tick that they read the information on
#: personal data ([webbformular] lasbekraftelse).
TICKING = attrs.evolve(ORG, form_acknowledgement=True)
#: A kommun that gives no answers of its own: the form lists its units.
UNITS_ONLY = attrs.evolve(ORG, form_choices=())

#: A valid form as a browser posts it: what a person must fill in, no more (R30).
VALID = {"typ": "klagomal", "text": "Hemtjänsten kom inte.", "epost": "eva@example.se"}


def validate(
    allow_anonymous: bool = False, organisation: Any = ORG, **changes: Any
) -> FormSubmission | FormErrors:
    data = {**VALID, **changes}
    return validate_form(data, organisation, allow_anonymous=allow_anonymous, today=TODAY)


def errors(allow_anonymous: bool = False, organisation: Any = ORG, **changes: Any) -> dict[str, str]:
    result = validate(allow_anonymous, organisation, **changes)
    assert isinstance(result, FormErrors), result
    assert not result.spam
    return result.messages


def submission(allow_anonymous: bool = False, **changes: Any) -> FormSubmission:
    result = validate(allow_anonymous, **changes)
    assert isinstance(result, FormSubmission), result
    return result


# -- the form as data ------------------------------------------------------


def test_fields_are_the_form_in_order_with_ascii_ids() -> None:
    ids = [f.id for f in webform.FIELDS]
    assert ids == [
        "typ",
        "text",
        "enhet",
        "namn",
        "epost",
        "telefon",
        "adress",
        "kontaktsatt",
        "anonym",
        "lasbekraftelse",
        "webbplats",
    ]
    assert all(i.isascii() for i in ids)
    # R30: only the kind and the text are always required.
    assert [f.id for f in webform.FIELDS if f.required] == ["typ", "text"]
    assert webform.field("lasbekraftelse").required_when == "kontakt"
    assert [f.id for f in webform.FIELDS if f.honeypot] == ["webbplats"]
    assert [(c.value, c.label) for c in webform.field("typ").choices] == [
        ("klagomal", "Klagomål"),
        ("forslag", "Förslag"),
        ("berom", "Beröm"),
    ]


def test_schema_is_json_with_the_units_and_the_privacy_text() -> None:
    schema = webform.form_schema(ORG)
    assert json.loads(json.dumps(schema)) == schema
    assert schema["title"] == "Tala om vad du tycker"
    assert schema["consent_text"] == webform.CONSENT_TEXT
    assert schema["anonymous_allowed"] is False
    assert schema["anonymous_units"] == []
    fields = {f["id"]: f for f in schema["fields"]}
    assert list(fields) == [f.id for f in webform.fields_for(ORG)]
    assert fields["text"]["max_length"] == 5000
    choices = {c["value"]: c for c in fields["enhet"]["choices"]}
    assert list(choices) == [c.id for c in ORG.form_choices]
    assert choices["hemtjanst-norr"] == {
        "value": "hemtjanst-norr",
        "label": "Hemtjänst i norra kommundelen",
        "group": "Omsorg och stöd",
    }
    # Without the kommun's own answers: every unit, by its place in the organisation.
    [unit_field] = [f for f in webform.form_schema(UNITS_ONLY)["fields"] if f["id"] == "enhet"]
    units = {c["value"]: c for c in unit_field["choices"]}
    assert list(units) == list(ORG.units)
    assert units["soc-aldre-hemtjanst-norr"] == {
        "value": "soc-aldre-hemtjanst-norr",
        "label": "Äldreomsorg – Hemtjänst Norr",
        "group": "Socialförvaltningen",
    }
    assert units["soc"]["label"] == "Socialförvaltningen"
    # R5: the person is told where anonymous feedback can be given instead.
    assert "svarskort" in schema["groups"]["kontakt"]["help"]


def test_consent_text_says_what_a_person_needs_to_know() -> None:
    text = webform.CONSENT_TEXT
    for words in ("allmän handling", "Sekretess", "gallring", "rätt att få veta", "Kommunens egen"):
        assert words in text


# -- validation --------------------------------------------------------------

LONG = "a" * 5213


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param(
            {"typ": ""}, "typ", "Välj om du vill lämna ett klagomål, ett förslag eller beröm.", id="typ"
        ),
        pytest.param({"typ": "fraga"}, "typ", "Välj Klagomål, Förslag eller Beröm.", id="unknown-kind"),
        # What registration refuses, the form refuses first, in the form's words.
        *(
            pytest.param({"epost": address}, "epost", "E-postadressen ser inte ut att stämma", id=address)
            for address in ("x@y.test", "eva@localhost", "a@x.se, b@y.se", '"Eva" <eva@example.se>')
        ),
        pytest.param({"typ": "Klagomål"}, "typ", "Välj Klagomål, Förslag eller Beröm.", id="label-not-id"),
        pytest.param({"text": " \r\n\t "}, "text", "Skriv din synpunkt.", id="text-blank"),
        pytest.param(
            # Swedish numbers: groups of three with a no-break space (klagomal.core.formats).
            {"text": LONG},
            "text",
            "Texten får vara högst 5\u00a0000 tecken (du skrev 5\u00a0213).",
            id="text-length",
        ),
        pytest.param(
            {"namn": "N" * 201}, "namn", "Namnet får vara högst 200 tecken (du skrev 201).", id="name-length"
        ),
        pytest.param(
            {"epost": "e" * 245 + "@example.se"},
            "epost",
            "E-postadressen får vara högst 254 tecken (du skrev 256).",
            id="email-length",
        ),
        pytest.param(
            {"telefon": "0" * 41},
            "telefon",
            "Telefonnumret får vara högst 40 tecken (du skrev 41).",
            id="phone",
        ),
        pytest.param(
            {"adress": "A" * 501},
            "adress",
            "Postadressen får vara högst 500 tecken (du skrev 501).",
            id="address-length",
        ),
        pytest.param(
            {"enhet": "finns-inte"},
            "enhet",
            "Den valda verksamheten finns inte. Välj en i listan eller lämna fältet tomt.",
            id="unknown-unit",
        ),
        pytest.param({"epost": ""}, "kontakt", "Fyll i minst ett sätt att nå dig", id="no-contact"),
        pytest.param(
            {"epost": "", "namn": "Eva"}, "kontakt", "Fyll i minst ett sätt att nå dig", id="name-only"
        ),
        pytest.param({"kontaktsatt": "brev"}, "adress", "Fyll i din postadress", id="prefers-letter"),
        pytest.param({"kontaktsatt": "telefon"}, "telefon", "Fyll i ditt telefonnummer", id="prefers-phone"),
        pytest.param(
            {"epost": "", "telefon": "070-1234567", "kontaktsatt": "epost"},
            "epost",
            "Fyll i din e-postadress, eftersom du vill bli kontaktad med e-post.",
            id="prefers-email",
        ),
        pytest.param(
            {"kontaktsatt": "sms"}, "kontaktsatt", "Välj e-post, brev eller telefon", id="unknown-way"
        ),
        pytest.param({"telefon": "ring mig"}, "telefon", "minst fem siffror", id="phone-without-digits"),
        pytest.param({"text": "Hej\x00då"}, "text", "styrtecken", id="nul"),
        pytest.param({"text": "Hej\x1b[31m"}, "text", "styrtecken", id="escape"),
        pytest.param({"text": "Hej\x7f"}, "text", "styrtecken", id="delete"),
        pytest.param(
            {"namn": "Eva\x07"}, "namn", "Namnet innehåller tecken som inte kan tas emot", id="bell"
        ),
        pytest.param({"namn": "Eva\nSvensson"}, "namn", "radbrytning", id="newline-in-name"),
        pytest.param(
            {"epost": "eva@example.se\r\nBcc: x@y.se"}, "epost", "radbrytning", id="header-injection"
        ),
        pytest.param({"text": ["Ett", "Två"]}, "text", "Texten kom flera gånger", id="twice"),
    ],
)
def test_validation_messages(changes: dict[str, Any], field: str, message: str) -> None:
    messages = errors(**changes)
    assert field in messages, messages
    assert message in messages[field]


@pytest.mark.parametrize(
    "address",
    [
        "eva",
        "eva@",
        "@example.se",
        "eva@example",
        "eva @example.se",
        "eva@@example.se",
        "eva@example..se",
        "a,b",
    ],
)
def test_email_syntax(address: str) -> None:
    assert errors(epost=address) == {
        "epost": "E-postadressen ser inte ut att stämma. Skriv den som namn@exempel.se."
    }


@pytest.mark.parametrize(
    "address", ["eva@example.se", "eva.svensson+synpunkt@exempel.kommun.se", "åsa@exempelkommun.se"]
)
def test_email_that_looks_right_is_accepted(address: str) -> None:
    assert submission(epost=address).contact == Contact(email=address)


def test_every_message_is_given_at_once_in_form_order() -> None:
    messages = errors(typ="", text="", epost="fel", organisation=TICKING)
    assert list(messages) == ["typ", "text", "epost", "lasbekraftelse"]


# -- no consent: the information on personal data, and a tick only if the kommun asks -----------


READ = "Kryssa i att du har läst hur kommunen hanterar dina personuppgifter."


def test_the_form_asks_for_no_consent_and_no_tick_by_default() -> None:
    # A kommun handles feedback as a task in the public interest (GDPR art.
    # 6.1 e), not on consent: the form informs, and asks nothing back.
    assert "lasbekraftelse" not in [f.id for f in webform.fields_for(ORG)]
    assert "lasbekraftelse" not in [f["id"] for f in webform.form_schema(ORG)["fields"]]
    assert isinstance(validate(), FormSubmission)
    assert isinstance(validate(epost="", telefon="070-123 45 67"), FormSubmission)
    for f in webform.FIELDS:
        assert "godkänn" not in f.label.lower()
        assert "samtycke" not in f.label.lower()


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"epost": "", "telefon": "070-123 45 67"},
        {"epost": "", "adress": "Storgatan 1"},
        {"lasbekraftelse": "off"},
    ],
    ids=["email", "phone", "address", "off"],
)
def test_a_kommun_that_asks_for_the_tick_gets_it_with_contact_details(changes: dict[str, str]) -> None:
    assert [f.id for f in webform.fields_for(TICKING)] == [f.id for f in webform.FIELDS]
    assert [f["id"] for f in webform.form_schema(TICKING)["fields"]][-2:] == ["lasbekraftelse", "webbplats"]
    assert errors(organisation=TICKING, **changes) == {"lasbekraftelse": READ}
    assert isinstance(validate(organisation=TICKING, **(changes | {"lasbekraftelse": "on"})), FormSubmission)


def test_the_tick_is_off_unless_the_organisation_file_asks_for_it() -> None:
    text = (
        '[kommun]\nid = "k"\nnamn = "K"\nsystemagare = "a"\n'
        '[[forvaltning]]\nid = "a"\nnamn = "A"\nchef = "C"\nnamnd = "N"\nepost = "a@k.se"\n'
    )
    assert ORG.form_acknowledgement is False  # Exempelkommun asks for nothing either
    assert parse_organisation(text).form_acknowledgement is False
    assert parse_organisation(text + "[webbformular]\nlasbekraftelse = true\n").form_acknowledgement is True
    with pytest.raises(OrganisationError) as wrong:
        parse_organisation(text + '[webbformular]\nlasbekraftelse = "ja"\n')
    assert str(wrong.value) == "<string>: [webbformular]: 'lasbekraftelse' ska vara true eller false"
    with pytest.raises(OrganisationError) as unknown:
        parse_organisation(text + "[webbformular]\nsamtycke = true\n")
    assert str(unknown.value).startswith("<string>: [webbformular]: okänd nyckel 'samtycke'")


def test_the_tick_is_not_asked_of_a_person_who_stays_anonymous() -> None:
    sub = validate(allow_anonymous=True, organisation=TICKING, epost="", anonym="on")
    assert isinstance(sub, FormSubmission)
    assert sub.anonymous


def test_anonymous_is_refused_through_the_web_form_with_the_other_ways() -> None:
    # R5: not through the web form by default; say where it can be given.
    messages = errors(epost="", anonym="on")
    assert list(messages) == ["anonym"]
    assert messages["anonym"] == (
        "Det går inte att lämna en anonym synpunkt via webbformuläret. Fyll i hur vi kan nå dig, "
        "eller ring, skriv ett brev eller lämna ett svarskort om du vill vara anonym."
    )
    assert "ringa, skriva ett brev eller lämna ett svarskort" in errors(epost="")["kontakt"]


def test_anonymous_when_allowed() -> None:
    sub = submission(allow_anonymous=True, epost="", anonym="ja")
    assert sub.contact is None
    assert sub.anonymous
    # Without the box ticked, the person is asked for a way or to choose anonymity.
    assert "välja det här" in errors(allow_anonymous=True, epost="")["kontakt"]
    # Anonymous and contact details at once is a contradiction the person resolves.
    assert (
        "Du har valt att vara anonym men fyllt i kontaktuppgifter"
        in (errors(allow_anonymous=True, anonym="on")["anonym"])
    )


def test_a_valid_form_becomes_a_submission() -> None:
    sub = submission(
        typ="berom",
        enhet="kof-bibliotek",
        namn="  Eva Svensson ",
        telefon="070-123 45 67",
        adress="Storgatan 1\r\n123 45 Exempelstad",
        kontaktsatt="brev",
        csrf_token="abc",  # what a web platform adds is ignored
    )
    assert sub == FormSubmission(
        kind=Kind.BEROM,
        text="Hemtjänsten kom inte.",
        unit="kof-bibliotek",
        contact=Contact(
            name="Eva Svensson",
            email="eva@example.se",
            phone="070-123 45 67",
            address="Storgatan 1\n123 45 Exempelstad",
            preferred="brev",
        ),
        received=TODAY,
    )


def test_lists_of_values_as_frameworks_give_them() -> None:
    # Each field's one value; of a checkbox that comes after a hidden field
    # of the same name ("0" when it is not ticked), the last value; an
    # empty list is an empty field.
    data = {k: [v] for k, v in VALID.items()} | {"lasbekraftelse": ["0", "on"], "webbplats": []}
    result = validate_form(data, TICKING, today=TODAY)
    assert result == FormSubmission(
        kind=Kind.KLAGOMAL,
        text="Hemtjänsten kom inte.",
        unit=None,
        contact=Contact(email="eva@example.se"),
        received=TODAY,
    )
    unticked = validate_form(data | {"lasbekraftelse": ["on", "0"]}, TICKING, today=TODAY)
    assert isinstance(unticked, FormErrors)
    assert list(unticked.messages) == ["lasbekraftelse"]
    assert unticked.values["lasbekraftelse"] == "0"
    # Any other field posted twice is refused, whichever value came last.
    twice = validate_form(data | {"epost": ["eva@example.se", "eva@example.se"]}, ORG, today=TODAY)
    assert isinstance(twice, FormErrors)
    assert twice.messages == {
        "epost": "E-postadressen kom flera gånger. Ladda om sidan och skicka formuläret igen."
    }


def test_swedish_text_and_markup_are_kept_verbatim() -> None:
    # Escaping is the renderer's job: the person's words are stored as written.
    text = "  Hej!\r\n<script>alert('å')</script>\r\n\tÄlskar Ö & \"citat\" \u00a0\U0001f600\rslut  "
    assert submission(text=text).text == (
        "Hej!\n<script>alert('å')</script>\n\tÄlskar Ö & \"citat\" \u00a0\U0001f600\nslut"
    )


def test_length_counts_characters_after_newlines_are_normalised() -> None:
    # A browser's textarea posts CRLF; 5 000 characters with line breaks fit.
    text = ("a" * 99 + "\r\n") * 50
    assert len(submission(text=text).text) == 4999


def test_errors_keep_what_the_person_wrote() -> None:
    result = validate(text="  <b>Hej</b>\r\n", epost="fel")
    assert isinstance(result, FormErrors)
    assert result.values["text"] == "<b>Hej</b>"
    assert result.values["epost"] == "fel"
    assert "webbplats" not in result.values


@pytest.mark.parametrize("changes", [{}, {"typ": "", "text": "", "epost": "fel"}])
def test_filled_honeypot_is_spam_with_no_messages(changes: dict[str, Any]) -> None:
    result = validate(webbplats="http://example.com/", **changes)
    assert result == FormErrors(spam=True)
    assert result.messages == {}


def test_blank_honeypot_is_not_spam() -> None:
    assert isinstance(validate(webbplats=" "), FormSubmission)


def test_form_values_are_what_the_person_wrote_to_fill_the_form_in_again() -> None:
    posted = {**VALID, "text": ["  <b>Hej</b>\r\nigen  "], "webbplats": "", "csrf_token": "abc"}
    values = webform.form_values(posted)
    assert list(values) == [f.id for f in webform.FIELDS if not f.honeypot]
    assert values["text"] == "<b>Hej</b>\nigen"
    assert values["epost"] == "eva@example.se"
    assert values["lasbekraftelse"] == ""
    assert values["namn"] == ""


# -- registration ----------------------------------------------------------


def test_register_submission_stores_a_real_case(k: Klagomal) -> None:
    sub = validate_form(
        {**VALID, "text": "Tack för ett fint bemötande på Solgården! <3", "enhet": "soc-aldre-solgarden"},
        k.organisation,
        today=k.clock.today(),
    )
    assert isinstance(sub, FormSubmission)
    case = webform.register_submission(k, sub).case
    stored = k.get(case.reference)
    assert stored.channel == "webbformular"
    assert stored.kind is Kind.KLAGOMAL
    assert stored.unit == "soc-aldre-solgarden"
    assert stored.text == "Tack för ett fint bemötande på Solgården! <3"
    assert stored.contact == Contact(email="eva@example.se")
    assert stored.received == k.clock.today()
    assert k.history(case.reference)[0].actor == "webbformular"


def test_registration_gives_up_on_a_busy_database_within_seconds(any_db_url: str) -> None:
    # Another transaction holds the write lock.  The instance would wait its
    # default 30 seconds; a person at a web form waits webform.LOCK_WAIT at
    # most, and nothing is stored.
    with Klagomal(any_db_url, clock=FixedClock(TODAY), load_entrypoints=False) as k:
        k.init()
        sub = submission()
        with held_write_lock(any_db_url):
            start = time.monotonic()
            with pytest.raises(TransientStorageError, match="Databasen är upptagen, försök igen om en stund"):
                webform.register_submission(k, sub)
            waited = time.monotonic() - start
        assert webform.LOCK_WAIT * 0.9 <= waited < webform.LOCK_WAIT + 1.5, waited
        assert k.cases() == []
        assert webform.register_submission(k, sub).case.reference == "2026-00001"


def test_feedback_without_a_unit_goes_to_the_fallback_unit(k: Klagomal) -> None:
    sub = submission()
    assert sub.unit is None
    case = webform.register_submission(k, sub, fallback_unit="klf-kontaktcenter", actor="webb").case
    assert case.unit == "klf-kontaktcenter"
    assert k.history(case.reference)[0].actor == "webb"
    # Without a fallback, the organisation file's [intag] enhet receives it.
    assert webform.register_submission(k, sub).case.unit == k.organisation.intake.unit == "klf-kontaktcenter"


def test_registration_refuses_anonymous_even_if_the_form_let_it_through(k: Klagomal) -> None:
    # R5 is enforced by registration too, not only by the form.
    sub = submission(allow_anonymous=True, epost="", anonym="on", enhet="kof-badhus")
    with pytest.raises(InvalidInputError, match="anonyma synpunkter tas inte emot"):
        webform.register_submission(k, sub)


def test_a_forvaltning_may_allow_anonymous_feedback_through_the_web_form(tmp_path: Any) -> None:
    # The hook klagomal_allows_anonymous changes R5's default for one förvaltning.
    def kof_only(channel: Any, department: str) -> bool | None:
        return True if (channel.id, department) == ("webbformular", "kof") else None

    with instance(tmp_path, plugins=[plugin(klagomal_allows_anonymous=kof_only)]) as k:
        assert webform.anonymous_allowed(k, "kof-badhus")
        assert not webform.anonymous_allowed(k, "soc-aldre-solgarden")
        assert not webform.anonymous_allowed(k)  # it could be routed anywhere
        assert not webform.anonymous_allowed(k, "finns-inte")
        schema = webform.form_schema(k.organisation, k)
        assert schema["anonymous_allowed"] is False
        assert schema["anonymous_units"] == ["bibliotek", "bad", "fritidsgardar"]
        sub = validate_form(
            {
                "typ": "forslag",
                "text": "Längre öppettider i badhuset.",
                "enhet": "kof-badhus",
                "anonym": "on",
            },
            k.organisation,
            allow_anonymous=webform.anonymous_allowed(k, "kof-badhus"),
            today=k.clock.today(),
        )
        assert isinstance(sub, FormSubmission)
        case = webform.register_submission(k, sub).case
        assert k.get(case.reference).anonymous


def test_a_plugin_that_fails_is_skipped_when_asking_about_anonymity(tmp_path: Any) -> None:
    def broken(channel: Any) -> bool:
        raise RuntimeError("trasig")

    with instance(tmp_path, plugins=[plugin(klagomal_allows_anonymous=broken)]) as k:
        assert not webform.anonymous_allowed(k, "kof-badhus")


def test_everywhere_allowed(tmp_path: Any) -> None:
    with instance(tmp_path, plugins=[plugin(klagomal_allows_anonymous=lambda: True)]) as k:
        assert webform.anonymous_allowed(k)
        assert webform.form_schema(k.organisation, k)["anonymous_allowed"] is True


# -- the receipt -------------------------------------------------------------


def test_the_receipt_says_what_happens_next_and_by_when_in_the_letters_date_style(k: Klagomal) -> None:
    # R7, R23: the thanks, the day received and the besked's last day as the
    # letters write dates, how the besked comes, and that a kvittens is sent
    # by e-mail, with the follow link (tests/test_follow.py).
    registered = webform.register_submission(k, submission(enhet="soc-aldre-solgarden"))
    case = registered.case
    receipt = webform.receipt(registered)
    assert receipt.reference == case.reference
    assert (receipt.received, receipt.besked_by) == ("2 mars 2026", "16 mars 2026")
    assert case.acknowledge_by == dt.date(2026, 3, 16)
    assert receipt.thanks == "Vi tog emot din synpunkt 2 mars 2026. Den hjälper oss att bli bättre."
    assert receipt.next_steps == (
        "Nu får synpunkten en handläggare. Senast 16 mars 2026 får du besked om vem som handlägger "
        "ärendet och när du kan vänta dig svar.",
        "Beskedet kommer med e-post till eva@example.se.",
    )
    assert receipt.email_receipt is True
    assert receipt.receipt_text.startswith("Vi skickar en bekräftelse med ärendenumret till eva@example.se.")
    assert receipt.follow_token == registered.follow_token is not None
    assert "2026-03" not in repr(receipt)  # no ISO date for people
    # From the case alone: no kvittens known, no link.
    bare = webform.receipt(case)
    assert (bare.email_receipt, bare.follow_token, bare.follow_text) == (False, None, "")
    assert bare.receipt_text.startswith(
        "Du får ingen bekräftelse med e-post på att synpunkten har kommit in."
    )


@pytest.mark.parametrize(
    ("contact", "way"),
    [
        (
            {"epost": "", "adress": "Storgatan 1\n123 45 Exempelstad", "kontaktsatt": "brev"},
            "Beskedet kommer med brev till den postadress du har lämnat.",
        ),
        ({"epost": "", "telefon": "070-123 45 67"}, "Vi ringer dig på 070-123 45 67 och ger dig beskedet."),
        (
            {"telefon": "070-123 45 67", "kontaktsatt": "telefon"},
            "Vi ringer dig på 070-123 45 67 och ger dig beskedet.",
        ),
    ],
)
def test_the_receipt_names_the_way_the_besked_will_come(
    k: Klagomal, contact: dict[str, str], way: str
) -> None:
    # The same way the outbox will send it (notices.outbox.person_way).
    registered = webform.register_submission(k, submission(**contact))
    assert webform.receipt(registered).next_steps[-1] == way


def test_an_anonymous_receipt_promises_no_besked(tmp_path: Any) -> None:
    # R5: nobody to answer, so no date is promised.
    with instance(tmp_path, plugins=[plugin(klagomal_allows_anonymous=lambda: True)]) as k:
        sub = submission(allow_anonymous=True, epost="", anonym="on")
        receipt = webform.receipt(webform.register_submission(k, sub))
        assert receipt.besked_by is None
        assert receipt.next_steps == (
            "Du är anonym, så vi kan inte svara dig eller berätta hur det går. Vi går igenom det du har "
            "skrivit och tar vara på det.",
        )
        assert "besked" not in " ".join(receipt.next_steps)
        assert receipt.email_receipt is False


# -- what a person may choose, in their words -------------------------------------------------


def _exempelkommun() -> str:
    return (Path(webform.__file__).parents[1] / "data" / "exempelkommun.toml").read_text(encoding="utf-8")


def test_the_organisation_file_gives_the_choices_in_a_persons_words_and_routes_them() -> None:
    org = parse_organisation(
        _exempelkommun()
        + '\n[[webbformular.val]]\nid = "simhall"\nnamn = "Simhallen"\nenhet = "kof-badhus"\n'
    )
    assert webform.unit_choices(org)[:2] == (
        webform.Choice("hemtjanst-norr", "Hemtjänst i norra kommundelen", "Omsorg och stöd"),
        webform.Choice("hemtjanst-soder", "Hemtjänst i södra kommundelen", "Omsorg och stöd"),
    )
    assert webform.unit_choices(org)[-1] == webform.Choice("simhall", "Simhallen", None)
    [unit_field] = [f for f in webform.form_schema(org)["fields"] if f["id"] == "enhet"]
    assert [c["value"] for c in unit_field["choices"]] == [c.id for c in org.form_choices]
    # The choice routes the case; "Vet inte" (nothing) leaves it to routing.
    for posted, unit in [
        ("hemtjanst-soder", "soc-aldre-hemtjanst-soder"),
        ("gator", "sbf-gatapark-gata"),
        ("simhall", "kof-badhus"),
        ("", None),
        ("kof-badhus", "kof-badhus"),  # a unit id, as an integration may post it
    ]:
        result = validate_form({**VALID, "enhet": posted}, org, today=TODAY)
        assert isinstance(result, FormSubmission), posted
        assert result.unit == unit, posted
    refused = validate_form({**VALID, "enhet": "simhallen"}, org, today=TODAY)
    assert isinstance(refused, FormErrors)
    assert refused.messages == {
        "enhet": "Den valda verksamheten finns inte. Välj en i listan eller lämna fältet tomt."
    }
    assert refused.values["enhet"] == "simhallen"
    assert webform.chosen_unit(org, "gator") == "sbf-gatapark-gata"
    assert webform.chosen_unit(org, None) is None
    # Without choices in the file, every unit by its name in the organisation.
    assert [c.value for c in webform.unit_choices(UNITS_ONLY)] == list(ORG.units)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'id = "hemtjanst"\nnamn = "Hemtjänst"\nenhet = "finns-inte"',
            "enheten 'finns-inte' finns inte i organisationen",
        ),
        (
            'id = "Hemtjänst"\nnamn = "Hemtjänst"\nenhet = "kof-badhus"',
            "'id' ska vara gemena a–z, siffror och bindestreck",
        ),
        ('id = "bad"\nenhet = "kof-badhus"', "'namn' ska vara en text på en rad"),
        ('id = "bad"\nnamn = "Bad"\nenhet = "kof-badhus"\ngrupp = ""', "'grupp' ska vara en text på en rad"),
        ('id = "bad"\nnamn = "Bad"\nenhet = "kof-badhus"\nlank = "x"', "okänd nyckel 'lank'"),
    ],
    ids=["unknown-unit", "id", "no-name", "empty-group", "unknown-key"],
)
def test_a_wrong_choice_in_the_organisation_file_is_refused_naming_it(table: str, message: str) -> None:
    with pytest.raises(OrganisationError) as wrong:
        parse_organisation(_UNITS_FILE + "\n[[webbformular.val]]\n" + table + "\n")
    assert str(wrong.value).startswith(f"<string>: [[webbformular.val]] 1: {message}")


def test_two_choices_with_one_id_are_refused() -> None:
    twice = '\n[[webbformular.val]]\nid = "bad"\nnamn = "Bad"\nenhet = "kof-badhus"\n' * 2
    with pytest.raises(OrganisationError) as wrong:
        parse_organisation(_UNITS_FILE + twice)
    assert str(wrong.value) == "<string>: [[webbformular.val]] 2: det finns redan ett val med 'id' 'bad'"


@given(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(["hemtjanst-norr", "gator", "bibliotek", "kof-badhus", "bad", ""]),
    )
)
def test_whatever_is_posted_routes_to_a_unit_the_organisation_has_or_to_none(posted: str) -> None:
    # The answer routes the case to its unit, "Vet inte" (nothing) to
    # routing, and anything else is refused at the field: never a case at a
    # unit the kommun does not have.
    cleaned = webform.form_values({"enhet": posted})["enhet"]
    unit = webform.chosen_unit(_CHOSEN, cleaned)
    assert unit is None or _CHOSEN.has_unit(unit)
    result = validate_form({**VALID, "enhet": posted}, _CHOSEN, today=TODAY)
    if unit is not None or not cleaned:
        assert isinstance(result, FormSubmission)
        assert result.unit == unit
    else:
        assert isinstance(result, FormErrors)
        assert list(result.messages) == ["enhet"]


_CHOSEN = ORG

#: Exempelkommun's file without its own answers, for new ones to be numbered from 1.
_UNITS_FILE = re.sub(r"\[\[webbformular\.val\]\]\n(?:\w+ = .*\n)+", "", _exempelkommun())

"""The letterhead and delivery settings of the organisation file
([kommun] and [utskick]; klagomal.core.settings)."""

from __future__ import annotations

import pytest

from klagomal.core.errors import OrganisationError
from klagomal.core.model import Kind
from klagomal.core.organisation import Organisation, default_organisation, parse_organisation
from klagomal.core.settings import DeliverySettings, KommunProfile, SmtpSettings

BASE = """{top}
[kommun]
id = "liten"
namn = "Liten kommun"
systemagare = "klf"
{kommun}

[[forvaltning]]
id = "klf"
namn = "Kommunkontoret"
chef = "Kommunchef Anna"
namnd = "Kommunstyrelsen"
{forvaltning}
{rest}
"""


def org(kommun: str = "", forvaltning: str = "", rest: str = "", top: str = "") -> Organisation:
    text = BASE.format(kommun=kommun, forvaltning=forvaltning, rest=rest, top=top)
    return parse_organisation(text, "kommun.toml")


def test_without_settings_the_defaults_suit_a_developers_machine() -> None:
    parsed = org()
    assert parsed.profile == KommunProfile()
    assert parsed.delivery == DeliverySettings()
    # No mail server: e-mail is written as files.
    assert parsed.delivery.notifier_for_email == "fil"
    assert parsed.delivery.letter_notifier == "utskrift"


def test_every_key_is_read() -> None:
    parsed = org(
        kommun='logotyp = "LITEN"\nadress = "Box 1, 111 11 Liten"\ntelefon = "0111-100 00"\n'
        'epost = "kommun@liten.se"\nwebbplats = "https://liten.se"\nsignatur = "Hör gärna av dig igen."',
        forvaltning='chef_epost = "anna@liten.se"\nnamnd_sekreterare = "Sekreterare Per"\n'
        'namnd_epost = "ks@liten.se"',
        rest="""
[utskick]
avsandare = "Liten kommun <synpunkter@liten.se>"
svarsadress = "synpunkter@liten.se"
leverans = "direkt"
brev = "utskrift"
katalog = "/var/spool/klagomal"
max_forsok = 5

[utskick.smtp]
vard = "smtp.liten.se"
sakerhet = "ssl"
anvandare = "klagomal"
losenord_miljovariabel = "LITEN_SMTP"
tidsgrans = 10
""",
    )
    assert parsed.profile == KommunProfile(
        "LITEN",
        "Box 1, 111 11 Liten",
        "0111-100 00",
        "kommun@liten.se",
        "https://liten.se",
        "Hör gärna av dig igen.",
    )
    department = parsed.departments["klf"]
    assert (department.head_email, department.board_secretary, department.board_email) == (
        "anna@liten.se",
        "Sekreterare Per",
        "ks@liten.se",
    )
    assert parsed.delivery == DeliverySettings(
        sender="Liten kommun <synpunkter@liten.se>",
        reply_to="synpunkter@liten.se",
        mode="direkt",
        letter_notifier="utskrift",
        folder="/var/spool/klagomal",
        max_attempts=5,
        smtp=SmtpSettings("smtp.liten.se", 465, "ssl", "klagomal", "LITEN_SMTP", 10.0),
    )
    assert parsed.delivery.notifier_for_email == "smtp"  # a server is named


def test_the_password_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    smtp = SmtpSettings(host="smtp.liten.se", password_variable="LITEN_SMTP")
    monkeypatch.delenv("LITEN_SMTP", raising=False)
    assert smtp.password() is None
    monkeypatch.setenv("LITEN_SMTP", "hemligt")
    assert smtp.password() == "hemligt"


@pytest.mark.parametrize(
    ("rest", "message"),
    [
        (
            "[utskick]\nserver = 'x'",
            "[utskick]: okänd nyckel 'server' (tillåtna nycklar: avsandare, brev, epost",
        ),
        (
            "[utskick]\nleverans = 'genast'",
            "[utskick]: 'leverans' ska vara kommando eller direkt, inte 'genast'",
        ),
        (
            "[utskick]\navsandare = 'Liten kommun'",
            "[utskick]: 'avsandare' är ingen e-postadress: 'Liten kommun'",
        ),
        ("[utskick]\nmax_forsok = 0", "[utskick]: 'max_forsok' ska vara ett tal från 1 till 100, inte 0"),
        ("[utskick.smtp]\nport = 'tjugofem'", "[utskick.smtp]: 'port' ska vara ett tal från 1 till 65535"),
        ("[utskick.smtp]\nport = 25.5", "[utskick.smtp]: 'port' ska vara ett heltal"),
        (
            "[utskick.smtp]\nsakerhet = 'tls'",
            "[utskick.smtp]: 'sakerhet' ska vara starttls, ssl, ingen, inte 'tls'",
        ),
        ("[utskick.smtp]\nvard = ''", "[utskick.smtp]: 'vard' är tom"),
    ],
)
def test_a_bad_setting_is_refused_at_start_up_naming_it(rest: str, message: str) -> None:
    with pytest.raises(OrganisationError) as error:
        org(rest=rest)
    assert str(error.value).startswith("kommun.toml: ")
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("kommun", "forvaltning", "message"),
    [
        ("logotyp = 3", "", "[kommun]: 'logotyp' ska vara en text inom citattecken, inte 3"),
        ("fax = '0111'", "", "[kommun]: okänd nyckel 'fax'"),
        ("", "namnd_epost = 'ks at liten.se'", "'namnd_epost' är ingen e-postadress: 'ks at liten.se'"),
    ],
)
def test_a_bad_letterhead_or_address_is_refused(kommun: str, forvaltning: str, message: str) -> None:
    with pytest.raises(OrganisationError) as error:
        org(kommun=kommun, forvaltning=forvaltning)
    assert message in str(error.value)


def test_utskick_must_be_a_table() -> None:
    with pytest.raises(OrganisationError) as error:
        org(top="utskick = 3")
    assert str(error.value) == "kommun.toml: [utskick] ska vara en tabell"


def test_exempelkommun_has_a_letterhead_and_a_sender() -> None:
    example = default_organisation()
    assert example.profile.logo_text == "EXEMPELKOMMUN"
    assert example.delivery.sender == "Exempelkommun <synpunkter@exempelkommun.se>"
    # Every nämnd's secretary can be reached (R21).
    assert all(d.board_email for d in example.departments.values())


def test_the_receiving_unit_must_exist() -> None:
    parsed = org(rest='[intag]\nenhet = "klf"\ntyp = "klagomal"')
    assert (parsed.intake.unit, parsed.intake.kind) == ("klf", "klagomal")
    with pytest.raises(OrganisationError) as error:
        org(rest='[intag]\nenhet = "kontaktcenter"')
    assert str(error.value) == "kommun.toml: [intag]: enheten 'kontaktcenter' finns inte i organisationen"
    with pytest.raises(OrganisationError) as error:
        org(rest='[intag]\ntyp = "fraga"')
    assert "[intag]: 'typ' ska vara klagomal, forslag eller berom, inte 'fraga'" in str(error.value)


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_of_feedback_is_a_typ_of_intake_and_of_an_open311_service(kind: Kind) -> None:
    """The two tables that take a ``typ`` read the kinds from :class:`Kind`,
    so a kind added there is accepted in both, and named in their refusal."""
    assert org(rest=f'[intag]\ntyp = "{kind.value}"').intake.kind == kind.value
    service = org(rest=f'[[open311.tjanst]]\nkod = "a"\nnamn = "A"\ntyp = "{kind.value}"').open311[0]
    assert service.kind == kind.value
    for table in ('[intag]\ntyp = "fraga"', '[[open311.tjanst]]\nkod = "a"\nnamn = "A"\ntyp = "fraga"'):
        with pytest.raises(OrganisationError) as error:
            org(rest=table)
        assert f"'{kind.value}" in str(error.value) or f" {kind.value}" in str(error.value)


def test_the_second_half_year_and_the_threshold() -> None:
    parsed = org(rest='[rapporter]\nhalvar2 = "09-01"\nundertryck_under = 5')
    assert (parsed.reports.second_half, parsed.reports.threshold) == ((9, 1), 5)
    assert org().reports.second_half == (7, 1)
    # A threshold below 3 would protect nobody: "<2" can only be 1.
    for low in (1, 2):
        with pytest.raises(OrganisationError, match="undertryck_under"):
            org(rest=f"[rapporter]\nundertryck_under = {low}")
    for bad in ('"13-01"', '"02-30"', '"01-01"', '"sept"'):
        with pytest.raises(OrganisationError) as error:
            org(rest=f"[rapporter]\nhalvar2 = {bad}")
        assert "[rapporter]: 'halvar2' ska vara en dag i formen MM-DD" in str(error.value)

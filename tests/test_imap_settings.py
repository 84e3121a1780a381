"""``[[intag.imap]]`` of the organisation file (klagomal.core.settings):
every key is read, and every wrong value of every key is refused at
start-up with a Swedish message naming the table and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from klagomal.core.errors import OrganisationError
from klagomal.core.organisation import Organisation, parse_organisation
from klagomal.core.settings import IMAP_KEYS, ImapMailbox, is_loopback

ROOT = Path(__file__).resolve().parent.parent
EXEMPELKOMMUN = (ROOT / "src" / "klagomal" / "data" / "exempelkommun.toml").read_text(encoding="utf-8")
REQUIRED = 'namn = "synpunkter"\nvard = "imap.exempelkommun.se"\nanvandare = "synpunkter@exempelkommun.se"\n'


def org(*tables: str) -> Organisation:
    return parse_organisation(
        EXEMPELKOMMUN + "".join(f"\n[[intag.imap]]\n{t}" for t in tables), "kommun.toml"
    )


def refused(*tables: str) -> str:
    with pytest.raises(OrganisationError) as error:
        org(*tables)
    message = str(error.value)
    assert message.startswith("kommun.toml: ")
    return message.removeprefix("kommun.toml: ")


def test_without_the_table_there_is_no_mailbox() -> None:
    assert parse_organisation(EXEMPELKOMMUN).intake.imap == ()


def test_the_defaults() -> None:
    [mailbox] = org(REQUIRED).intake.imap
    assert mailbox == ImapMailbox(
        name="synpunkter",
        host="imap.exempelkommun.se",
        user="synpunkter@exempelkommun.se",
        port=993,
        security="ssl",
        login="losenord",
        password_variable="KLAGOMAL_IMAP_LOSENORD",
        token_variable=None,
        token_command=None,
        folder="INBOX",
        done_folder="Hanterade",
        timeout=30.0,
    )
    [starttls] = org(REQUIRED + 'sakerhet = "starttls"').intake.imap
    assert starttls.port == 143
    [oauth2] = org(REQUIRED + 'inloggning = "oauth2"').intake.imap
    assert (oauth2.token_variable, oauth2.token_command) == ("KLAGOMAL_IMAP_TOKEN", None)


def test_every_key_is_read_and_there_may_be_several_mailboxes() -> None:
    first, second = org(
        REQUIRED + 'port = 1993\nsakerhet = "ssl"\nlosenord_miljovariabel = "SYNPUNKTER_LOSENORD"\n'
        'mapp = "Inkorg/Klagomål"\nklar_mapp = "Klara"\ntidsgrans = 12.5\ninloggning = "losenord"\n',
        'namn = "skolan"\nvard = "outlook.office365.com"\nanvandare = "skola@exempelkommun.se"\n'
        'inloggning = "oauth2"\ntoken_kommando = "/usr/local/bin/imap-token \'skolan\'"\n',
        'namn = "lokal"\nvard = "127.0.0.1"\nanvandare = "lokal"\nsakerhet = "ingen"\n'
        'inloggning = "oauth2"\ntoken_miljovariabel = "LOKAL_TOKEN"\n',
    ).intake.imap[:2]
    assert first == ImapMailbox(
        "synpunkter",
        "imap.exempelkommun.se",
        "synpunkter@exempelkommun.se",
        1993,
        "ssl",
        "losenord",
        "SYNPUNKTER_LOSENORD",
        None,
        None,
        "Inkorg/Klagomål",
        "Klara",
        12.5,
    )
    assert (second.name, second.login, second.token_command, second.token_variable) == (
        "skolan",
        "oauth2",
        "/usr/local/bin/imap-token 'skolan'",
        None,
    )
    assert [m.name for m in org(REQUIRED, REQUIRED.replace("synpunkter", "andra", 1)).intake.imap] == [
        "synpunkter",
        "andra",
    ]
    parsed = org(REQUIRED)
    assert parsed.intake.mailbox("synpunkter") is parsed.intake.imap[0]
    assert parsed.intake.mailbox("andra") is None


def test_the_password_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    [mailbox] = org(REQUIRED + 'losenord_miljovariabel = "SYNPUNKTER_LOSENORD"').intake.imap
    monkeypatch.delenv("SYNPUNKTER_LOSENORD", raising=False)
    assert mailbox.password() is None
    monkeypatch.setenv("SYNPUNKTER_LOSENORD", "hemligt")
    assert mailbox.password() == "hemligt"


W = "[[intag.imap]] 'synpunkter'"

#: For every key of the table, wrong values and the start of the refusal.
BAD_VALUES: dict[str, list[tuple[str, str]]] = {
    "namn": [
        ("namn = 3", "[[intag.imap]] nr 1: 'namn' ska vara en text inom citattecken, inte 3"),
        ('namn = ""', "[[intag.imap]] nr 1: 'namn' är tom"),
        (
            'namn = "Syn punkter"',
            "[[intag.imap]] nr 1: 'namn' 'Syn punkter' ska bestå av bokstäverna a–z och A–Z, siffror, "
            "'.', '-' och '_' (högst 63 tecken)",
        ),
        ("", "[[intag.imap]] nr 1: obligatorisk nyckel 'namn' saknas"),
    ],
    "vard": [
        ('vard = ["a"]', f"{W}: 'vard' ska vara en text inom citattecken, inte ['a']"),
        (
            'vard = "imap.exempelkommun.se/inkorg"',
            f"{W}: 'vard' 'imap.exempelkommun.se/inkorg' är inget värdnamn",
        ),
        ("", f"{W}: obligatorisk nyckel 'vard' saknas"),
    ],
    "anvandare": [
        ("anvandare = 1", f"{W}: 'anvandare' ska vara en text inom citattecken, inte 1"),
        ("", f"{W}: obligatorisk nyckel 'anvandare' saknas"),
    ],
    "port": [
        ("port = 0", f"{W}: 'port' ska vara ett tal från 1 till 65535, inte 0"),
        ('port = "993"', f"{W}: 'port' ska vara ett tal från 1 till 65535, inte '993'"),
        ("port = 993.5", f"{W}: 'port' ska vara ett heltal"),
    ],
    "sakerhet": [
        ('sakerhet = "tls"', f"{W}: 'sakerhet' ska vara ssl, starttls, ingen, inte 'tls'"),
        (
            'sakerhet = "ingen"',
            f"{W}: 'sakerhet' = 'ingen' skickar lösenordet och meddelandena okrypterade; det går bara "
            "till en server på samma dator (localhost, 127.0.0.1), inte till 'imap.exempelkommun.se'",
        ),
    ],
    "inloggning": [
        ('inloggning = "xoauth2"', f"{W}: 'inloggning' ska vara losenord eller oauth2, inte 'xoauth2'"),
    ],
    "losenord_miljovariabel": [
        (
            'losenord_miljovariabel = "hemligt lösenord"',
            f"{W}: 'losenord_miljovariabel' ska vara namnet på en miljövariabel",
        ),
        (
            'inloggning = "oauth2"\nlosenord_miljovariabel = "LOSENORD"',
            f"{W}: 'losenord_miljovariabel' gäller bara inloggning = 'losenord'",
        ),
    ],
    "token_miljovariabel": [
        (
            'inloggning = "oauth2"\ntoken_miljovariabel = "$TOKEN"',
            f"{W}: 'token_miljovariabel' ska vara namnet på en miljövariabel",
        ),
        ('token_miljovariabel = "TOKEN"', f"{W}: 'token_miljovariabel' gäller bara inloggning = 'oauth2'"),
        (
            'inloggning = "oauth2"\ntoken_miljovariabel = "TOKEN"\ntoken_kommando = "hamta-token"',
            f"{W}: ange antingen 'token_miljovariabel' eller 'token_kommando', inte båda",
        ),
    ],
    "token_kommando": [
        (
            'inloggning = "oauth2"\ntoken_kommando = "hamta-token \'skolan"',
            f"{W}: 'token_kommando' går inte att dela upp i ord: No closing quotation",
        ),
        ('token_kommando = "hamta-token"', f"{W}: 'token_kommando' gäller bara inloggning = 'oauth2'"),
        (
            'inloggning = "oauth2"\ntoken_kommando = 7',
            f"{W}: 'token_kommando' ska vara en text inom citattecken",
        ),
    ],
    "mapp": [
        ('mapp = "In\\tkorg"', f"{W}: 'mapp' ska vara ett mappnamn på en rad, högst 200 tecken"),
        ('mapp = ""', f"{W}: 'mapp' är tom"),
    ],
    "klar_mapp": [
        ('klar_mapp = "Kla\\nra"', f"{W}: 'klar_mapp' ska vara ett mappnamn på en rad"),
        (f'klar_mapp = "{"K" * 201}"', f"{W}: 'klar_mapp' ska vara ett mappnamn på en rad, högst 200 tecken"),
        (
            'klar_mapp = "inbox"',
            f"{W}: 'klar_mapp' får inte vara samma mapp som 'mapp' ('INBOX'): dit flyttas meddelandena när "
            "de är sparade",
        ),
        (
            'mapp = "Klagomål"\nklar_mapp = "Klagomål"',
            f"{W}: 'klar_mapp' får inte vara samma mapp som 'mapp'",
        ),
    ],
    "tidsgrans": [
        ("tidsgrans = 0", f"{W}: 'tidsgrans' ska vara ett tal från 1 till 600, inte 0"),
        ("tidsgrans = 601", f"{W}: 'tidsgrans' ska vara ett tal från 1 till 600, inte 601"),
        ("tidsgrans = true", f"{W}: 'tidsgrans' ska vara ett tal från 1 till 600, inte True"),
    ],
}


def test_every_key_has_its_wrong_values_tested() -> None:
    """The keys are read from the parser's own list: a key added there without
    a test of its wrong values fails here."""
    assert sorted(BAD_VALUES) == sorted(IMAP_KEYS)


@pytest.mark.parametrize(
    ("key", "line", "message"),
    [(key, line, message) for key, cases in BAD_VALUES.items() for line, message in cases],
)
def test_a_wrong_value_is_refused_naming_the_table_and_the_key(key: str, line: str, message: str) -> None:
    # The required keys, but those the case leaves out or sets itself, then the case's lines.
    set_here = {part.split(" =", 1)[0] for part in line.splitlines()}
    required = "".join(
        f"{part}\n"
        for part in REQUIRED.splitlines()
        if part.split(" =", 1)[0] not in set_here and not (line == "" and part.startswith(f"{key} ="))
    )
    text = refused(required + line)
    assert text.startswith(message), text
    assert f"'{key}'" in text


def test_an_unknown_key_and_a_repeated_name_are_refused() -> None:
    assert refused(REQUIRED + 'server = "x"').startswith(
        f"{W}: okänd nyckel 'server' (tillåtna nycklar: anvandare, inloggning, klar_mapp, "
        "losenord_miljovariabel"
    )
    assert (
        refused(REQUIRED, REQUIRED)
        == "[[intag.imap]] nr 2: det finns redan en brevlåda med 'namn' 'synpunkter'"
    )


def test_imap_must_be_a_list_of_tables() -> None:
    text = EXEMPELKOMMUN.replace(
        '[intag]\nenhet = "klf-kontaktcenter"\n', '[intag]\nenhet = "klf-kontaktcenter"\nimap = 3\n'
    )
    with pytest.raises(OrganisationError) as error:
        parse_organisation(text, "kommun.toml")
    assert (
        str(error.value)
        == "kommun.toml: [intag]: 'imap' ska vara en lista av tabeller, skrivna [[intag.imap]]"
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("imap.exempelkommun.se", False),
        ("localhost.exempelkommun.se", False),
    ],
)
def test_plain_text_only_to_this_machine(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_documented_examples_parse_and_the_documented_error_is_the_real_one() -> None:
    """docs/organisation.md's example of [[intag.imap]] and its error message."""
    text = (ROOT / "docs" / "organisation.md").read_text(encoding="utf-8")
    section = text.split("### `[[intag.imap]]` (optional)", 1)[1].split("\n### ", 1)[0]
    [example] = re.findall(r"```toml\n(.*?)```", section, re.DOTALL)
    first, second = parse_organisation(EXEMPELKOMMUN + "\n" + example, "kommun.toml").intake.imap
    assert (first.password_variable, first.done_folder) == ("SYNPUNKTER_LOSENORD", "Registrerade i klagomal")
    assert (second.login, second.token_command, second.port) == (
        "oauth2",
        "/usr/local/bin/imap-token skola",
        993,
    )
    documented = " ".join(section.split("the\nkey, such as `", 1)[1].split("`", 1)[0].split())
    assert refused(REQUIRED + 'sakerhet = "tls"') == documented.removeprefix("kommun.toml: ")


def test_every_key_has_its_row_in_the_documentation() -> None:
    text = (ROOT / "docs" / "organisation.md").read_text(encoding="utf-8")
    section = text.split("### `[[intag.imap]]` (optional)", 1)[1].split("\n### ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE)
    assert rows == list(IMAP_KEYS)

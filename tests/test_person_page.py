"""The person's own page: ``klagomal person export --format html`` (GDPR art. 15).

What a person reads of their data: every part of the article 15
information (the parts enumerated from :data:`klagomal.core.privacy_notice.SECTIONS`),
with a kommun's defaults or the organisation file's ``[dataskydd]`` texts,
bad texts refused in Swedish; the export dated by the facade's clock and
never before the steps it holds; who took each step; notices in words for
every kind and status the outbox knows; contents links that resolve; and
the printed page, in a real browser.  The exports read stored cases, so
they run on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import datetime as dt
import html
import importlib.resources
import re
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from klagomal import FixedClock, Klagomal
from klagomal.cli import main
from klagomal.core.clock import BusinessDate
from klagomal.core.errors import OrganisationError
from klagomal.core.model import Contact
from klagomal.core.organisation import Organisation, parse_organisation
from klagomal.core.privacy_notice import SECTIONS, default_texts, section_heading
from klagomal.notices.notifiers import EMAIL, LETTER, TASK
from klagomal.notices.outbox import CITIZEN_KINDS, STAFF_KINDS, STATUSES
from klagomal.records.gdpr import PersonQuery, render_html
from klagomal.records.person_page import INFORMATION_ID, case_anchor, notice_line

UNIT = "soc-aldre-hemtjanst-norr"
EVA = Contact(name="Eva Lund", email="eva.lund@example.se")
QUERY = PersonQuery(email=EVA.email)


def example_text() -> str:
    return (importlib.resources.files("klagomal") / "data" / "exempelkommun.toml").read_text(encoding="utf-8")


def without_privacy_section(text: str) -> str:
    """The example file with its ``[dataskydd]`` table taken out."""
    start = text.index("[dataskydd]")
    end = text.index("\n#", start)
    return text[:start] + text[end:]


def own_texts() -> str:
    """A ``[dataskydd]`` table that gives every part its own text."""
    lines = ["[dataskydd]"]
    lines += [f'{key} = ["Egen text om {key}, enligt artikel 6.1 e; klaga hos IMY."]' for key in SECTIONS]
    return "\n".join(lines) + "\n"


@pytest.fixture
def k(any_db_url: str, clock: FixedClock) -> Iterator[Klagomal]:
    with Klagomal(any_db_url, clock=clock, load_entrypoints=False, user="system") as instance:
        instance.init()
        yield instance


def _open(url: str, organisation: Organisation, clock: Any, user: str = "system") -> Klagomal:
    return Klagomal(url, organisation=organisation, clock=clock, load_entrypoints=False, user=user)


class _Page(HTMLParser):
    """The ids, the in-page links, the parts and the steps' actors of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.links: list[str] = []
        self.actors: list[str] = []
        self._actor = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if tag == "a" and (found.get("href") or "").startswith("#"):
            self.links.append(str(found["href"])[1:])
        self._actor = tag == "span" and found.get("class") == "actor"

    def handle_data(self, data: str) -> None:
        if self._actor:
            self.actors.append(data.strip().removeprefix("(").removesuffix(")"))
            self._actor = False


def parsed(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def _part(page: str, key: str) -> str:
    """The HTML of the art. 15 part *key*."""
    match = re.search(rf'<section id="{key}">(.*?)</section>', page, re.DOTALL)
    assert match, f"part {key} is missing"
    return html.unescape(match.group(1))


# -- the art. 15 information --------------------------------------------------


def test_every_art15_part_has_the_kommuns_defaults_without_a_section(
    any_db_url: str, clock: FixedClock
) -> None:
    organisation = parse_organisation(without_privacy_section(example_text()))
    assert organisation.privacy.given == {}
    with _open(any_db_url, organisation, clock) as k:
        k.init()
        k.register(kind="klagomal", channel="telefon", unit=UNIT, text="Ingen kom.", contact=EVA)
        page = render_html(k.person_export(QUERY))
    defaults = default_texts(organisation.name, organisation.profile)
    for key in SECTIONS:
        part = _part(page, key)
        assert section_heading(key) in part
        for text in defaults[key]:
            assert text in part, (key, text)
    # A kommun's legal basis: the public task, with förvaltningslagen's service duty; not consent.
    basis = _part(page, "rattslig_grund")
    assert "artikel 6.1 e" in basis
    assert "6 § förvaltningslagen" in basis
    assert "6.1 a" not in basis
    assert "Integritetsskyddsmyndigheten (IMY)" in _part(page, "klagomal")
    # What this person's cases are kept for, from the kommun's (absent) disposal rules.
    assert "har inte beslutat om gallring" in _part(page, "lagring")
    assert "Socialnämnden: 2026-00001" in _part(page, "personuppgiftsansvarig")


def test_every_art15_part_takes_the_files_text(any_db_url: str, clock: FixedClock) -> None:
    text = without_privacy_section(example_text()) + "\n" + own_texts()
    text += '\n[[gallring]]\nid = "kontakt-24"\nbeslut = "KS 2025-11-12 § 45"\n'
    text += 'atgard = "pseudonymisera_kontakt"\nefter_manader = 24\ntyper = ["klagomal"]\n'
    organisation = parse_organisation(text)
    with _open(any_db_url, organisation, clock) as k:
        k.init()
        k.register(kind="klagomal", channel="telefon", unit=UNIT, text="Ingen kom.", contact=EVA)
        exported = k.person_export(QUERY)
    page = render_html(exported)
    defaults = default_texts(organisation.name, organisation.profile)
    for key in SECTIONS:
        part = _part(page, key)
        assert f"Egen text om {key}" in part
        assert defaults[key][0] not in part, key
    # How long: the kommun's gallring decision, in words.
    assert (
        "Klagomål: kontaktuppgifterna tas bort 24 månader efter att ärendet avslutades "
        "(beslut KS 2025-11-12 § 45)." in _part(page, "lagring")
    )
    assert [part["id"] for part in exported["information"]] == list(SECTIONS)


def test_the_example_kommun_has_its_own_art15_texts() -> None:
    organisation = parse_organisation(example_text())
    assert set(organisation.privacy.given) <= set(SECTIONS)
    assert organisation.privacy.given, "exempelkommun.toml has a [dataskydd] section"


MINIMAL = """
[kommun]
id = "liten"
namn = "Lilla kommun"
systemagare = "klf"

[[forvaltning]]
id = "klf"
namn = "Kommunledningsförvaltningen"
chef = "Kommundirektör Kim Ek"
namnd = "Kommunstyrelsen"
"""


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("[dataskydd]\nandamal = 12", "'andamal' ska vara en text eller en lista av texter"),
        ('[dataskydd]\nandamal = ""', "'andamal' innehåller en tom text"),
        ("[dataskydd]\nandamal = []", "'andamal' är en tom lista"),
        (
            '[dataskydd]\nmottagare = ["personalen", 3]',
            "'mottagare' ska vara en text eller en lista av texter",
        ),
        ('[dataskydd]\nandamaal = "x"', "okänd nyckel 'andamaal'"),
        ('[dataskydd]\nrattslig_grund = "Samtycke, artikel 6.1 a."', "anger samtycke (artikel 6.1 a)"),
        ('[dataskydd]\nrattslig_grund = "Allmänt intresse."', "ska ange artikeln i dataskyddsförordningen"),
        ('[dataskydd]\nklagomal = "Klaga hos kommunen."', "Integritetsskyddsmyndigheten (IMY)"),
        ('dataskydd = "ja"', "[dataskydd] ska vara en tabell"),
    ],
)
def test_a_bad_art15_text_is_refused_in_swedish(table: str, expected: str) -> None:
    with pytest.raises(OrganisationError) as refused:
        parse_organisation(
            table + "\n" + MINIMAL if table.startswith("dataskydd") else MINIMAL + table, "kommun.toml"
        )
    message = str(refused.value)
    assert message.startswith("kommun.toml: ")
    assert "dataskydd" in message
    assert expected in message


# -- the export's date ---------------------------------------------------------


def _days(exported: dict[str, Any]) -> list[dt.date]:
    """Every date the export holds: steps, notices sent, e-mails received."""
    days = [dt.date.fromisoformat(e["day"]) for c in exported["cases"] for e in c["events"]]
    days += [
        dt.datetime.fromisoformat(n["sent_at"]).date()
        for c in exported["cases"]
        for n in c["notices"]
        if n["sent_at"]
    ]
    days += [
        dt.datetime.fromisoformat(m["received_at"]).date() for c in exported["cases"] for m in c["messages"]
    ]
    return days


def test_the_export_is_never_dated_before_the_steps_it_holds(any_db_url: str, clock: FixedClock) -> None:
    """A system owner's business date set back (``--today``) dates steps,
    not the export: the export is made today, after today's steps."""
    with _open(any_db_url, parse_organisation(example_text()), clock) as k:
        k.init()
        case = k.register(kind="klagomal", channel="telefon", unit=UNIT, text="Ingen kom.", contact=EVA)
        clock.set(dt.date(2026, 3, 6))
        k.acknowledge(case.reference, "omar.ali")
        k.deliver()
    set_back = BusinessDate(dt.date(2026, 3, 4), real=clock)
    with _open(any_db_url, parse_organisation(example_text()), set_back, user="nora.lind") as k:
        exported = k.person_export(QUERY)
    made = dt.date.fromisoformat(exported["made"])
    assert made == dt.date(2026, 3, 6)
    assert all(day <= made for day in _days(exported)), (made, _days(exported))
    page = render_html(exported)
    assert "Utdraget gjordes 6 mars 2026." in page
    assert "daterade efter den dag utdraget gjordes" not in page


def test_steps_dated_after_the_export_are_said_to_be(any_db_url: str, clock: FixedClock) -> None:
    """Data dated ahead of the clock (the demo simulates a whole year) is
    shown, and the page says that it is dated after the export."""
    with _open(any_db_url, parse_organisation(example_text()), clock) as k:
        k.init()
        case = k.register(kind="klagomal", channel="telefon", unit=UNIT, text="Ingen kom.", contact=EVA)
        clock.set(dt.date(2026, 3, 20))
        k.acknowledge(case.reference, "omar.ali")
        clock.set(dt.date(2026, 3, 10))
        page = render_html(k.person_export(QUERY))
    assert "Utdraget gjordes 10 mars 2026." in page
    assert "daterade efter den dag utdraget gjordes, den sista 20 mars 2026" in page


# -- who took each step ----------------------------------------------------------


def _cases_of_eva(k: Klagomal, clock: FixedClock) -> list[str]:
    """Eva's cases: steps taken by named users, by klagomal itself, by the
    web form, and a flag for threatening treatment."""
    first = k.as_user("nora.lind").register(
        kind="klagomal", channel="telefon", unit=UNIT, text="Hemtjänsten kom inte.", contact=EVA
    )
    clock.advance(1)
    k.as_user("omar.ali").acknowledge(first.reference, "omar.ali")
    k.inform(first.reference, "Vi utreder fortfarande.")  # as klagomal itself (system)
    k.as_user("omar.ali").flag_threat(
        first.reference, "krankande", about="arende", reason="Svor åt personalen."
    )
    second = k.register(
        kind="forslag",
        channel="webbformular",
        unit=UNIT,
        text="Fler bänkar.",
        contact=EVA,
        actor="webbformular",
    )
    k.deliver()
    return [first.reference, second.reference]


def test_every_step_names_who_took_it(any_db_url: str, clock: FixedClock) -> None:
    with _open(any_db_url, parse_organisation(example_text()), clock) as k:
        k.init()
        references = _cases_of_eva(k, clock)
        exported = k.person_export(QUERY)
    page = render_html(exported)
    assert "(system)" not in page
    assert ">system<" not in page
    by_step = {(c["reference"], e["label"]): e["actor_name"] for c in exported["cases"] for e in c["events"]}
    first, second = references
    assert by_step[(first, "Registrerat")] == "Systemförvaltare Nora Lind"
    assert by_step[(first, "Besked givet")] == "Omar Ali"
    # klagomal acted as itself: the handler responsible for the case at that step.
    assert by_step[(first, "Information lämnad")] == "Omar Ali"
    # Who flagged the person is never named to them: the unit stands in.
    flagged = [
        e
        for c in exported["cases"]
        for e in c["events"]
        if e["actor"] == "omar.ali" and "Flagg" in e["label"]
    ]
    assert flagged
    assert {e["actor_name"] for e in flagged} == {"Hemtjänst Norr"}
    assert by_step[(second, "Registrerat")] == "du, via webbformulär"
    actors = parsed(page).actors
    assert len(actors) == sum(len(c["events"]) for c in exported["cases"])
    assert all(actors), actors


# -- notices in words -------------------------------------------------------------

#: Every kind of notice the outbox knows, and how each may go.
KINDS = (*CITIZEN_KINDS, *STAFF_KINDS)
WAYS = (EMAIL, LETTER, TASK, None)


def _raw_codes(line: str, kind: str, status: str) -> list[str]:
    """The codes of a notice that *line* shows as they are stored."""
    found = [code for code in (kind, status) if re.search(rf"(?<![\wåäö]){re.escape(code)}(?![\wåäö])", line)]
    found += re.findall(r"\d{4}-\d{2}-\d{2}(?:T[\d:.]+)?", line)
    return found + (["_"] if "_" in line else [])


@given(
    kind=st.sampled_from(KINDS),
    status=st.sampled_from(STATUSES),
    way=st.sampled_from(WAYS),
    recipient=st.sampled_from(("person", "chef", "forvaltningschef", "namnd", "handlaggare", "personal-1")),
    sent=st.one_of(
        st.none(), st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 12, 31))
    ),
)
def test_a_notice_is_told_in_words(
    kind: str, status: str, way: str | None, recipient: str, sent: dt.datetime | None
) -> None:
    notice = {
        "kind": kind,
        "recipient": recipient,
        "status": status,
        "code": status,
        "way": way,
        "address": "eva@example.se" if recipient == "person" else None,
        "sent_at": sent.isoformat() if sent else None,
    }
    line = notice_line(notice)
    assert not _raw_codes(line, kind, status), line
    assert line.endswith("."), line
    assert "Meddelande (" not in line, line
    if status == "sent" and sent is not None:
        assert f"{sent.day} " in line
        assert str(sent.year) in line


@pytest.mark.parametrize("kind", KINDS)
def test_every_notice_kind_has_its_own_words(kind: str) -> None:
    line = notice_line(
        {"kind": kind, "recipient": "person", "code": "sent", "way": EMAIL, "sent_at": "2026-01-27T12:00:00"}
    )
    assert line.endswith("skickat med e-post 27 januari 2026."), line
    assert kind + ":" not in line
    assert "Meddelande (" not in line


def test_the_page_shows_no_raw_notice_codes(any_db_url: str, clock: FixedClock) -> None:
    with _open(any_db_url, parse_organisation(example_text()), clock) as k:
        k.init()
        _cases_of_eva(k, clock)
        exported = k.person_export(QUERY)
    page = html.unescape(render_html(exported))
    notices = [n for c in exported["cases"] for n in c["notices"]]
    assert {n["kind"] for n in notices} >= {"besked", "information"}
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", page)
    for n in notices:
        assert f"{n['kind']}: " not in page
    assert (
        "Besked om vem som handlägger ärendet skickat med e-post till eva.lund@example.se 3 mars 2026."
        in page
    )


# -- contents ---------------------------------------------------------------------


def test_the_contents_link_to_every_case_and_every_link_resolves(any_db_url: str, clock: FixedClock) -> None:
    with _open(any_db_url, parse_organisation(example_text()), clock) as k:
        k.init()
        references = _cases_of_eva(k, clock)
        exported = k.person_export(QUERY)
    page = parsed(render_html(exported))
    assert len(page.ids) == len(set(page.ids)), "ids are unique"
    assert page.links
    assert set(page.links) <= set(page.ids)
    assert {case_anchor(r) for r in references} | {INFORMATION_ID} <= set(page.links)
    assert set(SECTIONS) <= set(page.ids)


def test_the_summary_counts_the_cases_their_kinds_and_period(any_db_url: str, clock: FixedClock) -> None:
    with _open(any_db_url, parse_organisation(example_text()), clock) as k:
        k.init()
        _cases_of_eva(k, clock)
        page = html.unescape(render_html(k.person_export(QUERY)))
    assert "Du har 2 ärenden hos Exempelkommun: 1 klagomål och 1 förslag." in page
    assert "De kom in mellan 2 mars 2026 och 3 mars 2026." in page
    assert "kontaktuppgifter (namn, e-post)" in page


# -- the command and the printed page ----------------------------------------------


def test_the_command_writes_the_page(
    tmp_path: Path, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    with _open(url, parse_organisation(example_text()), clock) as k:
        k.init()
        _cases_of_eva(k, clock)
    out = tmp_path / "eva.html"
    args = ["--db", url, "--user", "nora.lind", "person", "export", "--email", str(EVA.email)]
    assert main([*args, "--format", "html", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "Utdraget gjordes" in page
    assert 'id="om-behandlingen"' in page


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("chromium", "pdftotext", "pdfinfo")),
    reason="needs chromium, and pdftotext and pdfinfo (poppler)",
)
def test_the_printed_page_is_a4_with_page_numbers_and_each_case_on_its_own_page(
    tmp_path: Path, clock: FixedClock
) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    with _open(url, parse_organisation(example_text()), clock) as k:
        k.init()
        references = _cases_of_eva(k, clock)
        exported = k.person_export(QUERY)
    source = tmp_path / "eva.html"
    source.write_text(render_html(exported), encoding="utf-8")
    pdf = tmp_path / "eva.pdf"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            source.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
    pages = [p for p in pages if p.strip()]
    total = len(pages)
    assert total >= len(references) + 1
    for number, page in enumerate(pages, 1):
        assert f"Sida {number} av {total}" in page, number
        assert "Dina uppgifter hos Exempelkommun, utdrag 3 mars 2026" in page
        assert "Tillbaka till innehållet" not in page
    # Each case begins a page: its heading is the first line under the running head.
    first_lines = [next(line for line in p.splitlines()[1:] if line.strip()).strip() for p in pages]
    for reference in references:
        assert any(line.startswith(f"Ärende {reference}:") for line in first_lines), (reference, first_lines)
    size = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"Page size:.* pts \(A4\)", size), size

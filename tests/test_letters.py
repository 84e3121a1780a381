"""The notices, rendered for real in plain text and in HTML (R7, R9, R11, R13,
R3, R20–R23, R25, R27).

Cases are built through the real API on a SQLite file with a fixed clock;
the templates are the built-in ones or real folders added through the
``klagomal_template_dirs`` hook.  Nothing is mocked.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import re
from collections.abc import Iterator

import attrs
import pytest

from klagomal import ConfigurationError, FixedClock, Klagomal
from klagomal.cases.lifecycle import replay
from klagomal.core.events import APPEAL, FAULT_REPORT, Event, Guided
from klagomal.core.formats import name_and_title
from klagomal.core.model import Case, Contact
from klagomal.core.organisation import Organisation, default_organisation
from klagomal.core.settings import KommunProfile
from klagomal.deadlines.policies import DeadlinePolicy
from klagomal.intake import webform
from klagomal.notices.letters import (
    BUILTIN_TEMPLATES,
    CITIZEN_NOTICES,
    STAFF_NOTICES,
    Letter,
    Letters,
    join_names,
    paragraphs,
    subject,
)
from klagomal.notices.notifiers import Recipient
from klagomal.notices.outbox import resolve_recipient
from klagomal.notices.reminders import owed_reminder, staff_message
from klagomal.testing import plugin

UNIT = "soc-aldre-hemtjanst-norr"
SCHOOL = "bou-grundskola-norrskolan"
ASA = Contact(name="Åsa Öberg", email="asa@example.se", address="Storgatan 1\n123 45 Exempelstad")
NASTY = "Personalen skrev <script>alert(1)</script> & gick."
NASTY_NAME = "Åsa <b>Öberg</b> & Co"


def make(
    tmp_path: pathlib.Path, clock: FixedClock, *plugins: object, organisation: Organisation | None = None
) -> Klagomal:
    """A Klagomal on a new SQLite file in *tmp_path*, with *plugins*."""
    number = len(list(tmp_path.glob("k-*.db")))
    k = Klagomal(
        f"sqlite:///{tmp_path}/k-{number}.db",
        clock=clock,
        organisation=organisation,
        plugins=plugins,
        load_entrypoints=False,
    )
    k.init()
    return k


@pytest.fixture
def k(tmp_path: pathlib.Path, clock: FixedClock) -> Iterator[Klagomal]:
    instance = make(tmp_path, clock)
    yield instance
    instance.dispose()


def register(k: Klagomal, **overrides: object) -> Case:
    args: dict[str, object] = {
        "kind": "klagomal",
        "channel": "telefon",
        "unit": UNIT,
        "text": "Hemtjänsten kom inte på tisdagen, och ingen hörde av sig.",
        "contact": ASA,
    }
    args.update(overrides)
    return k.register(**args)  # type: ignore[arg-type]


def folder_plugin(folder: pathlib.Path) -> object:
    return plugin("kommunens-brev", klagomal_template_dirs=lambda: [folder])


def write(folder: pathlib.Path, name: str, text: str) -> pathlib.Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def html_text(html: str) -> str:
    """The visible words of an HTML letter, tags removed and spaces collapsed,
    entities left as they are (so that escaping stays visible)."""
    body = re.sub(r"</?(?:strong|em|a|span)\b[^>]*>", "", html.split("<body>", 1)[1])
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def builtin(name: str) -> str:
    return str(BUILTIN_TEMPLATES / name)


def check_html_document(letter: Letter) -> None:
    """What every HTML letter is: a whole, self-contained, printable document
    with the kommun's letterhead and the reference."""
    html = letter.html
    assert html.startswith('<!DOCTYPE html>\n<html lang="sv">')
    assert html.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in html
    assert f"<title>{letter.subject}</title>" in html
    assert "@media print" in html
    assert "@page { size: A4;" in html
    assert '<td class="logotyp">EXEMPELKOMMUN</td>' in html
    assert f"Ärende {letter.reference}" in html
    # Self-contained: no external style sheets, scripts, images or fonts.
    for external in ("<link", "<script", "<img", "@import", "url(", "src="):
        assert external not in html, external
    assert "{{" not in html
    assert "{%" not in html


# -- the citizen's notices ----------------------------------------------------------------------


def test_every_citizen_notice_of_a_case_renders_in_text_and_html(k: Klagomal, clock: FixedClock) -> None:
    # R7, R9, R11, R13: besked, information, new date, missing details, resumed, answer.
    ref = register(k).reference
    clock.set(dt.date(2026, 3, 3))
    k.acknowledge(ref, "Handläggare Hanna Ek", dt.date(2026, 3, 20))
    clock.set(dt.date(2026, 3, 5))
    k.inform(ref, "Vi har pratat med personalen.\nNu går vi igenom schemat.")
    clock.set(dt.date(2026, 3, 10))
    k.postpone(ref, dt.date(2026, 4, 3), "Vi väntar på ett yttrande från utföraren.")
    clock.set(dt.date(2026, 3, 11))
    k.pause(ref, "Vilken dag uteblev besöket?")
    clock.set(dt.date(2026, 3, 13))
    k.resume(ref)
    resumed_by = k.get(ref).respond_by
    assert resumed_by is not None
    clock.set(dt.date(2026, 3, 16))
    k.answer(ref, "skriftligt", "Vi ber om ursäkt. Besöket har lagts in i schemat igen.")

    letters = {kind: k.letter(ref, seq) for seq, kind in k.notices(ref)}
    assert list(letters) == ["besked", "information", "forsening", "komplettering", "aterupptaget", "svar"]
    for kind, letter in letters.items():
        assert letter.kind == kind
        assert letter.template == builtin(f"{kind}.txt")
        assert letter.html_template == builtin(f"{kind}.html")
        assert letter.text.startswith("Hej Åsa Öberg!\n\n")
        assert "<p>Hej Åsa Öberg!</p>" in letter.html
        assert letter.text.endswith(f"Ange ärendenummer {ref} när du kontaktar oss.\n")
        assert ref in letter.subject
        check_html_document(letter)
        # The handler signs, with the unit and its mailbox.
        for html_or_text in (letter.text, html_text(letter.html)):
            assert "Med vänlig hälsning" in html_or_text
            assert "Hemtjänst Norr, Socialförvaltningen" in html_or_text
            assert "hemtjanst.norr@exempelkommun.se" in html_or_text

    besked = letters["besked"]
    # R7: who handles it, how to reach them, by when, the reference; R23: thank and apologise.
    assert besked.subject == f"Besked om ditt ärende {ref}"
    assert "Tack för att du har hört av dig till Exempelkommun." in besked.text
    assert "Vi beklagar att det inte har blivit som du förväntade dig." in besked.text
    assert (
        f"Ditt ärende har nummer {ref} och handläggs av Hanna Ek vid Hemtjänst Norr, "
        "Socialförvaltningen.\nDu får svar senast 20 mars 2026." in besked.text
    )
    assert "når du oss på hemtjanst.norr@exempelkommun.se." in besked.text
    visible = html_text(besked.html)
    assert "Handläggare Hanna Ek" in visible
    assert "Handläggare Handläggare" not in visible  # a title is not repeated mid-sentence
    assert f"Ärendenummer {ref}" in visible
    assert "Du får svar senast 20 mars 2026." in visible
    assert '<a href="mailto:hemtjanst.norr@exempelkommun.se">' in besked.html

    information = letters["information"]  # R9: the handler's own words
    assert "Vi har pratat med personalen.\nNu går vi igenom schemat.\n" in information.text
    assert "<p>Vi har pratat med personalen.<br>\nNu går vi igenom schemat.</p>" in information.html
    assert "Du får svar senast 20 mars 2026." in information.text

    forsening = letters["forsening"]  # R11: the new date and the reason, with an apology (R23)
    assert forsening.subject == f"Nytt svarsdatum för ditt ärende {ref}"
    for html_or_text in (forsening.text, html_text(forsening.html)):
        assert "den 20 mars 2026 som vi lovade, och vi ber om ursäkt för det." in html_or_text
        assert "Vi väntar på ett yttrande från utföraren." in html_or_text
        assert "Du får svar senast 3 april 2026." in html_or_text

    komplettering = letters["komplettering"]
    assert "Vilken dag uteblev besöket?" in komplettering.text
    assert "<p>Vilken dag uteblev besöket?</p>" in komplettering.html

    aterupptaget = letters["aterupptaget"]
    day = f"{resumed_by.day} april 2026"
    assert f"Du får svar senast {day}." in aterupptaget.text
    assert f"Du får svar senast {day}." in html_text(aterupptaget.html)

    svar = letters["svar"]  # R13: the written answer; R20: the next level
    assert svar.subject == f"Svar i ditt ärende {ref}"
    for html_or_text in (svar.text, html_text(svar.html)):
        assert "Vi ber om ursäkt. Besöket har lagts in i schemat igen." in html_or_text
        assert "lyfts till förvaltningschefen för Socialförvaltningen, Eva Nyström." in html_or_text
        # One thanks (R23): the kommun's signature line gives it, so the letter does not repeat it.
        assert "Tack för att du hörde av dig till oss." not in html_or_text
        assert "Tack för att du hjälper oss att bli bättre." in html_or_text


def test_the_besked_thanks_each_kind_of_feedback_in_its_own_words(k: Klagomal) -> None:
    # R22, R23: praise is passed on, suggestions are looked into, complaints are apologised for.
    praise = register(k, kind="berom", text="Tack till hemtjänsten!").reference
    idea = register(k, kind="forslag", text="Ha en kontaktperson per kund.").reference
    for ref in (praise, idea):
        k.acknowledge(ref, "Handläggare Hanna Ek", dt.date(2026, 3, 20))
    assert "vi ser till att berömmet når dem det gäller" in k.letter(praise).text
    assert "Vi beklagar" not in k.letter(praise).text
    assert "Nu går vi igenom ditt förslag" in k.letter(idea).text
    assert "Nu går vi igenom ditt förslag" in html_text(k.letter(idea).html)


def guided(case: Case, data: Guided, day: dt.date = dt.date(2026, 3, 5)) -> Event:
    """The event the guidance step records (R3), after the case's last one."""
    recorded = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
    return Event(case.reference, case.version + 1, day, recorded, data, actor="Handläggare Hanna Ek")


def test_vagledning_tells_how_to_appeal_and_that_the_complaint_goes_on(k: Klagomal) -> None:
    # R3: an appeal is another route; the person is told how, and the case is still kept.
    ref = register(k).reference
    case = k.acknowledge(ref, "Handläggare Hanna Ek", dt.date(2026, 3, 20))
    event = guided(
        case,
        Guided(
            route=APPEAL,
            text="Beslutet skickades till dig den 2 mars.",
            decision="om hemtjänst (dnr SN 2026/41)",
            appeal_to="Socialnämnden",
            appeal_by=dt.date(2026, 3, 23),
        ),
    )
    letter = k.letters.render(case, event, "vagledning", dt.date(2026, 3, 5))
    assert (letter.template, letter.html_template) == (builtin("vagledning.txt"), builtin("vagledning.html"))
    assert letter.seq == case.version + 1
    assert ref in letter.subject
    check_html_document(letter)
    for html_or_text in (letter.text, html_text(letter.html)):
        assert "Vill du att beslutet om hemtjänst (dnr SN 2026/41) ska ändras kan du överklaga det." in (
            html_or_text
        )
        assert "Skriv ditt överklagande och skicka det till Socialnämnden." in html_or_text
        assert "Skriv vilket beslut du överklagar och vilken ändring du vill ha." in html_or_text
        assert "Överklagandet måste ha kommit in senast 23 mars 2026." in html_or_text
        assert "Beslutet skickades till dig den 2 mars." in html_or_text
        assert "Ditt klagomål handläggs ändå som vanligt" in html_or_text
        assert "Du får svar senast 20 mars 2026." in html_or_text
        assert "felanmälan" not in html_or_text
    assert "<ol>" in letter.html


def test_vagledning_for_a_fault_report_gives_the_handlers_instructions(k: Klagomal) -> None:
    # R3: a fault report (felanmälan) is another route too.
    ref = register(k, unit="sbf-gatapark", text="Gatlampan vid skolan är trasig sedan en månad.").reference
    case = k.get(ref)
    event = guided(case, Guided(route=FAULT_REPORT, text="Ring felanmälan på 0123-45 01 00, dygnet runt."))
    letter = k.letters.render(case, event, "vagledning", dt.date(2026, 3, 5))
    for html_or_text in (letter.text, html_text(letter.html)):
        assert "Så gör du en felanmälan:" in html_or_text
        assert "Ring felanmälan på 0123-45 01 00, dygnet runt." in html_or_text
        assert "Ditt klagomål handläggs ändå som vanligt" in html_or_text
        assert "överklaga" not in html_or_text
        # Not yet acknowledged: no promised date to repeat.
        assert "Du får svar senast" not in html_or_text


# -- the staff's notices ------------------------------------------------------------------------


def test_praise_is_passed_on_to_the_staff_and_to_their_chef_in_their_own_words(k: Klagomal) -> None:
    # R22: praise reaches the people it concerns, and their chef.
    ref = register(k, kind="berom", text="Anna och Bo är alltid glada\noch hjälpsamma.").reference
    k.acknowledge(ref, "Enhetschef Lena Holm", dt.date(2026, 3, 20))
    case = k.pass_on_praise(ref, ["Anna Lind", "Bo Ek"], "Vad roligt att läsa! /Lena")
    event = k.history(ref)[-1]
    staff = k.letters.render(
        case, event, "berom_vidare", dt.date(2026, 3, 2), recipient=Recipient("personal", "Anna Lind")
    )
    chef = k.letters.render(
        case, event, "berom_vidare", dt.date(2026, 3, 2), recipient=Recipient("chef", "Enhetschef Lena Holm")
    )
    assert staff.subject == chef.subject == f"Beröm till er, ärende {ref}"
    assert staff.text.startswith("Hej Anna Lind!\n\nNågon har hört av sig till Exempelkommun med beröm")
    assert "som gäller er: Anna Lind och Bo Ek vid Hemtjänst Norr" in staff.text
    assert chef.text.startswith("Hej Lena Holm!\n\nHemtjänst Norr har fått beröm")
    assert "Berömmet har förts vidare till Anna Lind och Bo Ek." in chef.text
    for letter in (staff, chef):
        assert "> Anna och Bo är alltid glada\n> och hjälpsamma.\n" in letter.text
        assert "<blockquote>\n<p>Anna och Bo är alltid glada<br>\noch hjälpsamma.</p>\n</blockquote>" in (
            letter.html
        )
        assert "Med berömmet följer en hälsning:\n\nVad roligt att läsa! /Lena\n" in letter.text
        assert "Vad roligt att läsa! /Lena" in letter.html
        assert "Tack för det fina arbete ni gör!" in html_text(letter.html)
        check_html_document(letter)
    assert "Berömmet har förts vidare" not in staff.text
    assert "Någon har hört av sig" not in html_text(chef.html)


def test_praise_without_a_greeting_and_to_one_person(k: Klagomal) -> None:
    ref = register(k, kind="berom", text="Tack Anna!").reference
    case = k.pass_on_praise(ref, ["Anna Lind"])
    letter = k.letters.render(
        case,
        k.history(ref)[-1],
        "berom_vidare",
        dt.date(2026, 3, 2),
        recipient=Recipient("personal", "Anna Lind"),
    )
    assert "med beröm som gäller dig vid Hemtjänst Norr." in letter.text
    assert "hälsning:" not in letter.text
    assert "\n\n\n" not in letter.text


def test_a_secret_case_is_not_quoted_in_notices_to_staff(k: Klagomal) -> None:
    # R27: what may be secret is read in the system, not sent around by e-mail.
    ref = register(k, kind="berom", text="Tack till Anna som hjälpte min mamma med medicinerna.").reference
    case = k.pass_on_praise(ref, ["Anna Lind"])
    case = attrs.evolve(case, secrecy="OSL 26 kap. 1 §")
    letter = k.letters.render(case, k.history(ref)[-1], "berom_vidare", dt.date(2026, 3, 2))
    assert "medicinerna" not in letter.text
    assert "medicinerna" not in letter.html
    assert "Ärendet omfattas av sekretess (OSL 26 kap. 1 §)" in letter.text


def test_escalation_notices_to_the_forvaltningschef_and_the_namnd(k: Klagomal, clock: FixedClock) -> None:
    # R20: level 2, the förvaltningschef decides who continues; R21: level 3, the nämnd may handle it.
    ref = register(k).reference
    k.acknowledge(ref, "Handläggare Hanna Ek", dt.date(2026, 3, 20))
    k.answer(ref, "skriftligt", "Vi har pratat med personalen.")
    k.close(ref, False)
    case = k.escalate(ref, "Ingen har bett om ursäkt.")
    department = k.organisation.departments["soc"]
    chef = k.letters.render(
        case,
        k.history(ref)[-1],
        "eskalering_chef",
        clock.today(),
        recipient=Recipient("forvaltningschef", department.head, department.head_email),
    )
    assert chef.subject == f"Ärende {ref} har lyfts till förvaltningschefen"
    check_html_document(chef)
    for html_or_text in (chef.text, html_text(chef.html)):
        assert "Hej Eva Nyström!" in html_or_text
        assert f"Ärende {ref} (klagomål) vid Hemtjänst Norr har lyfts till dig som förvaltningschef" in (
            html_or_text
        )
        assert "Ingen har bett om ursäkt." in html_or_text
        assert "Hemtjänsten kom inte på tisdagen" in html_or_text
        assert "Du beslutar vem som fortsätter med ärendet." in html_or_text
        assert "senast 16 mars 2026 få besked" in html_or_text
    assert "> Ingen har bett om ursäkt.\n" in chef.text

    k.acknowledge(ref, "Socialchef Eva Nyström", dt.date(2026, 3, 27))
    k.answer(ref, "skriftligt", "Jag har gått igenom ärendet.")
    k.close(ref, False)
    case = k.escalate(ref, "Jag vill att nämnden tittar på det.")
    namnd = k.letters.render(
        case,
        k.history(ref)[-1],
        "eskalering_namnd",
        clock.today(),
        recipient=Recipient("namnd", department.board_secretary, department.board_email),
    )
    assert namnd.subject == f"Ärende {ref} har lyfts till nämnden"
    for html_or_text in (namnd.text, html_text(namnd.html)):
        assert "Hej Maria Holm!" in html_or_text
        assert "har lyfts till Socialnämnden" in html_or_text
        assert "Socialnämnden kan nu ta upp ärendet." in html_or_text
        assert "Jag vill att nämnden tittar på det." in html_or_text
    # Without a recipient the nämnd's secretary from the organisation file is greeted.
    unnamed = k.letters.render(case, k.history(ref)[-1], "eskalering_namnd", clock.today())
    assert unnamed.text.startswith("Hej Maria Holm!\n\n")


def test_reminder_and_breach_alert_render_through_the_templates(k: Klagomal, clock: FixedClock) -> None:
    # R7, R10, R11: the handler is reminded, the chef alerted; text for SMS, HTML for e-mail.
    ref = register(k).reference
    clock.set(dt.date(2026, 3, 12))
    case = k.get(ref)
    deadline = k.open_deadline(case)
    assert deadline is not None
    reminder = owed_reminder(case, deadline, 2, k.organisation, clock.today())
    assert reminder is not None
    message = staff_message(reminder, case, deadline, k.organisation, k.letters)
    assert message.subject == f"Påminnelse: besked i ärende {ref} senast 2026-03-16"
    assert message.body == (
        f"Ärende {ref} (Klagomål) hos Hemtjänst Norr ska ha besked senast 2026-03-16, om 2 arbetsdagar.\n"
        "Ingen handläggare är utsedd ännu."
    )
    assert message.html is not None
    assert message.html.startswith("<!DOCTYPE html>")
    assert "Ingen handläggare är utsedd ännu." in message.html
    assert "<strong>2026-03-16</strong>, om 2 arbetsdagar." in message.html
    # The old call without Letters renders the same from the built-in templates.
    assert staff_message(reminder, case, deadline, k.organisation) == message

    clock.set(dt.date(2026, 3, 18))
    deadline = k.open_deadline(case)
    assert deadline is not None
    breach = owed_reminder(case, deadline, 2, k.organisation, clock.today())
    assert breach is not None
    alert = staff_message(breach, case, deadline, k.organisation, k.letters)
    assert (
        alert.subject == f"Tidsfristen har passerat: besked i ärende {ref} skulle ha getts senast 2026-03-16"
    )
    assert alert.body.splitlines() == [
        f"Ärende {ref} (Klagomål) hos Hemtjänst Norr skulle ha fått besked senast 2026-03-16, "
        "för 2 arbetsdagar sedan.",
        "Handläggare: ingen utsedd.",
        "Utse en handläggare och ge besked så snart som möjligt (R7).",
    ]
    assert alert.html is not None
    assert "Utse en handläggare och ge besked så snart som möjligt (R7)." in alert.html


# -- escaping --------------------------------------------------------------------------------------


def test_everything_people_wrote_is_escaped_in_html_and_kept_in_text(k: Klagomal) -> None:
    # What a citizen or a handler wrote can never become markup in an HTML letter.
    ref = register(k, text=NASTY, contact=Contact(name=NASTY_NAME, email="x@example.se")).reference
    k.acknowledge(ref, "Hanna <i>Ek</i>", dt.date(2026, 3, 20))
    k.answer(ref, "skriftligt", "Svar: <img src=x onerror=alert(2)> & tack")
    k.close(ref, False)
    case = k.escalate(ref, "Skäl <script>alert(3)</script> & mer")
    letters = [k.letter(ref, seq) for seq, _kind in k.notices(ref)]
    letters.append(k.letters.render(case, k.history(ref)[-1], "eskalering_chef", dt.date(2026, 3, 2)))
    for letter in letters:
        assert "<script" not in letter.html
        assert "<b>" not in letter.html
        assert "<i>" not in letter.html
        assert "<img" not in letter.html
        assert "Åsa &lt;b&gt;Öberg&lt;/b&gt; &amp; Co" in letter.html or letter.kind == "eskalering_chef"
    besked, svar, escalation = letters
    assert "Hej Åsa <b>Öberg</b> & Co!" in besked.text
    assert "handläggs av Hanna <i>Ek</i>" in besked.text
    assert "Hanna &lt;i&gt;Ek&lt;/i&gt;" in besked.html
    assert "Svar: &lt;img src=x onerror=alert(2)&gt; &amp; tack" in svar.html
    assert "Svar: <img src=x onerror=alert(2)> & tack" in svar.text
    assert "Personalen skrev &lt;script&gt;alert(1)&lt;/script&gt; &amp; gick." in escalation.html
    assert "Skäl &lt;script&gt;alert(3)&lt;/script&gt; &amp; mer" in escalation.html
    assert "> Skäl <script>alert(3)</script> & mer" in escalation.text


def test_paragraphs_escape_and_keep_the_shape_of_a_text() -> None:
    text = "Första raden\nandra <raden>\n\n\n  \nTredje & sista\r\n"
    assert str(paragraphs(text)) == (
        "<p>Första raden<br>\nandra &lt;raden&gt;</p>\n<p>Tredje &amp; sista</p>"
    )
    assert str(paragraphs("")) == ""
    assert join_names(["Anna"]) == "Anna"
    assert join_names(["Anna", "Bo", "Cecilia"]) == "Anna, Bo och Cecilia"


# -- a förvaltning's own wording (R25) -------------------------------------------------------------


def test_a_text_only_override_gets_its_html_derived_from_its_own_text(
    tmp_path: pathlib.Path, clock: FixedClock
) -> None:
    # Like klagomal-skola: bou/besked.txt only.  The HTML must say what the text says,
    # never the built-in wording.
    folder = tmp_path / "mallar"
    override = write(
        folder,
        "bou/besked.txt",
        "Hej {{ name }}!\n\n{{ event.handler }} på {{ unit.name }} tar hand om ditt ärende.\n"
        "Du får svar senast {{ event.respond_by | datum }}.\n\nSkolan & {{ case.text }}\n",
    )
    k = make(tmp_path, clock, folder_plugin(folder))
    school = register(k, unit=SCHOOL, text=NASTY).reference
    care = register(k).reference
    for ref in (school, care):
        k.acknowledge(ref, "Rektor Siv Ek", dt.date(2026, 3, 20))
    letter = k.letter(school)
    assert letter.template == str(override)
    assert letter.html_template is None
    assert letter.text == (
        "Hej Åsa Öberg!\n\nRektor Siv Ek på Norrskolan tar hand om ditt ärende.\n"
        f"Du får svar senast 20 mars 2026.\n\nSkolan & {NASTY}\n"
    )
    check_html_document(letter)
    assert (
        "<p>Hej Åsa Öberg!</p>\n"
        "<p>Rektor Siv Ek på Norrskolan tar hand om ditt ärende.<br>\n"
        "Du får svar senast 20 mars 2026.</p>\n"
        "<p>Skolan &amp; Personalen skrev &lt;script&gt;alert(1)&lt;/script&gt; &amp; gick.</p>"
    ) in letter.html
    assert "Tack för att du har hört av dig" not in letter.html
    # Socialförvaltningen's case keeps the built-in letter in both versions.
    plain = k.letter(care)
    assert (plain.template, plain.html_template) == (builtin("besked.txt"), builtin("besked.html"))
    assert "Tack för att du har hört av dig till Exempelkommun" in plain.html
    k.dispose()


def test_a_forvaltnings_html_override_is_used_for_its_own_cases_only(
    tmp_path: pathlib.Path, clock: FixedClock
) -> None:
    folder = tmp_path / "mallar"
    text = write(folder, "bou/besked.txt", "Hej från skolan, {{ name }}.\n")
    html = write(
        folder,
        "bou/besked.html",
        '{% extends "_layout.html" %}{% block content %}<p class="skola">Hej från skolan, {{ name }}.</p>'
        "{% endblock %}",
    )
    k = make(tmp_path, clock, folder_plugin(folder))
    school = register(k, unit=SCHOOL, contact=Contact(name=NASTY_NAME, email="x@example.se")).reference
    care = register(k).reference
    for ref in (school, care):
        k.acknowledge(ref, "Rektor Siv Ek", dt.date(2026, 3, 20))
    letter = k.letter(school)
    assert (letter.template, letter.html_template) == (str(text), str(html))
    assert '<p class="skola">Hej från skolan, Åsa &lt;b&gt;Öberg&lt;/b&gt; &amp; Co.</p>' in letter.html
    check_html_document(letter)
    other = k.letter(care)
    assert (other.template, other.html_template) == (builtin("besked.txt"), builtin("besked.html"))
    assert "skolan" not in other.html
    k.dispose()


def test_an_html_template_alone_does_not_replace_the_html_of_another_folders_text(
    tmp_path: pathlib.Path, clock: FixedClock
) -> None:
    # The HTML comes from where the text came from, so text and HTML always agree.
    folder = tmp_path / "mallar"
    write(folder, "besked.html", "<p>Fel ordalydelse</p>")
    k = make(tmp_path, clock, folder_plugin(folder))
    ref = register(k).reference
    k.acknowledge(ref, "Handläggare Hanna Ek", dt.date(2026, 3, 20))
    letter = k.letter(ref)
    assert (letter.template, letter.html_template) == (builtin("besked.txt"), builtin("besked.html"))
    assert "Fel ordalydelse" not in letter.html
    k.dispose()


def test_a_kommun_can_replace_the_shared_layout(tmp_path: pathlib.Path, clock: FixedClock) -> None:
    folder = tmp_path / "mallar"
    write(
        folder, "_layout.html", "<html><body>KOMMUNENS LAYOUT {% block content %}{% endblock %}</body></html>"
    )
    k = make(tmp_path, clock, folder_plugin(folder))
    ref = register(k).reference
    k.acknowledge(ref, "Handläggare Hanna Ek", dt.date(2026, 3, 20))
    html = k.letter(ref).html
    assert html.startswith("<html><body>KOMMUNENS LAYOUT ")
    assert "<p>Hej Åsa Öberg!</p>" in html
    k.dispose()


# -- template errors -------------------------------------------------------------------------------


def test_a_syntax_error_in_an_override_names_the_template_and_line(
    tmp_path: pathlib.Path, clock: FixedClock
) -> None:
    folder = tmp_path / "mallar"
    broken = write(folder, "bou/besked.txt", "Hej!\n\n{% if name %}Hej {{ name }}\n")
    k = make(tmp_path, clock, folder_plugin(folder))
    school = register(k, unit=SCHOOL).reference
    care = register(k).reference
    for ref in (school, care):
        k.acknowledge(ref, "Rektor Siv Ek", dt.date(2026, 3, 20))
    with pytest.raises(ConfigurationError) as raised:
        k.letter(school)
    message = str(raised.value)
    assert f"brevmallen {broken}, rad " in message
    assert "går inte att använda" in message
    assert "endif" in message  # Jinja2's reason: the unclosed block
    # Other förvaltningar's letters are unaffected.
    assert k.letter(care).template == builtin("besked.txt")
    k.dispose()


def test_a_syntax_error_in_an_html_override_names_the_html_template(
    tmp_path: pathlib.Path, clock: FixedClock
) -> None:
    folder = tmp_path / "mallar"
    write(folder, "bou/besked.txt", "Hej!\n")
    broken = write(folder, "bou/besked.html", "{% extends '_layout.html' %}{% block content %}{{ name }")
    k = make(tmp_path, clock, folder_plugin(folder))
    ref = register(k, unit=SCHOOL).reference
    k.acknowledge(ref, "Rektor Siv Ek", dt.date(2026, 3, 20))
    with pytest.raises(
        ConfigurationError, match=re.escape(f"brevmallen {broken}, rad 1 går inte att använda")
    ):
        k.letter(ref)
    k.dispose()


def test_an_undefined_name_is_an_error_naming_the_template_that_uses_it(
    tmp_path: pathlib.Path, clock: FixedClock
) -> None:
    folder = tmp_path / "mallar"
    typo = write(
        folder, "bou/besked.txt", "Hej {{ name }}!\n\nSvar senast {{ event.respond_bye | datum }}.\n"
    )
    # A kommun-wide signature with a name the profile does not have; the error
    # names the signature, where the fix is, not the letter including it.
    signature = write(folder, "_signatur.txt", "{{ profile.fax }}\n")
    k = make(tmp_path, clock, folder_plugin(folder))
    school = register(k, unit=SCHOOL).reference
    care = register(k).reference
    for ref in (school, care):
        k.acknowledge(ref, "Rektor Siv Ek", dt.date(2026, 3, 20))
    with pytest.raises(ConfigurationError) as raised:
        k.letter(school)
    assert f"brevmallen {typo}, rad 3 går inte att använda" in str(raised.value)
    assert "respond_bye" in str(raised.value)
    with pytest.raises(ConfigurationError) as raised:
        k.letter(care)
    assert f"brevmallen {signature}, rad 1 går inte att använda" in str(raised.value)
    assert "fax" in str(raised.value)
    k.dispose()


def test_a_broken_or_missing_included_template_is_named(tmp_path: pathlib.Path, clock: FixedClock) -> None:
    folder = tmp_path / "mallar"
    letter = write(folder, "bou/besked.txt", "Hej!\n\n{% include '_skolans_signatur.txt' %}\n")
    signature = write(folder, "_signatur.txt", "Med vänlig hälsning\n{{ case.handler }\n")
    k = make(tmp_path, clock, folder_plugin(folder))
    school = register(k, unit=SCHOOL).reference
    care = register(k).reference
    for ref in (school, care):
        k.acknowledge(ref, "Rektor Siv Ek", dt.date(2026, 3, 20))
    with pytest.raises(ConfigurationError) as raised:
        k.letter(school)
    assert str(raised.value) == (
        f"brevmallen {letter}, rad 3 går inte att använda: mallen _skolans_signatur.txt finns inte"
    )
    with pytest.raises(ConfigurationError, match=re.escape(f"brevmallen {signature}, rad 2 går inte")):
        k.letter(care)
    k.dispose()


def test_a_notice_without_any_template_is_a_configuration_error(k: Klagomal) -> None:
    case = register(k)
    event = k.history(case.reference)[-1]
    with pytest.raises(
        ConfigurationError, match=r"ingen brevmall soc/tackkort\.txt / tackkort\.txt finns i "
    ):
        k.letters.render(case, event, "tackkort", dt.date(2026, 3, 2))


# -- the letterhead and the signature --------------------------------------------------------------


def with_profile(profile: KommunProfile) -> Organisation:
    return attrs.evolve(default_organisation(), profile=profile)


def besked(tmp_path: pathlib.Path, clock: FixedClock, organisation: Organisation) -> Letter:
    k = make(tmp_path, clock, organisation=organisation)
    ref = register(k).reference
    k.acknowledge(ref, "Handläggare Hanna Ek", dt.date(2026, 3, 20))
    letter = k.letter(ref)
    k.dispose()
    return letter


def test_the_kommuns_profile_appears_in_text_and_html(tmp_path: pathlib.Path, clock: FixedClock) -> None:
    letter = besked(tmp_path, clock, default_organisation())
    assert letter.text.endswith(
        "Med vänlig hälsning\n"
        "Hanna Ek\n"
        "Handläggare\n"
        "Hemtjänst Norr, Socialförvaltningen\n"
        "Exempelkommun\n"
        "E-post: hemtjanst.norr@exempelkommun.se\n"
        # The kommun's signature line thanks, and the besked has thanked already (R23).
        "\n"
        "Adress: Exempelkommun, 123 45 Exempelstad\n"
        "Växel: 0123-45 00 00\n"
        "E-post: kommun@exempelkommun.se\n"
        "Webbplats: https://www.exempelkommun.se\n"
        "\n"
        f"Ange ärendenummer {letter.reference} när du kontaktar oss.\n"
    )
    assert '<td class="logotyp">EXEMPELKOMMUN</td>' in letter.html
    footer = letter.html.split('<div class="sidfot">', 1)[1]
    for shown in (
        "Exempelkommun, 123 45 Exempelstad",
        "Växel 0123-45 00 00",
        '<a href="mailto:kommun@exempelkommun.se">kommun@exempelkommun.se</a>',
        '<a href="https://www.exempelkommun.se">https://www.exempelkommun.se</a>',
    ):
        assert shown in footer
    # The signature line thanks; the besked has thanked in its own words (R23).
    assert "Tack för att du hjälper oss att bli bättre." not in letter.html


def test_an_empty_profile_leaves_no_empty_lines_or_labels(tmp_path: pathlib.Path, clock: FixedClock) -> None:
    letter = besked(tmp_path, clock, with_profile(KommunProfile()))
    assert letter.text.endswith(
        "Med vänlig hälsning\n"
        "Hanna Ek\n"
        "Handläggare\n"
        "Hemtjänst Norr, Socialförvaltningen\n"
        "Exempelkommun\n"
        "E-post: hemtjanst.norr@exempelkommun.se\n"
        "\n"
        f"Ange ärendenummer {letter.reference} när du kontaktar oss.\n"
    )
    for absent in ("Adress", "Växel", "Webbplats", "None", "\n\n\n"):
        assert absent not in letter.text
    # The letterhead falls back on the kommun's name; the footer has nothing but the name.
    assert '<td class="logotyp">Exempelkommun</td>' in letter.html
    footer = letter.html.split('<div class="sidfot">', 1)[1].split("</div>", 1)[0]
    assert footer.split() == ["<strong>Exempelkommun</strong>"]
    assert 'class="halsning"' not in letter.html
    assert "None" not in letter.html


def test_a_partial_profile_shows_only_what_is_set(tmp_path: pathlib.Path, clock: FixedClock) -> None:
    letter = besked(tmp_path, clock, with_profile(KommunProfile(phone="0123-45 00 00", website="exempel.se")))
    assert "\n\nVäxel: 0123-45 00 00\nWebbplats: exempel.se\n\nAnge ärendenummer" in letter.text
    assert "Adress" not in letter.text
    footer = letter.html.split('<div class="sidfot">', 1)[1].split("</div>", 1)[0]
    assert "Växel 0123-45 00 00" in footer
    # Without a scheme the website is shown, not linked.
    assert "<span>exempel.se</span>" in footer
    assert "mailto" not in footer


def test_a_paper_letter_prints_the_address_in_the_envelope_window(k: Klagomal) -> None:
    ref = register(k).reference
    case = k.acknowledge(ref, "Handläggare Hanna Ek", dt.date(2026, 3, 20))
    recipient = Recipient("person", "Åsa Öberg", address="Storgatan 1\n123 45 Exempelstad")
    letter = k.letters.render(case, k.history(ref)[-1], "besked", dt.date(2026, 3, 2), recipient=recipient)
    assert '<div class="mottagare">\nÅsa Öberg<br>\n<p>Storgatan 1<br>\n123 45 Exempelstad</p>\n</div>' in (
        letter.html
    )
    # Shown only on paper.
    assert ".mottagare { display: none; }" in letter.html
    assert ".mottagare { display: block;" in letter.html.split("@media print", 1)[1]
    assert "mottagare" not in k.letter(ref).html.split("</style>", 1)[1]


def test_swedish_characters_arrive_intact(k: Klagomal) -> None:
    ref = register(k, text="Äldreboendet på Östra vägen: måltiderna är för små.").reference
    k.acknowledge(ref, "Handläggare Örjan Åström", dt.date(2026, 3, 20))
    letter = k.letter(ref)
    for word in (
        "Åsa Öberg",
        "Örjan Åström",
        "Hemtjänst Norr",
        "Socialförvaltningen",
        "ärendenummer",
        "hälsning",
    ):
        assert word in letter.text
        assert word in letter.html
    assert "&#" not in letter.html  # no numeric entities for å, ä, ö
    assert letter.html.encode("utf-8").decode("utf-8") == letter.html


# -- subjects --------------------------------------------------------------------------------------


def test_every_subject_carries_the_reference_and_the_old_ones_are_unchanged() -> None:
    ref = "2026-00042"
    details = {"what": "svar", "due": dt.date(2026, 3, 27)}
    for kind in (*CITIZEN_NOTICES, *STAFF_NOTICES, "en-insticksmoduls-egen"):
        assert ref in subject(kind, ref, **details), kind
    assert [subject(kind, ref) for kind in CITIZEN_NOTICES[:6]] == [
        f"Besked om ditt ärende {ref}",
        f"Information om ditt ärende {ref}",
        f"Nytt svarsdatum för ditt ärende {ref}",
        f"Vi behöver mer information i ärende {ref}",
        f"Ditt ärende {ref} handläggs igen",
        f"Svar i ditt ärende {ref}",
    ]
    assert subject("paminnelse", ref, **details) == f"Påminnelse: svar i ärende {ref} senast 2026-03-27"
    with pytest.raises(ConfigurationError, match="due"):
        subject("paminnelse", ref, what="svar")


def test_every_kind_has_a_text_and_an_html_template_built_in() -> None:
    for kind in (*CITIZEN_NOTICES, *STAFF_NOTICES):
        assert (BUILTIN_TEMPLATES / f"{kind}.txt").is_file(), kind
        assert (BUILTIN_TEMPLATES / f"{kind}.html").is_file(), kind
    assert Letters(default_organisation()).find("soc", "besked") == (
        builtin("besked.txt"),
        builtin("besked.html"),
    )


@pytest.mark.parametrize("name", ["--", "'); --", "123 456", "***"])
def test_a_name_without_a_letter_is_not_greeted(k: Klagomal, name: str) -> None:
    # Whoever typed it (staff, the web form, an old import), a name with no
    # letter in it is no name: the letter says "Hej!", not "Hej --!".
    ref = register(k, contact=Contact(name=name, email="eva@example.se")).reference
    k.acknowledge(ref, "Handläggare Hanna Ek", dt.date(2026, 3, 20))
    letter = k.letter(ref)
    assert letter.text.startswith("Hej!\n")
    assert name not in letter.text


# -- every letter: signatures, greetings, thanks, the way on (R20, R21, R23) ------------------------

#: Exempelkommun's Miljö- och hälsoskyddsenheten, whose chef is "Enhetschef Robert Axelsson",
#: in Samhällsbyggnadsförvaltningen, whose nämnd's secretary is "Nämndsekreterare Lena Ström".
MILJO = "sbf-miljo"

#: The names and titles the organisation file gives the people who sign below.
SIGNERS = {"Robert Axelsson": "Enhetschef", "Lars Björk": "Samhällsbyggnadschef"}
SIGNED_FOR = {
    "Robert Axelsson": "Miljö- och hälsoskyddsenheten, Samhällsbyggnadsförvaltningen",
    "Lars Björk": "Samhällsbyggnadsförvaltningen",
}


def template_kinds(*marks: str) -> set[str]:
    """The kinds of the built-in templates (the folder's files, not a list
    in the code) whose text or HTML contains any of *marks*."""
    return {
        path.stem
        for path in BUILTIN_TEMPLATES.iterdir()
        if not path.name.startswith("_") and any(mark in path.read_text(encoding="utf-8") for mark in marks)
    }


def every_letter(k: Klagomal, clock: FixedClock) -> list[Letter]:
    """Every notice the steps of real cases at Miljö- och hälsoskyddsenheten
    give rise to, rendered for its recipient as delivery renders it."""
    complaint = register(k, unit=MILJO, text="Ingen svarade om bullret från byggplatsen.").reference
    clock.set(dt.date(2026, 3, 3))
    k.acknowledge(complaint, "Robert Axelsson", dt.date(2026, 3, 20))
    k.inform(complaint, "Vi har varit på plats och mätt bullret.")
    k.postpone(complaint, dt.date(2026, 4, 3), "Mätningen behöver göras om.")
    k.pause(complaint, "Vilka tider stör bullret mest?")
    k.resume(complaint)
    k.guide(
        complaint,
        "overklagande",
        "Beslutet skickades i februari.",
        decision="om bygglov",
        appeal_to="Samhällsbyggnadsnämnden",
        notified=dt.date(2026, 3, 2),
    )
    k.answer(complaint, "skriftligt", "Byggaren har fått ett föreläggande om bullerskydd.")
    k.close(complaint, False)
    k.escalate(complaint, "Bullret fortsätter.")
    k.acknowledge(complaint, "Lars Björk", dt.date(2026, 4, 30))
    k.answer(complaint, "skriftligt", "Jag har gått igenom ärendet.")
    k.close(complaint, False)
    k.escalate(complaint, "Nämnden måste titta på det.")
    other = register(k, unit=MILJO, text="Ingen kom på inspektionen.").reference
    k.assign(other, "Robert Axelsson")
    k.flag_threat(other, "krankande", reason="Svordomar i telefon.")
    praise = register(k, kind="berom", unit=MILJO, text="Tack för hjälpen med radonmätningen!").reference
    k.pass_on_praise(praise, ["Anna Lind"], "Vad roligt!")
    # The web form's kvittens (klagomal.cases.follow), queued at registration.
    posted = {
        "typ": "forslag",
        "text": "Fler papperskorgar.",
        "enhet": MILJO,
        "epost": "anna.berg@example.se",
    }
    form = webform.validate_form(posted, k.organisation, today=k.clock.today())
    assert isinstance(form, webform.FormSubmission)
    kvittens = webform.register_submission(k, form).case.reference
    letters = []
    for ref in (complaint, other, praise, kvittens):
        history = k.history(ref)
        for notice in k.outbox(reference=ref):
            case = replay(history[: notice.seq])
            event = history[notice.seq - 1]
            recipient = resolve_recipient(notice, case, event, k.organisation)
            letters.append(k.letters.render(case, event, notice.kind, event.day, recipient=recipient))
    return letters


@pytest.fixture
def letters(k: Klagomal, clock: FixedClock) -> list[Letter]:
    return every_letter(k, clock)


def html_lines(html: str, after: str) -> list[str]:
    """The lines of the HTML paragraph that starts with *after*, as a reader sees them."""
    block = html.split(after, 1)[1].split("</p>", 1)[0]
    return [re.sub(r"<[^>]+>", "", line).strip() for line in block.split("<br>")][1:]


def test_every_signature_has_the_name_and_the_title_on_lines_of_their_own(letters: list[Letter]) -> None:
    # "Robert Axelsson" / "Enhetschef", as a Swedish letter signs, in text and HTML alike.
    signing = template_kinds("Med vänlig hälsning", "_signatur.txt", "_signatur.html")
    assert signing >= {"besked", "svar", "berom_vidare"}
    signed = set()
    for letter in letters:
        if letter.kind not in signing:
            assert "Med vänlig hälsning" not in letter.text, letter.kind
            continue
        signed.add(letter.kind)
        text_lines = letter.text.split("Med vänlig hälsning\n", 1)[1].splitlines()
        for lines in (text_lines, html_lines(letter.html, "Med vänlig hälsning")):
            name, title = lines[0], lines[1]
            assert name in SIGNERS, (letter.kind, lines)
            assert title == SIGNERS[name], (letter.kind, lines)
            # The förvaltningschef signs for the förvaltning, the unit's people for their unit.
            assert lines[2] == SIGNED_FOR[name], (letter.kind, lines)
    assert signed == signing  # every template that signs was rendered


def test_every_greeting_names_the_person_without_a_title(letters: list[Letter]) -> None:
    # "Hej Lena Ström!", never "Hej Nämndsekreterare Lena Ström!".
    org = default_organisation()
    people = [u.manager for u in org.units.values()]
    people += [d.board_secretary for d in org.departments.values() if d.board_secretary]
    titles = {title for title in (name_and_title(p)[1] for p in people) if title}
    assert {"Nämndsekreterare", "Enhetschef", "Samhällsbyggnadschef"} <= titles
    greeting = template_kinds("Hej", "_halsning.html")
    greeted: dict[str, set[str]] = {}
    for letter in letters:
        first_text = letter.text.splitlines()[0]
        first_html = letter.html.split("</h1>", 1)[1].split("</p>", 1)[0].split("<p>", 1)[1]
        if letter.kind not in greeting:
            continue
        for line in (first_text, first_html):
            assert re.fullmatch(r"Hej( [^!]+)?!", line), (letter.kind, line)
            assert not any(title in line for title in titles), (letter.kind, line)
            assert not any(word in line.lower() for word in ("chef", "sekreterare")), (letter.kind, line)
        greeted.setdefault(letter.kind, set()).add(first_text)
    assert set(greeted) == greeting  # every template that greets was rendered
    assert greeted["eskalering_namnd"] == {"Hej Lena Ström!"}
    assert greeted["eskalering_chef"] == {"Hej Lars Björk!"}
    assert greeted["flaggning"] == {"Hej Robert Axelsson!"}
    assert greeted["berom_vidare"] == {"Hej Anna Lind!", "Hej Robert Axelsson!"}
    assert greeted["besked"] == {"Hej Åsa Öberg!"}


def thanks_in(text: str) -> int:
    return len(re.findall(r"\btack", text, re.IGNORECASE))


@pytest.mark.parametrize(
    "answer", ["Vi har pratat med byggaren.", "Tack för att du skrev. Vi har pratat med byggaren."]
)
@pytest.mark.parametrize(
    "signature", ["Tack för att du hjälper oss att bli bättre.", "Vi finns här för dig.", None]
)
def test_the_answer_thanks_once(
    tmp_path: pathlib.Path, clock: FixedClock, answer: str, signature: str | None
) -> None:
    # R23: the gift principle is one thanks, whether the handler's words, the
    # kommun's signature line or the letter itself gives it.
    profile = attrs.evolve(default_organisation().profile, signature=signature)
    k = make(tmp_path, clock, organisation=with_profile(profile))
    ref = register(k, unit=MILJO).reference
    k.acknowledge(ref, "Robert Axelsson", dt.date(2026, 3, 20))
    k.answer(ref, "skriftligt", answer)
    letter = k.letter(ref)
    assert letter.kind == "svar"
    for html_or_text in (letter.text, html_text(letter.html)):
        assert thanks_in(html_or_text) == 1, html_or_text
        assert answer in html_or_text  # the handler's words are never cut
    if signature and not thanks_in(signature):
        assert signature in letter.text  # a line that does not thank stays
    k.dispose()


def test_no_letter_to_the_person_thanks_more_than_once(letters: list[Letter]) -> None:
    # R23: one thanks. Exempelkommun's signature line thanks too, so a letter
    # that thanks in its own words leaves that line out.
    assert thanks_in(default_organisation().profile.signature or "") == 1
    thanking = template_kinds("Tack", "tack") & set(CITIZEN_NOTICES)
    assert "besked" in thanking
    seen = set()
    for letter in letters:
        if letter.kind not in CITIZEN_NOTICES:
            continue  # a letter to staff quotes the person, whose thanks are theirs
        for html_or_text in (letter.text, html_text(letter.html)):
            assert thanks_in(html_or_text) <= 1, (letter.kind, html_or_text)
        seen.add(letter.kind)
    assert thanking <= seen  # every letter to the person that thanks was rendered


def test_the_answer_says_whom_to_turn_to_how_and_by_when(k: Klagomal, clock: FixedClock) -> None:
    # R20, R21: the next level, the way there and when the kommun answers.
    ref = register(k, unit=MILJO).reference
    k.acknowledge(ref, "Robert Axelsson", dt.date(2026, 3, 20))
    k.answer(ref, "skriftligt", "Byggaren har fått ett föreläggande.")
    first = k.letter(ref)
    for html_or_text in (first.text, html_text(first.html)):
        assert (
            "kan du be att det lyfts till förvaltningschefen för Samhällsbyggnadsförvaltningen, Lars Björk."
            in html_or_text
        )
        assert (
            f"Skriv till miljo@exempelkommun.se eller ring 0123-45 00 00, ange ärendenummer {ref} "
            "och berätta varför du inte är nöjd." in html_or_text
        )
        assert "Det finns ingen sista dag för att be om det." in html_or_text
        assert (
            "Inom tio arbetsdagar från att vi har fått din begäran får du besked om vem som handlägger "
            "ärendet och när du får svar." in html_or_text
        )
    assert '<a href="mailto:miljo@exempelkommun.se">' in first.html
    k.close(ref, False)
    k.escalate(ref, "Bullret fortsätter.")
    k.acknowledge(ref, "Lars Björk", dt.date(2026, 4, 30))
    k.answer(ref, "skriftligt", "Jag har gått igenom ärendet.")
    second = k.letter(ref)
    for html_or_text in (second.text, html_text(second.html)):
        assert "kan du be att det lyfts till Samhällsbyggnadsnämnden, som då kan ta upp det." in html_or_text
        assert "Inom tio arbetsdagar från att vi har fått din begäran" in html_or_text
        # The förvaltning has the case now: its mailbox, in the way on and under the signature.
        assert "Skriv till samhallsbyggnad@exempelkommun.se eller ring" in html_or_text
        assert "E-post: samhallsbyggnad@exempelkommun.se" in html_or_text
        assert "miljo@" not in html_or_text
    k.close(ref, False)
    k.escalate(ref, "Nämnden måste titta på det.")
    k.acknowledge(ref, "Samhällsbyggnadsnämnden", dt.date(2026, 5, 29))
    k.answer(ref, "skriftligt", "Nämnden har behandlat ärendet.")
    last = k.letter(ref)
    for html_or_text in (last.text, html_text(last.html)):
        assert "Samhällsbyggnadsnämnden är den högsta nivån för klagomål i Exempelkommun" in html_or_text
        assert "lyfts till" not in html_or_text
    # Praise is answered without a way to escalate it.
    praise = register(k, kind="berom", unit=MILJO, text="Bra inspektion!").reference
    k.acknowledge(praise, "Robert Axelsson", dt.date(2026, 3, 20))
    k.answer(praise, "skriftligt", "Vad roligt att höra!")
    assert "lyfts" not in k.letter(praise).text


def test_the_answer_promises_the_forvaltnings_own_number_of_days(
    tmp_path: pathlib.Path, clock: FixedClock
) -> None:
    # A förvaltning that promises a besked within five working days says so.
    def five_days(department: str) -> DeadlinePolicy | None:
        return DeadlinePolicy(acknowledge_days=5) if department == "sbf" else None

    k = make(tmp_path, clock, plugin("snabb", klagomal_deadline_policy=five_days))
    ref = register(k, unit=MILJO).reference
    k.acknowledge(ref, "Robert Axelsson", dt.date(2026, 3, 20))
    k.answer(ref, "skriftligt", "Klart.")
    assert "Inom fem arbetsdagar från att vi har fått din begäran" in k.letter(ref).text
    k.dispose()

"""A case's language (lag 2009:724): the person writes in Finnish, Meänkieli,
Sami or English and gets their letters in it.

The mechanism is klagomal.core.i18n (a language per context, catalogues in
the package and in KLAGOMAL_LOCALEDIR), the case's ``language`` (migration
0018) and the letters, which render in it; English ships as the example.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from klagomal import FixedClock, InvalidInputError, Klagomal
from klagomal.core import formats, i18n
from klagomal.core.i18n import _, available_languages, use_language
from klagomal.core.model import CaseState, Kind, Level
from klagomal.core.organisation import default_organisation
from klagomal.intake import webform
from klagomal.notices.letters import CITIZEN_NOTICES, STAFF_NOTICES
from klagomal.storage import tables
from klagomal.testing import CONTACT, START, UNIT, register

ROOT = Path(__file__).resolve().parents[1]


def _tool() -> ModuleType:
    """tools/catalogues.py, which extracts and compiles the catalogues."""
    spec = importlib.util.spec_from_file_location("catalogues", ROOT / "tools" / "catalogues.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("catalogues", module)
    spec.loader.exec_module(module)
    return module


catalogues = _tool()


@pytest.fixture
def kb(new_database: Callable[[], str], clock: FixedClock) -> Iterator[Klagomal]:
    """A Klagomal on a new database of each backend in turn."""
    with Klagomal(new_database(), clock=clock, load_entrypoints=False, user="system") as instance:
        instance.init()
        yield instance


def _through_every_citizen_letter(k: Klagomal, clock: FixedClock, **registration: object) -> str:
    """A case taken through every step that writes to the person."""
    ref = register(k, **registration).reference
    clock.set(dt.date(2026, 3, 3))
    k.acknowledge(ref, "Handläggare Hanna Ek", dt.date(2026, 3, 20))
    clock.set(dt.date(2026, 3, 5))
    k.inform(ref, "We have spoken to the staff.")
    clock.set(dt.date(2026, 3, 10))
    k.postpone(ref, dt.date(2026, 4, 3), "We are waiting for a statement.")
    clock.set(dt.date(2026, 3, 11))
    k.pause(ref, "Which day was the visit missed?")
    clock.set(dt.date(2026, 3, 13))
    k.resume(ref)
    clock.set(dt.date(2026, 3, 14))
    k.guide(ref, "felanmalan", "Call 0123-456 78.")
    clock.set(dt.date(2026, 3, 16))
    k.answer(ref, "skriftligt", "We apologise. The visit is back in the schedule.")
    return ref


def _template_msgids() -> set[str]:
    """The Swedish texts of the letters' templates, as the catalogue has them."""
    found = set()
    for message in catalogues.extract():
        locations = {path for path, _line in message.locations}
        if message.id and any(path.startswith("notices/templates/") for path in locations):
            found.add(str(message.id))
    return found


def _words(msgid: str) -> list[str]:
    """The Swedish runs of words of *msgid* between its placeholders."""
    return [part.strip(" ,.:!") for part in re.split(r"%\(\w+\)s", msgid) if len(part.strip(" ,.:!")) > 12]


# -- letters in the case's language ------------------------------------------------------------


def test_an_english_case_gets_every_letter_in_english(kb: Klagomal, clock: FixedClock) -> None:
    ref = _through_every_citizen_letter(kb, clock, language="en")
    case = kb.get(ref)
    assert case.language == "en"  # stored in cases.language and read back on each backend
    letters = {kind: kb.letter(ref, seq) for seq, kind in kb.notices(ref)}
    assert set(letters) == {
        "besked",
        "information",
        "forsening",
        "komplettering",
        "aterupptaget",
        "svar",
        "vagledning",
    }
    assert set(letters) == set(CITIZEN_NOTICES)  # every letter to the person is tried
    swedish = [words for msgid in _template_msgids() for words in _words(msgid)]
    for kind, letter in letters.items():
        assert letter.text.startswith(f"Dear {CONTACT.name},\n\n"), kind
        assert letter.text.endswith(f"Please give case number {ref} when you contact us.\n"), kind
        assert "Kind regards" in letter.text
        assert letter.html.startswith('<!DOCTYPE html>\n<html lang="en">'), kind
        assert f"Case {ref}" in letter.html
        for words in swedish:
            assert words not in letter.text, (kind, words)
            assert words not in letter.html, (kind, words)
    assert letters["besked"].subject == f"Confirmation of your case {ref}"
    assert "Thank you for contacting Exempelkommun." in letters["besked"].text
    assert "You will have an answer by 20 March 2026." in letters["besked"].text
    assert "on 20 March 2026 as we promised" in letters["forsening"].text
    assert "You will have an answer by 3 April 2026." in letters["forsening"].text
    # What the handler wrote is quoted as written.
    assert "We are waiting for a statement." in letters["forsening"].text
    assert "Within ten working days of receiving your request" in letters["svar"].text
    assert letters["svar"].subject == f"Answer in your case {ref}"


def test_a_case_is_swedish_by_default_and_staff_read_swedish(k: Klagomal, clock: FixedClock) -> None:
    ref = _through_every_citizen_letter(k, clock)
    assert k.get(ref).language == "sv"
    letter = k.letter(ref)
    assert letter.text.startswith(f"Hej {CONTACT.name}!\n\n")
    assert letter.subject == f"Svar i ditt ärende {ref}"
    assert '<html lang="sv">' in letter.html
    # Staff notices of an English case stay Swedish.
    en = register(k, language="en").reference
    case = k.get(en)
    staff = k._ctx.letters.render(case, None, "tilldelning", START, extra={})
    assert "Du har blivit handläggare" in staff.text
    assert staff.kind in STAFF_NOTICES


def test_the_language_is_corrected_with_the_contact(k: Klagomal, clock: FixedClock) -> None:
    ref = register(k).reference
    case = k.correct_contact(ref, language="en", reason="She asked for English.")
    assert case.language == "en"
    event = k.history(ref)[-1].data
    assert (event.language, event.previous_language) == ("en", "sv")  # type: ignore[union-attr]
    k.acknowledge(ref, "Handläggare Hanna Ek", dt.date(2026, 3, 20))
    assert k.letter(ref).subject == f"Confirmation of your case {ref}"


def _counts(k: Klagomal) -> tuple[int, ...]:
    with k.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        return tuple(
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (tables.cases, tables.events, tables.notices)
        )


def test_an_unknown_language_is_refused_in_swedish_and_nothing_is_written(kb: Klagomal) -> None:
    before = _counts(kb)
    with pytest.raises(InvalidInputError) as info:
        register(kb, language="xx")
    assert info.value.step == "register"
    assert str(info.value).startswith("steg 'registrera': okänt språk 'xx' (tillgängliga: en (English), ")
    assert "sv (svenska)" in str(info.value)
    assert _counts(kb) == before
    ref = register(kb).reference
    before = _counts(kb)
    with pytest.raises(InvalidInputError) as info:
        kb.correct_contact(ref, language="klingon")
    assert str(info.value).startswith(f"Ärende {ref}, steg ")
    assert "okänt språk 'klingon'" in str(info.value)
    assert _counts(kb) == before
    assert kb.get(ref).language == "sv"


def test_the_web_form_registers_in_a_language_and_its_receipt_follows(k: Klagomal) -> None:
    form = webform.FormSubmission(
        kind=Kind.KLAGOMAL, text="The home help did not come.", unit=None, contact=CONTACT, received=START
    )
    case = webform.register_submission(k, form, fallback_unit=UNIT, language="en").case
    assert case.language == "en"
    receipt = webform.receipt(case)
    assert receipt.received == "2 March 2026"
    assert receipt.thanks == "We received your feedback on 2 March 2026. It helps us improve."
    swedish = webform.receipt(k.correct_contact(case.reference, language="sv"))
    assert swedish.thanks.startswith("Vi tog emot din synpunkt 2 mars 2026.")
    with pytest.raises(InvalidInputError, match="okänt språk 'de'"):
        webform.register_submission(k, form, fallback_unit=UNIT, language="de")


def test_the_web_form_is_described_and_checked_in_the_active_language() -> None:
    organisation = default_organisation()
    with use_language("en"):
        schema = webform.form_schema(organisation)
        result = webform.validate_form({"typ": "klagomal", "text": "x" * 20_000}, organisation, today=START)
    assert schema["title"] == "Tell us what you think"
    assert schema["consent_text"].startswith("How we handle your personal data\n\n")
    labels = {f["id"]: f["label"] for f in schema["fields"]}
    assert labels["text"] == "Your feedback"
    assert [c["label"] for c in schema["fields"][0]["choices"]] == ["Complaint", "Suggestion", "Praise"]
    # Every label, help text and own choice of the form is translated: none is left Swedish.
    swedish = webform.form_schema(organisation)
    for english_field, swedish_field in zip(schema["fields"], swedish["fields"], strict=True):
        for key in ("label", "help"):
            assert (english_field[key] != swedish_field[key]) == bool(swedish_field[key]), english_field["id"]
    assert isinstance(result, webform.FormErrors)
    assert result.messages["text"].startswith("The text may be at most ")
    assert result.messages["text"].endswith("characters (you wrote 20\u00a0000).")


def test_export_and_import_keep_the_language_and_older_files_are_swedish(
    new_database: Callable[[], str], clock: FixedClock
) -> None:
    with (
        Klagomal(new_database(), clock=clock, load_entrypoints=False) as src,
        Klagomal(new_database(), clock=clock, load_entrypoints=False) as dst,
        Klagomal(new_database(), clock=clock, load_entrypoints=False) as old,
    ):
        for instance in (src, dst, old):
            instance.init()
        ref = register(src, language="en").reference
        exported = src.export()
        assert exported["version"] == 4
        assert dst.import_(exported) == 1
        assert dst.get(ref).language == "en"
        # A version 3 file predates languages: its events carry none.
        for case in exported["cases"]:
            for event in case["events"]:
                event["data"].pop("language", None)
        assert old.import_({**exported, "version": 3}) == 1
        assert old.get(ref).language == "sv"


# -- the catalogues ------------------------------------------------------------------------


def test_the_committed_mo_is_the_compiled_po() -> None:
    pos = catalogues.languages()
    assert [po.parent.parent.name for po in pos] == ["en"]
    for po in pos:
        assert po.with_suffix(".mo").read_bytes() == catalogues.compiled(po), po


def test_every_text_a_person_reads_has_an_english_translation() -> None:
    from babel.messages.pofile import read_po

    extracted = catalogues.extract()
    ids = {str(m.id) for m in extracted if m.id}
    assert len(ids) > 150  # the letters, the form, the labels, the dates
    with (catalogues.LOCALE / "en" / "LC_MESSAGES" / "klagomal.po").open("rb") as file:
        english = {str(m.id): m for m in read_po(file) if m.id}
    missing = sorted(i for i in ids if i not in english or not english[i].string or english[i].fuzzy)
    assert missing == []
    for msgid in ids:
        translated = str(english[msgid].string)
        # The same placeholders, so that no value is lost or breaks the formatting.
        for pattern in (r"\{\w+[^}]*\}", r"%\(\w+\)s"):
            assert sorted(re.findall(pattern, msgid)) == sorted(re.findall(pattern, translated)), msgid


def test_the_labels_a_person_sees_are_translated() -> None:
    with use_language("en"):
        assert [kind.label for kind in Kind] == ["Complaint", "Suggestion", "Praise"]
        assert CaseState.HANDLAGGNING.label == "Being handled"
        assert Level.NAMND.label == "Level 3: the committee"
        assert webform.field("text").label == "Din synpunkt"  # made at import: Swedish source
        assert _(webform.field("text").label) == "Your feedback"  # translated where it is shown
    assert Kind.KLAGOMAL.label == "Klagomål"


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_dates_are_written_in_the_active_language(day: dt.date) -> None:
    swedish = formats.swedish_date(day)
    assert swedish == f"{day.day} {formats.MONTHS[day.month - 1]} {day.year}"
    with use_language("en"):
        assert formats.swedish_date(day) == f"{day.day} {day.strftime('%B')} {day.year}"
    assert formats.swedish_date(day) == swedish


# -- one language per context --------------------------------------------------------------


def test_each_thread_has_its_own_language() -> None:
    barrier = threading.Barrier(2)
    seen: dict[str, list[str]] = {}

    def work(language: str) -> None:
        with use_language(language):
            barrier.wait()  # both threads are inside their own language at once
            seen[language] = [i18n.active_language(), _("Hej!"), Kind.BEROM.label]
            barrier.wait()

    threads = [threading.Thread(target=work, args=(code,)) for code in ("sv", "en")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"sv": ["sv", "Hej!", "Beröm"], "en": ["en", "Hello,", "Praise"]}
    assert i18n.active_language() == "sv"
    # A new thread starts Swedish, whatever the thread that started it reads.
    with use_language("en"):
        inner: list[str] = []
        thread = threading.Thread(target=lambda: inner.append(_("Hej!")))
        thread.start()
        thread.join()
        assert (_("Hej!"), inner) == ("Hello,", ["Hej!"])


# -- a kommun's own language -----------------------------------------------------------------


FINNISH = """\
msgid ""
msgstr ""
"Language: fi\\n"
"Content-Type: text/plain; charset=utf-8\\n"
"X-Language-Name: suomi\\n"

msgid "Hej %(name)s!"
msgstr "Hei %(name)s!"

msgid "Besked om ditt ärende {reference}"
msgstr "Tieto asiastasi {reference}"

msgid "{day} {month} {year}"
msgstr "{day}. {month} {year}"

msgid "mars"
msgstr "maaliskuuta"
"""

ENGLISH_OF_THE_KOMMUN = """\
msgid ""
msgstr ""
"Language: en\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "Hej %(name)s!"
msgstr "Hello %(name)s,"
"""


def _catalogue(root: Path, language: str, po: str) -> None:
    folder = root / language / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "klagomal.po").write_text(po, encoding="utf-8")
    (folder / "klagomal.mo").write_bytes(catalogues.compiled(folder / "klagomal.po"))


def test_a_kommun_adds_its_language_with_a_catalogue(
    k: Klagomal, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "fi" not in available_languages()
    with pytest.raises(InvalidInputError, match="okänt språk 'fi'"):
        register(k, language="fi")
    _catalogue(tmp_path / "locale", "fi", FINNISH)
    _catalogue(tmp_path / "locale", "en", ENGLISH_OF_THE_KOMMUN)
    monkeypatch.setenv("KLAGOMAL_LOCALEDIR", str(tmp_path / "locale"))
    assert available_languages() == {"en": "English", "fi": "suomi", "sv": "svenska"}
    ref = register(k, language="fi").reference
    k.acknowledge(ref, "Handläggare Hanna Ek", dt.date(2026, 3, 20))
    letter = k.letter(ref)
    assert letter.subject == f"Tieto asiastasi {ref}"
    assert letter.text.startswith(f"Hei {CONTACT.name}!\n\n")
    assert "20. maaliskuuta 2026" in letter.text
    assert '<html lang="fi">' in letter.html
    # What the catalogue does not translate is written in Swedish, never left out.
    assert "Med vänlig hälsning" in letter.text
    # The kommun's catalogue wins over klagomal's English, message by message.
    en = register(k, language="en").reference
    k.acknowledge(en, "Handläggare Hanna Ek", dt.date(2026, 3, 20))
    english = k.letter(en)
    assert english.text.startswith(f"Hello {CONTACT.name},\n\n")
    assert english.subject == f"Confirmation of your case {en}"

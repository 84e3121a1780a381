"""Canaries in every output path, for every role (issue 17, R27).

One database holds cases whose secret parts, protected person and
out-of-scope texts carry unique canary strings.  Then every way out of
klagomal is run as every kind of user, and each output is searched for the
canaries that user must not see there:

* every CLI command (read from the parser), with ``--json`` and without;
* every public method of :class:`~klagomal.Klagomal` (read from ``dir()``);
* every kind of notice (read from the template folder), through every
  built-in notifier: ``.eml`` files, printable letters, a real SMTP server
  on loopback and the log;
* every report audience and format, the register list, public extracts,
  exports, a person's export and the audit log, as the commands above
  produce them.

A command, method or notice kind that nobody added to the tables below
fails the test: a new output path cannot slip past it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import email
import email.policy
import io
import logging
import pathlib
import re
import shutil
from collections.abc import Callable, Iterator
from json import dumps as json_dumps
from json import loads as json_loads
from typing import Any

import attrs
import pytest

from klagomal import Contact, FixedClock, Klagomal
from klagomal.cli import _build_parser, main
from klagomal.core.location import Location
from klagomal.core.organisation import Organisation, parse_organisation
from klagomal.core.settings import SmtpSettings
from klagomal.intake import webform
from klagomal.notices.letters import BUILTIN_TEMPLATES, STAFF_NOTICES
from klagomal.records.gdpr import PersonQuery
from smtp_server import SmtpServer

UNIT = "soc-aldre-hemtjanst-norr"
OTHER_UNIT = "bou-forskola-ekorren"
GROUND = "OSL 26 kap. 1 §"

# -- the canaries --------------------------------------------------------------------------

#: Who the protected person is: name, e-mail, phone (as written and as digits), address, personnummer.
PROTECTED = Contact(
    name="Kanarie Skyddad",
    email="skyddad.kanarie@example.se",
    phone="070-111 22 33",
    address="Kanariegatan 7, 123 45 Exempelstad",
    personnummer="19850412-1230",
    preferred="epost",
    protected=True,
)
P = ("Kanarie Skyddad", "skyddad.kanarie", "111 22 33", "1112233", "Kanariegatan", "850412")
#: Texts marked secret: by part (a complaint's text, an action, an escalation's reason,
#: praise, a case waiting for a reminder), a whole case and the reason it was
#: flagged for threatening treatment (R28).
S = (
    "KANARIE-HEMLIG-TEXT",
    "KANARIE-HEMLIG-ATGARD",
    "KANARIE-HEMLIGT-SKAL",
    "KANARIE-HEMLIGT-BEROM",
    "KANARIE-HEMLIGT-HELA",
    "KANARIE-HEMLIG-PAMINNELSE",
    "KANARIE-HEMLIG-FLAGGA",
    "KANARIE-HEMLIG-ANTECKNING",
    "KANARIE-HEMLIG-PUBLICERAD",
)
#: A case at another förvaltning (bou): its text and its person's address.
OTHER = ("KANARIE-ANNAN-FORVALTNING", "annan.kanarie")

CANARIES = {"P": P, "S": S, "O": OTHER}

#: What each user may see of the cases when reading them in klagomal: P (who the
#: protected person is), S (secret texts, which staff with the case in scope handle),
#: O (the case at the other förvaltning).
ROLES: dict[str, frozenset[str]] = {
    "nora.lind": frozenset("PSO"),  # system owner
    "kim.berg": frozenset("PS"),  # förvaltningsadmin of soc, skyddade
    "ada.utan": frozenset("S"),  # förvaltningsadmin of soc, without skyddade
    "lena.holm": frozenset("S"),  # chef of the unit
    "omar.ali": frozenset("S"),  # handläggare at the unit
    "hanna.skydd": frozenset("PS"),  # handläggare at the unit, skyddade
    "bo.bou": frozenset("O"),  # förvaltningsadmin of bou
    "sven.ek": frozenset(),  # läsare: statistics only
}

EXTRA_USERS = """
[[anvandare]]
id = "ada.utan"
namn = "Administratör Ada Utan"
roll = "forvaltningsadmin"
forvaltningar = ["soc"]

[[anvandare]]
id = "hanna.skydd"
namn = "Hanna Skydd"
roll = "handlaggare"
enheter = ["soc-aldre-hemtjanst-norr"]
skyddade = true

[[anvandare]]
id = "bo.bou"
namn = "Administratör Bo Bou"
roll = "forvaltningsadmin"
forvaltningar = ["bou"]
"""

# -- the outputs: what may appear where ---------------------------------------------------------


def reader(role: str) -> frozenset[str]:
    """Reading the cases in klagomal."""
    return ROLES[role]


def leaving(role: str) -> frozenset[str]:
    """What leaves klagomal for many readers (reports, the register, an extract):
    never a secret text, never who a protected person is."""
    return ROLES[role] - {"S", "P"}


def nothing(role: str) -> frozenset[str]:
    """The page of a follow link, open to whoever has it: no canary, for anyone."""
    return frozenset()


def without_protected(role: str) -> frozenset[str]:
    """An export for moving the database, without skyddade personuppgifter."""
    return ROLES[role] - {"P"}


#: Each CLI command (a top-level command or ``command subcommand``): the argument
#: lists to run it with, and what its output may hold.  ``{A}`` ... ``{E}`` are the
#: cases below; ``{tmp}`` is a folder of the run's own.
CLI: dict[str, tuple[list[str], Callable[[str], frozenset[str]]]] = {
    "init": (["init"], reader),
    "demo": (["--db", "sqlite:///{tmp}/demo.db", "demo", "--cases", "5"], reader),
    "units": (["units"], reader),
    "organisation": (["organisation"], reader),
    "register": (
        [
            "register",
            "--kind",
            "forslag",
            "--channel",
            "telefon",
            "--unit",
            UNIT,
            "--text",
            "Ny.",
            "--anonymous",
        ],
        reader,
    ),
    "show": (["show", "{A}"], reader),
    "list": (["list"], reader),
    "search": (["search", "KANARIE"], reader),
    "related": (["related", "{A}"], reader),
    "forward": (["forward", "{A}", "--to", "soc-aldre-solgarden"], reader),
    "acknowledge": (["acknowledge", "{A}", "--handler", "Omar Ali"], reader),
    "assign": (["assign", "{F}", "--handler", "omar.ali"], reader),
    "inform": (["inform", "{A}", "--text", "Vi hör av oss."], reader),
    "postpone": (["postpone", "{C}", "--respond-by", "2026-05-29", "--reason", "Semester."], reader),
    "pause": (["pause", "{C}", "--reason", "Vi väntar på ett intyg."], reader),
    "resume": (["resume", "{C}"], reader),
    "answer": (["answer", "{C}", "--mode", "skriftligt", "--text", "Svar."], reader),
    "action": (["action", "{A}", "--text", "Ny åtgärd."], reader),
    "close": (["close", "{E}", "--satisfied"], reader),
    "escalate": (["escalate", "{E}", "--reason", "Inte nöjd."], reader),
    "pass-on": (["pass-on", "{B}", "--to", "Omar Ali"], reader),
    "guide": (["guide", "{A}", "--route", "felanmalan", "--text", "Ring felanmälan."], reader),
    "reclassify": (["reclassify", "{B}", "--kind", "forslag", "--reason", "Ett förslag."], reader),
    "flag": (["flag", "{A}", "--krankande", "--om", "arende", "--reason", "Svordomar."], reader),
    "unflag": (["unflag", "{C}", "--reason", "Utrett."], reader),
    "note": (["note", "{A}", "Ny anteckning."], reader),
    "attach": (["attach", "{A}", "{tmp}/brev.pdf"], reader),
    "correct-contact": (["correct-contact", "{B}", "--phone", "070-999 88 77"], reader),
    "locate": (["locate", "{A}", "--place", "Kanarievägen 1", "--reason", "Ringde."], reader),
    "export": (["export"], without_protected),
    "import": (["import", "{tmp}/empty-export.json"], reader),
    "import-cases": (["import-cases", "{tmp}/old.csv", "--no-progress"], reader),
    "plugins": (["plugins"], reader),
    "letter": (["letter", "{A}"], reader),
    "report": (["report", "--period", "2026-T1"], leaving),
    "whoami": (["whoami"], reader),
    "describe": (["describe", "{A}", "Synpunkt på hemtjänsten"], reader),
    "secrecy": (["secrecy", "{B}", "--ground", GROUND], reader),
    "register-extract": (["register-extract", "--period", "2026-T1"], leaving),
    "extract": (["extract", "{A}"], leaving),
    "person export": (["person", "export", "--email", PROTECTED.email or ""], reader),
    "person anonymise": (
        ["person", "anonymise", "--email", PROTECTED.email or "", "--decision", "Dnr 1"],
        reader,
    ),
    "gallra": (["gallra", "--dry-run"], reader),
    "audit verify": (["audit", "verify"], reader),
    "audit log": (["audit", "log", "--limit", "500"], reader),
    "resolve": (["resolve", "{D}", "--text", "Löst.", "--handler", "Bo"], reader),
    "intake email": (["intake", "email", "{tmp}/reply.eml"], reader),
    "intake maildir": (["intake", "maildir", "{tmp}/maildir"], reader),
    "intake mbox": (["intake", "mbox", "{tmp}/mail.mbox"], reader),
    # No [[intag.imap]] here (a mailbox's messages are receive_email's outcomes, covered above).
    "intake imap": (["intake", "imap"], reader),
    "intake release": (["intake", "release", "1"], reader),
    "intake csv": (["intake", "csv", "{tmp}/cards.csv"], reader),
    "intake log": (["intake", "log"], reader),
    "deliver": (["deliver"], reader),
    "outbox": (["outbox", "--all"], reader),
    "remind": (["remind", "--notifier", "log"], reader),
    # The worker (issue 23): once, then the record of its runs and leases.
    "worker": (["worker", "--once"], reader),
    "jobs": (["jobs"], reader),
    # The HTTP API's keys (issue 21): what each request may see is the
    # key's user's, tested per endpoint in tests/test_web_server.py.
    "apikey create": (["apikey", "create", "--for-user", "omar.ali", "--name", "e-tjanst"], reader),
    "apikey list": (["apikey", "list"], reader),
    "apikey revoke": (["apikey", "revoke", "1"], reader),
    # The phrase library (R23): wording, never case data.
    "phrases list": (["phrases", "list", "--all"], reader),
    "phrases add": (["phrases", "add", "soc", "tack", "--title", "Tack", "--text", "Tack!"], reader),
    "phrases edit": (["phrases", "edit", "1", "--text", "Tack så mycket!"], reader),
    "phrases retire": (["phrases", "retire", "1"], reader),
    # Webhooks (issue 21): the payloads' own canaries are in tests/test_webhooks.py.
    "webhook add": (["webhook", "add", "http://127.0.0.1:9/hook", "--for-user", "omar.ali", "--all"], reader),
    "webhook list": (["webhook", "list"], reader),
    "webhook remove": (["webhook", "remove", "1"], reader),
    "webhook deliver": (["webhook", "deliver"], reader),
    "webhook deliveries": (["webhook", "deliveries"], reader),
    "webhook retry": (["webhook", "retry", "1"], reader),
}

#: More argument lists for commands whose options open other output paths.
CLI_MORE: list[tuple[list[str], Callable[[str], frozenset[str]]]] = [
    (["show", "{B}"], reader),
    (["show", "{C}"], reader),
    (["show", "{D}"], reader),
    (["show", "{E}"], reader),
    (["list", "--quarantine"], reader),
    # Issue 19: a protected person's contact corrected (refused to who may not see it).
    (["correct-contact", "{A}", "--phone", "070-111 22 34", "--reason", "Ringde."], reader),
    (["list", "--mine"], reader),
    (["list", "--open"], reader),
    (["search", "Kanarie Skyddad"], reader),
    (["search", "skyddad.kanarie@example.se", "--limit", "5"], reader),
    (["search", "hemlig"], reader),
    *[(["related", "{" + case + "}"], reader) for case in "BCDEF"],
    (["letter", "{C}"], reader),
    (["export", "--with-protected"], reader),
    (["extract", "{B}"], leaving),
    (["extract", "{C}"], leaving),
    (["extract", "{D}"], leaving),
    (["person", "export", "--email", PROTECTED.email or "", "--format", "html"], reader),
    (["person", "export", "--email", "annan.kanarie@example.se"], reader),
    (["outbox"], reader),
    (["outbox", "--resend", "1"], reader),
    (["outbox", "--done", "1"], reader),
    (["audit", "log", "--case", "{A}"], reader),
    (["gallra"], reader),
    *[
        (["report", "--period", "2026-T1", "--audience", audience, "--format", fmt, *where], leaving)
        for audience in ("staff", "politicians")
        for fmt in ("text", "html", "json")
        for where in ([], ["--forvaltning", "soc"])
    ],
    (["report", "--period", "2026-T1", "--format", "csv", "--out", "{tmp}/csv"], leaving),
]

#: Commands that start a server and never return; their output is a protocol's
#: replies, tested in tests/test_serve_smtp.py and tests/test_web_server.py.
SERVERS = {"serve-smtp", "serve"}


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    """Every command of the parser, subcommands as ``"command subcommand"``."""
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                inner = _commands(sub, f"{prefix}{name} ")
                found |= inner or {f"{prefix}{name}"}
    return found


# -- the world ----------------------------------------------------------------------------------


@attrs.frozen
class World:
    """The database the outputs are made from (a copy per run), with its cases."""

    folder: pathlib.Path
    org_file: pathlib.Path
    organisation: Organisation
    db: pathlib.Path
    refs: dict[str, str]
    notices: dict[str, list[tuple[str, str]]]  # notifier -> [(kind and reference, text)]

    def copy(self, into: pathlib.Path) -> str:
        into.mkdir(parents=True, exist_ok=True)
        target = into / "klagomal.db"
        shutil.copyfile(self.db, target)
        return f"sqlite:///{target}"


def _build(k: Klagomal, clock: FixedClock) -> dict[str, str]:
    """The cases: A protected and secret by part, B praise secret by part, C wholly
    secret, D at another förvaltning, E waiting for a reminder and secret by part."""

    def register(**kw: Any) -> str:
        kw.setdefault("channel", "epost")
        kw.setdefault("unit", UNIT)
        return str(k.register(**kw).reference)

    a = register(kind="klagomal", text="Hemtjänsten kom inte. KANARIE-HEMLIG-TEXT", contact=PROTECTED)
    k.mark_secret(a, GROUND, parts=[1])
    b = register(
        kind="berom",
        text="Tack! KANARIE-HEMLIGT-BEROM",
        contact=Contact(name="Eva Lund", email="eva.lund@example.se"),
    )
    k.mark_secret(b, GROUND, parts=[1])
    k.pass_on_praise(b, ["Lisa Holm <lisa.holm@exempelkommun.se>"], "Fint jobbat!")
    c = register(
        kind="klagomal",
        channel="brev",
        text="Om min dotter: KANARIE-HEMLIGT-HELA",
        contact=Contact(name="Olle Brev", address="Storgatan 1, 123 45 Exempelstad", preferred="brev"),
    )
    k.mark_secret(c, GROUND)
    # R28: the wholly secret case is flagged; its chef is told (flaggning), never the reason.
    k.flag_threat(c, "hotfullt", reason="Hotade personalen. KANARIE-HEMLIG-FLAGGA")
    d = register(
        kind="klagomal",
        unit=OTHER_UNIT,
        text="Förskolan: KANARIE-ANNAN-FORVALTNING",
        contact=Contact(email="annan.kanarie@example.se"),
    )
    e = register(
        kind="klagomal",
        text="Ingen ringde. KANARIE-HEMLIG-PAMINNELSE",
        contact=Contact(phone="070-222 33 44"),
    )
    k.mark_secret(e, GROUND, parts=[1])

    clock.advance(1)  # 2026-03-03
    k.acknowledge(a, "Omar Ali", dt.date(2026, 3, 20))
    k.inform(a, "Vi utreder saken.")
    k.postpone(a, dt.date(2026, 3, 27), "Vi väntar på schemat.")
    k.pause(a, "Vi behöver veta vilken dag det gällde.")
    clock.advance(1)
    k.resume(a)
    k.guide(a, "felanmalan", "Trasiga larm anmäls till felanmälan.")
    k.record_action(a, "Samtal med personalen. KANARIE-HEMLIG-ATGARD")
    k.mark_secret(a, GROUND, parts=[k.get(a).version])
    k.answer(a, "skriftligt", "Vi ber om ursäkt.")
    k.close(a, False)
    k.escalate(a, "Jag är inte nöjd. KANARIE-HEMLIGT-SKAL")
    k.mark_secret(a, GROUND, parts=[k.get(a).version])
    clock.advance(1)
    k.acknowledge(a, "Socialchef Eva Nyström", dt.date(2026, 3, 27))
    k.answer(a, "skriftligt", "Förvaltningen beklagar.")
    k.close(a, False)
    k.escalate(a, "Fortfarande inte nöjd.")
    k.acknowledge(c, "Omar Ali", dt.date(2026, 4, 30))
    k.answer(c, "skriftligt", "Vi har rättat beslutet.")
    k.acknowledge(d, "Per Förskola", dt.date(2026, 3, 27))
    k.acknowledge(e, "Omar Ali", dt.date(2026, 3, 27))
    k.answer(e, "muntligt", "Vi ringde.")
    # The protected person answers the besked by e-mail: threaded into A by its Message-ID.
    besked = next(n for n in k.outbox(reference=a) if n.kind == "besked")
    reply = (
        f"From: Kanarie Skyddad <{PROTECTED.email}>\r\nTo: synpunkter@exempelkommun.se\r\n"
        f"Subject: Re: Besked\r\nMessage-ID: <svar-1@example.se>\r\nIn-Reply-To: {besked.message_id}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nJag ringer på tisdag.\r\n"
    ).encode()
    assert k.receive_email(reply).outcome == "reply"
    # And sends it again: a duplicate in the intake log, which names her.
    assert k.receive_email(reply).outcome == "duplicate"
    # A case that waits for its besked, for the reminders.
    f = register(kind="klagomal", text="Ingen har hört av sig.", contact=Contact(phone="070-333 44 55"))
    # Issue 19: a secret-by-part case is assigned to a handler, who is told (tilldelning).
    k.assign(e, "hanna.skydd")
    # Issue 19: in A, a note marked secret, a document named after the protected
    # person, and her address corrected (the old one stays in the history).
    k.add_note(a, "Hon ringde. KANARIE-HEMLIG-ANTECKNING")
    k.mark_secret(a, GROUND, parts=[k.get(a).version])
    k.attach(a, b"%PDF-1.4 brev", filename="Kanarie Skyddad brev.pdf")
    k.correct_contact(a, address="Kanariegatan 9, 123 45 Exempelstad", reason="Hon har flyttat.")
    # A web form's case, whose kvittens waits in the outbox (klagomal.cases.follow).
    posted = {"typ": "forslag", "text": "Fler bänkar.", "enhet": UNIT, "epost": "ny.person@example.se"}
    form = webform.validate_form(posted, k.organisation, today=clock.today())
    assert isinstance(form, webform.FormSubmission)
    i = webform.register_submission(k, form, public_url="").case.reference
    # The public list of answered cases: G published, then marked secret by
    # part (which withdraws it); H published and left so.
    g = register(
        kind="klagomal", text="Maten var kall. KANARIE-HEMLIG-PUBLICERAD", contact=Contact(name="Gun Publik")
    )
    h = register(kind="forslag", text="Fler bänkar i parken.", contact=Contact(name="Hans Publik"))
    for case in (g, h):
        k.acknowledge(case, "Omar Ali", dt.date(2026, 3, 27))
        k.answer(case, "skriftligt", "Tack, vi ser över det.")
        k.publish(case)
    k.mark_secret(g, GROUND, parts=[1])
    return {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f, "G": g, "H": h, "I": i}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("canaries")
    text = (BUILTIN_TEMPLATES.parents[1] / "data" / "exempelkommun.toml").read_text(encoding="utf-8")
    org_file = folder / "kommun.toml"
    org_file.write_text(text + EXTRA_USERS, encoding="utf-8")
    organisation = parse_organisation(org_file.read_text(encoding="utf-8"), source=str(org_file))
    base = folder / "base.db"
    clock = FixedClock(dt.date(2026, 3, 2))
    with Klagomal(f"sqlite:///{base}", clock=clock, organisation=organisation, load_entrypoints=False,
                  user="system") as k:  # fmt: skip
        k.init()
        refs = _build(k, clock)
        # The private links of the protected person's case and the wholly secret one.
        tokens = {name: k.follow_link(refs[name]) for name in "AC"}
        (folder / "follow.json").write_text(json_dumps(tokens), encoding="utf-8")
    notices: dict[str, list[tuple[str, str]]] = {}
    remind_day = dt.date(2026, 3, 17)  # F's besked was due yesterday; E's answer is not due

    def deliver(name: str, organisation: Organisation) -> Klagomal:
        db = folder / f"{name}.db"
        shutil.copyfile(base, db)
        k = Klagomal(f"sqlite:///{db}", clock=FixedClock(remind_day), organisation=organisation,
                     load_entrypoints=False, user="system")  # fmt: skip
        run = k.deliver()
        assert not run.failed, (name, run)
        assert not run.retry, (name, run)
        k.remind(notifier=organisation.delivery.notifier_for_email)
        return k

    # .eml files and printable letters, as Exempelkommun delivers without a mail server.
    files = folder / "utskick"
    on_file = attrs.evolve(organisation.delivery, folder=str(files))
    deliver("delivered", attrs.evolve(organisation, delivery=on_file)).dispose()
    notices["fil"] = [(path.name, _decoded(path)) for path in sorted(files.iterdir())]
    # A real SMTP server on loopback.
    with SmtpServer() as server:
        smtp = SmtpSettings(host=server.host, port=server.port, security="ingen", timeout=5)
        by_smtp = attrs.evolve(organisation.delivery, folder=str(folder / "brev-smtp"), smtp=smtp)
        deliver("smtp", attrs.evolve(organisation, delivery=by_smtp)).dispose()
        notices["smtp"] = [(_name(m.message), _text(m.message)) for m in server.messages]
    # The log.
    records = _LogRecords()
    logger = logging.getLogger("klagomal.notices")
    level = logger.level
    logger.addHandler(records)
    logger.setLevel(logging.INFO)
    try:
        by_log = attrs.evolve(organisation.delivery, email_notifier="log", folder=str(folder / "brev-log"))
        deliver("log", attrs.evolve(organisation, delivery=by_log)).dispose()
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    notices["log"] = records.lines

    # Files the intake and import commands read.
    (folder / "reply.eml").write_bytes(
        b"From: Ny Person <ny@example.se>\r\nTo: synpunkter@exempelkommun.se\r\nSubject: Hej\r\n"
        b"Message-ID: <ny-1@example.se>\r\n\r\nParkeringen saknar belysning.\r\n"
    )
    (folder / "maildir" / "new").mkdir(parents=True)
    for sub in ("cur", "tmp"):
        (folder / "maildir" / sub).mkdir()
    shutil.copyfile(folder / "reply.eml", folder / "maildir" / "new" / "1.eml")
    (folder / "mail.mbox").write_bytes(
        b"From ny@example.se Mon Mar  2 10:00:00 2026\n"
        + (folder / "reply.eml").read_bytes().replace(b"\r\n", b"\n")
    )
    (folder / "brev.pdf").write_bytes(b"%PDF-1.4 brev")
    (folder / "cards.csv").write_text("typ;text\nforslag;Fler bänkar.\n", encoding="utf-8")
    (folder / "old.csv").write_text(
        "external_id,kind,channel,unit,text,received\n"
        "X-1,forslag,brev,klf-kontaktcenter,Fler bänkar.,2026-01-05\n",
        encoding="utf-8",
    )
    with Klagomal(f"sqlite:///{folder / 'empty.db'}", organisation=organisation, load_entrypoints=False,
                  user="system") as empty:  # fmt: skip
        empty.init()
        with (folder / "empty-export.json").open("w", encoding="utf-8") as stream:
            empty.export_to(stream)
    return World(folder, org_file, organisation, folder / "delivered.db", refs, notices)


class _LogRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        self.lines.append((text.splitlines()[0], text))


def _text(message: email.message.Message) -> str:
    """Every header and every part of an e-mail, decoded."""
    parts = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True) or b""
            parts.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
    return "\n".join(parts)


def _name(message: email.message.Message) -> str:
    return f"{message['X-Klagomal-Reference']}-{message['X-Klagomal-Notice']}"


def _decoded(path: pathlib.Path) -> str:
    if path.suffix == ".eml":
        return _text(email.message_from_bytes(path.read_bytes(), policy=email.policy.default))
    return path.read_text(encoding="utf-8")


def _leaks(text: str, allowed: frozenset[str]) -> list[str]:
    return [c for group, found in CANARIES.items() if group not in allowed for c in found if c in text]


# -- the CLI ----------------------------------------------------------------------------------


def test_every_cli_command_is_in_the_table() -> None:
    assert _commands(_build_parser()) == set(CLI) | SERVERS


def _run_cli(world: World, argv: list[str], user: str, run: pathlib.Path) -> str:
    db = world.copy(run)
    argv = [a.format(tmp=world.folder, **world.refs) for a in argv]
    if "--db" not in argv:
        argv = ["--db", db, *argv]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.chdir(run):
        # On the real date: a date set by hand is held to rules that would
        # refuse most writes here (tests/test_leaks.py tests those).
        status = main(["--org", str(world.org_file), "--user", user, *argv], stdout=out)
    produced = out.getvalue() + err.getvalue()
    assert status in (0, 1, 75, 77), (argv, status, produced)  # 75: intake, try again
    # What a command wrote to files is output too (reports, extracts, utskick/).
    for path in sorted(p for p in run.rglob("*") if p.is_file() and p.suffix != ".db"):
        produced += "\n" + _decoded(path)
    for path in sorted((world.folder / "csv").glob("*")) if "--out" in argv else ():
        produced += "\n" + path.read_text(encoding="utf-8")
        path.unlink()
    return produced


@pytest.mark.parametrize("user", list(ROLES))
def test_no_cli_command_shows_a_user_what_they_may_not_see(
    world: World, user: str, tmp_path: pathlib.Path
) -> None:
    runs = [*CLI.values(), *CLI_MORE]
    seen: set[str] = set()
    for number, (argv, allowed) in enumerate(runs):
        for json in ([], ["--json"]):
            produced = _run_cli(world, json + argv, user, tmp_path / f"{number}{'j' if json else ''}")
            leaked = _leaks(produced, allowed(user))
            assert not leaked, f"{user}: {' '.join(argv)} {json} shows {leaked}"
            seen |= {group for group, found in CANARIES.items() for c in found if c in produced}
    # Not vacuous: what a user may read, they do read somewhere.
    assert seen == ROLES[user], (user, seen)


# -- the Python API ---------------------------------------------------------------------------

#: Every public attribute of Klagomal: how to call it, and what its result may hold.
#: ``k`` acts as the user under test on a copy of the database; ``r`` are the cases.
METHODS: dict[str, tuple[Callable[[Klagomal, dict[str, str]], Any], Callable[[str], frozenset[str]]]] = {
    "acknowledge": (lambda k, r: k.acknowledge(r["F"], "Omar Ali"), reader),
    "anonymise_person": (
        lambda k, r: k.anonymise_person(PersonQuery(email=PROTECTED.email), "Dnr 1"),
        reader,
    ),
    "add_note": (lambda k, r: k.add_note(r["A"], "Anteckning."), reader),
    "answer": (lambda k, r: k.answer(r["C"], "skriftligt", "Svar."), reader),
    "as_user": (lambda k, r: k.as_user("sven.ek").user, reader),
    "assign": (lambda k, r: k.assign(r["A"], "hanna.skydd"), reader),
    "attach": (lambda k, r: k.attach(r["A"], b"%PDF-1.4", filename="brev.pdf"), reader),
    "attachments": (lambda k, r: k.attachments(r["A"]), reader),
    "audit_log": (lambda k, r: k.audit_log(limit=500), reader),
    "audit_verify": (lambda k, r: k.audit_verify(), reader),
    "cases": (lambda k, r: k.cases(), reader),
    "cases_received": (lambda k, r: k.cases_received(dt.date(2026, 1, 1), dt.date(2026, 12, 31)), reader),
    "channels": (lambda k, r: k.channels, reader),
    "close": (lambda k, r: k.close(r["E"], True), reader),
    "complete_task": (lambda k, r: k.complete_task(1), reader),
    "correct_contact": (
        lambda k, r: [
            k.correct_contact(r["A"], phone="070-111 22 35"),
            k.correct_contact(r["B"], phone="070"),
        ],
        reader,
    ),
    "deliver": (lambda k, r: k.deliver(), reader),
    "locate": (lambda k, r: k.locate(r["B"], Location(address="Kanarievägen 2"), reason="Ringde."), reader),
    "describe": (lambda k, r: k.describe(r["A"], "Synpunkt"), reader),
    "dimensions": (lambda k, r: k.dimensions, reader),
    "disposals": (lambda k, r: [k.disposals(ref) for ref in r.values()], reader),
    "dispose": (lambda k, r: k.dispose(), reader),
    "escalate": (lambda k, r: k.escalate(r["E"], "Inte nöjd."), reader),
    "export": (lambda k, r: k.export(), without_protected),
    "export_to": (lambda k, r: _stream(k.export_to), without_protected),
    "forward": (lambda k, r: k.forward(r["A"], "soc-aldre-solgarden"), reader),
    "flag_threat": (
        lambda k, r: k.flag_threat(r["A"], "krankande", about="arende", reason="Svordomar."),
        reader,
    ),
    "get": (lambda k, r: [k.get(ref) for ref in r.values()], reader),
    # "Följ ditt ärende" (klagomal.cases.follow): the page and what the person
    # adds need no user and show nothing internal, secret or protected.
    "follow": (lambda k, r: [k.follow(token) for token in _tokens(r)], nothing),
    "add_information": (
        lambda k, r: [k.add_information(token, "Jag vill lägga till en sak.") for token in _tokens(r)],
        nothing,
    ),
    "follow_link": (lambda k, r: k.follow_link(r["A"]), reader),
    "revoke_follow_link": (lambda k, r: k.revoke_follow_link(r["C"]), reader),
    "guide": (lambda k, r: k.guide(r["A"], "felanmalan", "Ring."), reader),
    "histories": (lambda k, r: k.histories(list(r.values())), reader),
    "history": (lambda k, r: [k.history(ref) for ref in r.values()], reader),
    "import_": (
        lambda k, r: k.import_({"format": "klagomal-export", "version": 2, "references": {}, "cases": []}),
        reader,
    ),
    "import_cases": (lambda k, r: k.import_cases(r["tmp"] + "/old.csv"), reader),
    "inform": (lambda k, r: k.inform(r["A"], "Vi hör av oss."), reader),
    "init": (lambda k, r: k.init(), reader),
    "intake_cards": (lambda k, r: k.intake_cards(r["tmp"] + "/cards.csv"), reader),
    "intake_log": (lambda k, r: k.intake_log(), reader),
    # The worker's leases and runs (issue 23): counts, never case data.
    "take_job_lease": (lambda k, r: k.take_job_lease("utskick", "w", 60), reader),
    "release_job_leases": (lambda k, r: k.release_job_leases("w"), reader),
    "start_job_run": (lambda k, r: k.start_job_run("utskick", "w", dt.date(2026, 3, 5)), reader),
    "finish_job_run": (
        lambda k, r: k.finish_job_run(k.start_job_run("utskick", "w", dt.date(2026, 3, 5)), "ok"),
        reader,
    ),
    "job_runs": (lambda k, r: k.job_runs(), reader),
    "prune_job_runs": (lambda k, r: k.prune_job_runs(), reader),
    "job_status": (lambda k, r: k.job_status(), reader),
    "letter": (lambda k, r: [k.letter(r["A"]), k.letter(r["C"])], reader),
    "lift_threat_flag": (lambda k, r: k.lift_threat_flag(r["C"], "Utrett."), reader),
    "lift_secrecy": (lambda k, r: k.lift_secrecy(r["C"], "Utrett."), reader),
    "mark_secret": (lambda k, r: k.mark_secret(r["B"], GROUND), reader),
    "notices": (lambda k, r: [k.notices(ref) for ref in r.values()], reader),
    "may_read": (lambda k, r: k.may_read(k.as_user("system").get(r["A"])), reader),
    "open_deadline": (lambda k, r: k.open_deadline(k.as_user("system").get(r["A"])), reader),
    "open_notices": (lambda k, r: k.open_notices(list(r.values())), reader),
    # Numbers of the whole kommun for the metrics, without a user: no canary, for anyone.
    "operations_counts": (lambda k, r: k.operations_counts(), nothing),
    "outbox": (lambda k, r: [k.outbox(), *(k.outbox(reference=ref) for ref in r.values())], reader),
    "pass_on_praise": (lambda k, r: k.pass_on_praise(r["B"], ["Omar Ali"]), reader),
    "pause": (lambda k, r: k.pause(r["C"], "Vi väntar."), reader),
    "person_export": (lambda k, r: k.person_export(PersonQuery(email=PROTECTED.email)), reader),
    "postpone": (lambda k, r: k.postpone(r["C"], dt.date(2026, 5, 29), "Semester."), reader),
    "public_extract": (lambda k, r: [k.public_extract(ref) for ref in r.values()], leaving),
    # The public list of answered cases: never a secret text or who a protected
    # person is, for anyone (H is published; G was, until it was marked secret).
    "publish": (lambda k, r: [_each(k.publish, ref) for ref in r.values() if ref.startswith("20")], reader),
    "unpublish": (lambda k, r: [_each(k.unpublish, r[c], "Tillbaka.") for c in "GH"], reader),
    "published": (
        lambda k, r: [k.published(), k.published(department="soc"), k.published(limit=1, offset=1)],
        leaving,
    ),
    "published_case": (lambda k, r: [k.published_case(ref) for ref in r.values()], leaving),
    "rebuild": (lambda k, r: [k.rebuild(ref) for ref in r.values()], reader),
    # No [[intag.imap]] here (a mailbox's messages are receive_email's outcomes, covered above).
    "read_mailbox": (lambda k, r: k.read_mailbox(), reader),
    "receive_email": (
        lambda k, r: k.receive_email(pathlib.Path(r["tmp"] + "/reply.eml").read_bytes()),
        reader,
    ),
    "received_messages": (
        lambda k, r: [k.received_messages(), k.received_messages(reference=r["A"])],
        reader,
    ),
    "reclassify": (lambda k, r: k.reclassify(r["B"], "forslag", "Ett förslag."), reader),
    "record_action": (lambda k, r: k.record_action(r["A"], "Åtgärd."), reader),
    "register": (lambda k, r: k.register(kind="forslag", channel="telefon", unit=UNIT, text="Ny."), reader),
    "public_requests": (
        lambda k, r: k.public_requests(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31)),
        leaving,
    ),
    "register_list": (lambda k, r: k.register_list(dt.date(2026, 1, 1), dt.date(2026, 12, 31)), leaving),
    "registration": (lambda k, r: "pure: decides a registration from given input", reader),
    "release_from_quarantine": (lambda k, r: k.release_from_quarantine(1), reader),
    "dismiss_from_quarantine": (lambda k, r: k.dismiss_from_quarantine(1, reason="kanarie"), reader),
    "remind": (lambda k, r: k.remind(notifier="log"), reader),
    "reminders": (lambda k, r: k.reminders(), reader),
    "report_sections": (lambda k, r: k.report_sections(dt.date(2026, 1, 1), dt.date(2026, 6, 30)), leaving),
    "requeue": (lambda k, r: k.requeue(statuses=("failed", "uncertain")), reader),
    "resolve_at_once": (lambda k, r: k.resolve_at_once(r["F"], "Löst.", "Omar Ali"), reader),
    "resume": (lambda k, r: k.resume(r["C"]), reader),
    "run_disposal": (lambda k, r: k.run_disposal(dry_run=True), reader),
    "search": (
        lambda k, r: [k.search(word) for word in ("KANARIE", "Kanarie Skyddad", "skyddad.kanarie", "hemlig")],
        reader,
    ),
    "related": (lambda k, r: [_related(k, ref) for ref in r.values() if ref.startswith("20")], reader),
    "with_lock_wait": (lambda k, r: k.with_lock_wait(5).get(r["A"]), reader),
    "webhooks": (lambda k, r: [k.webhooks.subscriptions(), k.webhooks.deliveries()], reader),
    # The HTTP API's keys and idempotent answers (klagomal.web): the answers
    # are stored as the API made them for the key's user (tests/test_web_server.py).
    "create_api_key": (lambda k, r: k.create_api_key("omar.ali", "e-tjanst"), reader),
    "api_keys": (lambda k, r: k.api_keys(), reader),
    "revoke_api_key": (lambda k, r: k.revoke_api_key(1), reader),
    "api_key_user": (lambda k, r: k.api_key_user("klagomal_ingen-nyckel"), reader),
    "idempotent_request": (lambda k, r: k.idempotent_request("system", "nyckel", "fraga").found(), reader),
    # The phrase library (R23): no case data in it, so nothing to leak.
    "phrases": (lambda k, r: k.phrases(include_retired=True), reader),
    "phrase": (lambda k, r: k.phrase(1), reader),
    "save_phrase": (
        lambda k, r: k.save_phrase("soc", "tack", "Tack", "Tack för att du hörde av dig."),
        reader,
    ),
    "retire_phrase": (lambda k, r: k.retire_phrase(1), reader),
    "worklist": (lambda k, r: k.worklist(), reader),
    "timeliness": (lambda k, r: k.timeliness(dt.date(2026, 1, 1), dt.date(2026, 6, 30)), leaving),
}


def _tokens(r: dict[str, str]) -> list[str]:
    """The follow links of A and C, as the world issued them."""
    tokens: dict[str, str] = json_loads(pathlib.Path(r["tmp"], "follow.json").read_text(encoding="utf-8"))
    return list(tokens.values())


def test_the_follow_page_shows_the_person_their_letters_and_no_canary(
    world: World, tmp_path: pathlib.Path
) -> None:
    # Not vacuous, as the table's "nothing" alone would be: the pages of A
    # (protected, secret by part) and C (wholly secret) show their letters.
    with Klagomal(world.copy(tmp_path), organisation=world.organisation, load_entrypoints=False) as k:
        pages = [k.follow(token) for token in _tokens({"tmp": str(world.folder)})]
        shown = repr(pages)
        assert [[letter.kind for letter in page.letters] for page in pages if page is not None] == [
            ["besked", "information", "forsening", "komplettering", "aterupptaget", "vagledning", "svar",
             "besked", "svar"],
            ["besked", "svar"],
        ]  # fmt: skip
        assert "Vi ber om ursäkt." in shown
        assert "Vi har rättat beslutet." in shown
        assert _leaks(shown, frozenset()) == []


def _related(k: Klagomal, reference: str) -> object:
    """The related cases of one case, or the refusal: each case on its own."""
    try:
        return k.related(reference)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _each(step: Callable[..., Any], *args: Any) -> object:
    """A step on one case, or its refusal: each case on its own."""
    try:
        return step(*args)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _stream(write: Callable[..., Any]) -> str:
    stream = io.StringIO()
    write(stream)
    return stream.getvalue()


def test_every_public_method_is_in_the_table() -> None:
    assert {name for name in dir(Klagomal) if not name.startswith("_")} == set(METHODS)


@pytest.mark.parametrize("user", list(ROLES))
def test_no_method_returns_a_user_what_they_may_not_see(
    world: World, user: str, tmp_path: pathlib.Path
) -> None:
    seen: set[str] = set()
    for name, (call, allowed) in METHODS.items():
        run = tmp_path / name
        url = world.copy(run)
        clock = FixedClock(dt.date(2026, 3, 17))
        with contextlib.chdir(run), Klagomal(url, organisation=world.organisation, clock=clock,
                                             load_entrypoints=False, user=user) as k:  # fmt: skip
            try:
                result = repr(call(k, {**world.refs, "tmp": str(world.folder)}))
            except Exception as exc:  # a refusal is output too
                result = f"{type(exc).__name__}: {exc}"
        leaked = _leaks(result, allowed(user))
        assert not leaked, f"{user}: {name} returns {leaked}"
        seen |= {group for group, found in CANARIES.items() for c in found if c in result}
    assert seen == ROLES[user], (user, seen)


def test_the_public_list_shows_what_was_published_and_never_a_case_since_marked_secret(
    world: World, tmp_path: pathlib.Path
) -> None:
    # Without a user, as the public page asks: H with its masked texts, G
    # withdrawn by its marking, and no canary anywhere in the list.
    url = world.copy(tmp_path)
    with Klagomal(url, organisation=world.organisation, clock=FixedClock(dt.date(2026, 3, 17)),
                  load_entrypoints=False, user="sven.ek") as k:  # fmt: skip
        listed = k.published()
        assert [p.reference for p in listed] == [world.refs["H"]]
        assert listed[0].answer == "Tack, vi ser över det."
        assert k.published_case(world.refs["G"]) is None
        assert _leaks(repr(listed), frozenset()) == []


# -- notices ---------------------------------------------------------------------------------------


def _kinds() -> set[str]:
    return {p.stem for p in BUILTIN_TEMPLATES.glob("*.txt") if not p.name.startswith("_")}


@pytest.mark.parametrize("notifier", ["fil", "smtp", "log"])
def test_every_notice_kind_tells_each_recipient_only_theirs(world: World, notifier: str) -> None:
    seen_kinds: set[str] = set()
    refs = {ref: letter for letter, ref in world.refs.items()}
    for name, text in world.notices[notifier]:
        kind = next((token for token in re.split(r"[^a-z_]+", name) if token in _kinds()), None)
        assert kind is not None, name
        seen_kinds.add(kind)
        case = refs.get(next((ref for ref in refs if ref in name), ""), "?")
        if kind in STAFF_NOTICES:
            # To staff, by e-mail: no secret text, never who a protected person is, nothing of another case.
            allowed: frozenset[str] = frozenset("O") if case == "D" else frozenset()
        else:
            # To the person: their own case; who they are, in a letter to them, is theirs.
            allowed = frozenset("P" if case == "A" else "O" if case == "D" else "")
        assert not _leaks(text, allowed), (notifier, name, _leaks(text, allowed))
    # Every kind the templates know was sent (the log notifier writes staff
    # reminders too); a new kind without a case here fails.
    assert seen_kinds == _kinds(), sorted(_kinds() - seen_kinds)

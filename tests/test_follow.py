"""\"Följ ditt ärende\" (klagomal.cases.follow): the person's private link,
stored only as a hash, one live per case and revocable; the page, which
shows the person's letters and never anything internal or secret; the
information they add, threaded into the case as an e-mail reply is; the
kvittens of the web form, over a real SMTP server; and the audit log (R27).
On SQLite, PostgreSQL and MariaDB where the database matters."""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import hypothesis
import hypothesis.strategies as st
import pytest
import sqlalchemy as sa

from klagomal import Contact, FixedClock, Klagomal
from klagomal.cases.follow import CITIZEN_ACTOR, SOURCE, TEXT_MAX, CaseForCitizen, follow_url, public_url
from klagomal.core.errors import AccessDeniedError, CaseNotFoundError, InvalidInputError
from klagomal.core.organisation import Organisation, default_organisation
from klagomal.core.settings import SmtpSettings
from klagomal.intake import webform
from klagomal.records.gdpr import PersonQuery
from klagomal.storage import tables
from klagomal.storage.tables import audit_log, follow_tokens
from klagomal.testing import CONTACT, START, UNIT, register
from smtp_server import SmtpServer

GROUND = "OSL 26 kap. 1 §"

#: Texts the page must never show: the case's own text (secret by part),
#: a note, an action, an escalation's reason, a flag's reason.
SECRET = (
    "HEMLIG-TEXT-FOLJ",
    "HEMLIG-ANTECKNING-FOLJ",
    "HEMLIG-ATGARD-FOLJ",
    "HEMLIGT-SKAL-FOLJ",
    "HEMLIG-FLAGGA-FOLJ",
    "INTERN-ANTECKNING-FOLJ",
)
PROTECTED = Contact(
    name="Skyddad Folj",
    email="skyddad.folj@example.se",
    phone="070-555 66 77",
    address="Skyddsgatan 3, 123 45 Exempelstad",
    protected=True,
)
#: Who the protected person is: never on the page, which a link can open for anyone.
PERSON = ("Skyddad Folj", "skyddad.folj", "555 66 77", "Skyddsgatan")


def _rows(url: str, table: sa.Table) -> list[sa.Row[Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(table).order_by(table.c.id)))
    finally:
        engine.dispose()


def _dump(url: str) -> str:
    """Every value of every table, as one string."""
    engine = sa.create_engine(url)
    parts = []
    try:
        with engine.connect() as conn:
            for table in tables.metadata.sorted_tables:
                for row in conn.execute(sa.select(table)):
                    parts += [
                        bytes(v).decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row
                    ]
    finally:
        engine.dispose()
    return "\n".join(parts)


def _organisation(folder: Any, smtp: SmtpSettings | None = None) -> Organisation:
    """Exempelkommun, delivering into *folder* (and by *smtp*, when given)."""
    organisation = default_organisation()
    delivery = attrs.evolve(organisation.delivery, folder=str(folder))
    if smtp is not None:
        delivery = attrs.evolve(delivery, smtp=smtp)
    return attrs.evolve(organisation, delivery=delivery)


@pytest.fixture
def server_k(new_database: Callable[[], str], tmp_path: Any) -> Iterator[Klagomal]:
    """An initialised Klagomal on each backend in turn, as the system owner."""
    k = Klagomal(
        new_database(),
        clock=FixedClock(START),
        organisation=_organisation(tmp_path / "utskick"),
        load_entrypoints=False,
        user="system",
    )
    k.init()
    yield k
    k.dispose()


# -- the link ------------------------------------------------------------------------------


def test_a_link_is_stored_only_as_its_hash_and_opens_its_case(server_k: Klagomal) -> None:
    k = server_k
    ref = register(k).reference
    token = k.follow_link(ref)
    assert len(token) >= 43
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)  # URL-safe: nothing to escape in /folj/<token>
    url = str(k.storage.engine.url.render_as_string(hide_password=False))  # type: ignore[attr-defined]
    (row,) = _rows(url, follow_tokens)
    assert row.hash == hashlib.sha256(token.encode()).hexdigest()
    assert (row.reference, row.created_by, row.revoked_at) == (ref, "system", None)
    # Nothing anywhere in the database is the token.
    assert token not in _dump(url)
    page = k.follow(token)
    assert isinstance(page, CaseForCitizen)
    assert page.reference == ref
    assert token not in repr(page)


def test_a_new_link_revokes_the_old_and_a_revoked_link_opens_nothing(server_k: Klagomal) -> None:
    k = server_k
    ref = register(k).reference
    other = register(k).reference
    first = k.follow_link(ref)
    other_token = k.follow_link(other)
    second = k.follow_link(ref)
    assert first != second
    assert k.follow(first) is None
    assert k.follow(second) is not None
    url = str(k.storage.engine.url.render_as_string(hide_password=False))  # type: ignore[attr-defined]
    live = [(r.reference, r.revoked_at is None) for r in _rows(url, follow_tokens)]
    assert live == [(ref, False), (other, True), (ref, True)]  # one live link per case
    assert k.revoke_follow_link(ref) is True
    assert k.follow(second) is None
    assert k.revoke_follow_link(ref) is False  # nothing live to revoke
    assert k.add_information(second, "Hej igen.") is None
    # Another case's link is untouched.
    assert k.follow(other_token) is not None
    with pytest.raises(CaseNotFoundError):
        k.follow_link("2026-99999")


def test_issuing_and_revoking_need_the_right_to_handle_the_case(k: Klagomal) -> None:
    ref = register(k).reference  # at Hemtjänst Norr, Socialförvaltningen
    token = k.as_user("omar.ali").follow_link(ref)  # its handler may
    for user in ("sven.ek", "kontaktcenter"):  # a reader; a handler at another unit
        with pytest.raises(AccessDeniedError):
            k.as_user(user).follow_link(ref)
        with pytest.raises(AccessDeniedError):
            k.as_user(user).revoke_follow_link(ref)
    assert k.follow(token) is not None  # the refusals revoked nothing
    denied = [(e.user_id, e.action, e.reference) for e in k.audit_log(limit=100) if e.outcome == "denied"]
    # The reader is refused by role, before the case is read; the other unit's handler by the case.
    assert sorted(set(denied)) == [("kontaktcenter", "handlagga", ref), ("sven.ek", "handlagga", None)]


@pytest.fixture
def live_token(k: Klagomal) -> str:
    """The live link of a case in ``k``."""
    return k.follow_link(register(k).reference)


@hypothesis.settings(
    max_examples=60, deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
@hypothesis.given(token=st.text(max_size=200))
@hypothesis.example(token="\ud800")  # a lone surrogate, as a broken request may carry
@hypothesis.example(token="A" * 43)
@hypothesis.example(token="")
def test_no_other_token_opens_a_case_or_tells_whether_one_exists(
    k: Klagomal, live_token: str, token: str
) -> None:
    # A live link exists; any other string, empty, long, or odd, is simply None.
    hypothesis.assume(token != live_token)
    assert k.follow(token) is None
    assert k.add_information(token, "Något.") is None
    assert k.follow(live_token) is not None


def test_anonymising_the_person_revokes_the_link(k: Klagomal) -> None:
    # GDPR: once the person is anonymised, nobody follows the case by a link.
    ref = register(k).reference
    token = k.follow_link(ref)
    assert k.follow(token) is not None
    k.anonymise_person(PersonQuery(email=CONTACT.email), "Dnr 2026:1")
    assert k.follow(token) is None


# -- the page ----------------------------------------------------------------------------


def test_the_page_shows_the_dates_the_handler_and_the_persons_letters(k: Klagomal, clock: FixedClock) -> None:
    ref = register(k).reference
    token = k.follow_link(ref)
    page = k.follow(token)
    assert page == CaseForCitizen(
        reference=ref,
        kind="Klagomål",
        state="Mottaget, du får besked om vem som handlägger det",
        received=START,
        besked_by=dt.date(2026, 3, 16),
        besked_given=None,
        answer_by=None,
        answered=None,
        department="Socialförvaltningen",
        unit="Hemtjänst Norr",
        handler=None,  # R7: the besked tells who handles it; until then, nobody is named
        letters=(),
    )
    clock.advance(1)
    k.acknowledge(ref, "omar.ali", dt.date(2026, 3, 20))
    k.inform(ref, "Vi har pratat med personalen.")
    page = k.follow(token)
    assert page is not None
    assert (page.state, page.besked_given, page.answer_by, page.handler) == (
        "Handläggs",
        dt.date(2026, 3, 3),
        dt.date(2026, 3, 20),
        "Omar Ali",  # as the besked names them
    )
    assert [(letter.kind, letter.date) for letter in page.letters] == [
        ("besked", dt.date(2026, 3, 3)),
        ("information", dt.date(2026, 3, 3)),
    ]
    # The letters as the person got them: the same text k.letter renders.
    for letter, seq in zip(page.letters, (2, 3), strict=True):
        assert letter.text == k.letter(ref, seq).text
        assert letter.subject == k.letter(ref, seq).subject
    k.pause(ref, "Vilken dag gällde det?")
    assert k.follow(token).state == "Vi väntar på uppgifter från dig"  # type: ignore[union-attr]
    k.resume(ref)
    k.answer(ref, "skriftligt", "Vi ber om ursäkt.")
    page = k.follow(token)
    assert page is not None
    assert (page.state, page.answered, page.answer_by) == ("Besvarat", dt.date(2026, 3, 3), None)
    assert [letter.kind for letter in page.letters] == [
        "besked",
        "information",
        "komplettering",
        "aterupptaget",
        "svar",
    ]
    assert "Vi ber om ursäkt." in page.letters[-1].text


def test_the_page_never_shows_anything_internal_secret_or_who_a_protected_person_is(
    new_database: Callable[[], str],
) -> None:
    # Docs: offentlighet-sekretess-gdpr.md; the person's own letters are
    # theirs, nothing internal is; the page is open to whoever has the link.
    with Klagomal(new_database(), clock=FixedClock(START), load_entrypoints=False, user="system") as k:
        k.init()
        a = register(k, text=f"Hemtjänsten kom inte. {SECRET[0]}", contact=PROTECTED).reference
        k.mark_secret(a, GROUND, parts=[1])
        whole = register(k, text=f"Om min dotter. {SECRET[0]}").reference
        k.mark_secret(whole, GROUND)
        for ref in (a, whole):
            k.acknowledge(ref, "omar.ali", dt.date(2026, 3, 20))
            k.add_note(ref, f"Hon ringde. {SECRET[1]}")
            k.mark_secret(ref, GROUND, parts=[k.get(ref).version])
            k.add_note(ref, f"Internt. {SECRET[5]}")
            k.record_action(ref, f"Samtal. {SECRET[2]}")
            k.flag_threat(ref, "hotfullt", reason=f"Hotade. {SECRET[4]}")
            k.answer(ref, "skriftligt", "Vi har rättat det.")
            k.close(ref, False)
            k.escalate(ref, f"Inte nöjd. {SECRET[3]}")
            k.mark_secret(ref, GROUND, parts=[k.get(ref).version])
        tokens = {ref: k.follow_link(ref) for ref in (a, whole)}
        for ref, token in tokens.items():
            page = k.follow(token)
            assert page is not None
            shown = repr(page)
            assert not [s for s in SECRET if s in shown], (ref, shown)
            assert not [p for p in PERSON if p in shown], (ref, shown)
            # Not vacuous: the person's own letters are there, with the answer.
            assert [letter.kind for letter in page.letters] == ["besked", "svar"]
            assert "Vi har rättat det." in shown
            for word in ("anteckning", "flagg", "sekretess", "OSL", "omar.ali", "system"):
                assert word not in shown, word


# -- adding information ------------------------------------------------------------------


def test_added_information_is_threaded_as_an_email_reply_is(server_k: Klagomal) -> None:
    k = server_k
    by_mail, by_page = register(k).reference, register(k).reference
    for ref in (by_mail, by_page):
        k.acknowledge(ref, "omar.ali", dt.date(2026, 3, 20))
    besked = next(n for n in k.outbox(reference=by_mail) if n.kind == "besked")
    reply = (
        f"From: Eva Svensson <{CONTACT.email}>\r\nTo: synpunkter@exempelkommun.se\r\n"
        f"Subject: Re: Besked\r\nMessage-ID: <svar-1@example.se>\r\nIn-Reply-To: {besked.message_id}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nDet var på tisdagen.\r\n"
    ).encode()
    assert k.receive_email(reply).outcome == "reply"
    token = k.follow_link(by_page)
    added = k.add_information(token, "  Det var på tisdagen.\r\nKlockan tre.  ")
    assert added is not None
    assert (added.reference, added.received) == (by_page, START)

    mailed, paged = k.history(by_mail)[-1], k.history(by_page)[-1]
    assert mailed.type == paged.type == "message_received"
    assert paged.data.text == "Det var på tisdagen.\nKlockan tre."  # type: ignore[union-attr]
    assert paged.data.sender == mailed.data.sender == f"{CONTACT.name} <{CONTACT.email}>"  # type: ignore[union-attr]
    assert paged.actor == CITIZEN_ACTOR
    (message,) = k.received_messages(reference=by_page)
    assert (message.source, message.outcome, message.reference) == (SOURCE, "reply", by_page)
    assert message.message_key == paged.data.message  # type: ignore[union-attr]
    # The handler gets what a reply gives: the same notices and the same worklist rows.
    assert [(x.kind, x.recipient, x.status) for x in k.outbox(reference=by_mail)] == [
        (x.kind, x.recipient, x.status) for x in k.outbox(reference=by_page)
    ]
    rows = {
        item.case.reference: (item.what, item.deadline, item.due) for item in k.as_user("omar.ali").worklist()
    }
    assert rows[by_mail] == rows[by_page]
    # The case itself is as the reply left the other one.
    assert k.get(by_page).state == k.get(by_mail).state


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "skriv vad du vill lägga till"),
        ("   \n  ", "skriv vad du vill lägga till"),
        ("x" * (TEXT_MAX + 1), "högst"),
        ("Hej\x00då", "U+0000"),
        ("Hej\x1b[31m", "ESC"),
    ],
)
def test_bad_information_is_refused_in_swedish_and_writes_nothing(
    new_database: Callable[[], str], text: str, reason: str
) -> None:
    with Klagomal(new_database(), clock=FixedClock(START), load_entrypoints=False, user="system") as k:
        k.init()
        ref = register(k).reference
        token = k.follow_link(ref)
        url = str(k.storage.engine.url.render_as_string(hide_password=False))  # type: ignore[attr-defined]
        before = _dump(url)
        with pytest.raises(InvalidInputError) as refused:
            k.add_information(token, text)
        assert refused.value.reference == ref
        assert reason in str(refused.value)
        assert str(refused.value).startswith(f"Ärende {ref}, steg 'ta emot meddelande': ")
        assert _dump(url) == before  # not even an audit entry
        # The longest text there may be is taken.
        assert k.add_information(token, "x" * TEXT_MAX) is not None


# -- the audit log --------------------------------------------------------------------------


def test_every_look_and_addition_is_audited_as_the_citizen(server_k: Klagomal) -> None:
    k = server_k
    ref = register(k).reference
    token = k.follow_link(ref)
    url = str(k.storage.engine.url.render_as_string(hide_password=False))  # type: ignore[attr-defined]
    start = len(_rows(url, audit_log))
    k.follow(token)
    k.add_information(token, "Mer.")
    k.follow("ingen-sadan-lank")
    k.add_information("ingen-sadan-lank", "Mer.")
    entries = [(r.user_id, r.role, r.action, r.outcome, r.reference) for r in _rows(url, audit_log)[start:]]
    assert entries == [
        (CITIZEN_ACTOR, "medborgare", "lasa", "allowed", ref),
        (CITIZEN_ACTOR, "medborgare", "registrera", "allowed", ref),
        (CITIZEN_ACTOR, "medborgare", "lasa", "denied", None),
        (CITIZEN_ACTOR, "medborgare", "registrera", "denied", None),
    ]
    assert k.audit_verify().ok
    issued = [r for r in _rows(url, audit_log) if r.reference == ref and r.detail.startswith("följ-länk")]
    assert [(r.user_id, r.detail) for r in issued] == [("system", "följ-länk utfärdad")]


# -- the web form's receipt and kvittens --------------------------------------------------


def _submission(k: Klagomal, **fields: str) -> webform.FormSubmission:
    posted = {
        "typ": "klagomal",
        "text": "Ingen kom.",
        "enhet": UNIT,
        "epost": "eva@example.se",
    }
    result = webform.validate_form(posted | fields, k.organisation, today=k.clock.today())
    assert isinstance(result, webform.FormSubmission), result
    return result


def test_the_web_form_gives_a_link_and_sends_a_kvittens_with_it_over_smtp(
    new_database: Callable[[], str], tmp_path: Any
) -> None:
    with SmtpServer() as server:
        smtp = SmtpSettings(host=server.host, port=server.port, security="ingen", timeout=5)
        organisation = _organisation(tmp_path / "brev", smtp)
        k = Klagomal(
            new_database(),
            clock=FixedClock(START),
            organisation=organisation,
            load_entrypoints=False,
            user="system",
        )
        k.init()
        registered = webform.register_submission(
            k, _submission(k), public_url="https://synpunkter.example.se/"
        )
        token = registered.follow_token
        assert token is not None
        link = f"https://synpunkter.example.se/folj/{token}"
        assert registered.follow_url == link == follow_url("https://synpunkter.example.se", token)
        receipt = webform.receipt(registered)
        assert (receipt.follow_token, receipt.follow_url, receipt.email_receipt) == (token, link, True)
        assert receipt.receipt_text.startswith(
            "Vi skickar en bekräftelse med ärendenumret till eva@example.se."
        )
        assert "dela den inte" in receipt.follow_text
        # Delivered at once, over SMTP, with the link: the only time it is known.
        (sent,) = server.messages
        message = sent.message
        assert sent.rcpt_tos == ["eva@example.se"]
        assert message["Subject"] == f"Vi har tagit emot din synpunkt, ärende {registered.case.reference}"
        assert message["Auto-Submitted"] == "auto-generated"
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        for body in (text, html):
            assert link in body
            assert registered.case.reference in body
            assert "16 mars 2026" in body  # the besked's last day, as letters write dates
        (notice,) = k.outbox(reference=registered.case.reference)
        assert (notice.kind, notice.status, notice.address) == ("kvittens", "sent", "eva@example.se")
        assert k.follow(token) is not None
        url = str(k.storage.engine.url.render_as_string(hide_password=False))  # type: ignore[attr-defined]
        assert token not in _dump(url)
        # The page does not list the kvittens: it is the page's way in.
        assert k.follow(token).letters == ()  # type: ignore[union-attr]
        k.dispose()


def test_without_a_public_address_the_kvittens_waits_and_has_no_link(
    server_k: Klagomal, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    k = server_k
    monkeypatch.delenv("KLAGOMAL_PUBLIC_URL", raising=False)
    assert public_url() is None
    assert public_url({"KLAGOMAL_PUBLIC_URL": "https://x.example.se/"}) == "https://x.example.se"
    registered = webform.register_submission(k, _submission(k))
    assert registered.follow_token is not None
    assert registered.follow_url is None
    (notice,) = k.outbox(reference=registered.case.reference)
    assert (notice.kind, notice.status) == ("kvittens", "pending")  # delivered as notices are
    run = k.deliver()
    assert [n.kind for n in run.sent] == ["kvittens"]
    (eml,) = (tmp_path / "utskick").rglob("*.eml")
    text = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    body = text.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Vi tog emot din synpunkt 2 mars 2026" in body
    assert "/folj/" not in body
    assert registered.follow_token not in body
    # No e-mail address: no kvittens, but a link all the same, for the page.
    registered = webform.register_submission(k, _submission(k, epost="", telefon="070-123 45 67"))
    assert registered.follow_token is not None
    assert registered.kvittens is None
    assert k.outbox(reference=registered.case.reference) == []
    assert webform.receipt(registered).email_receipt is False

"""The transactional outbox (klagomal.notices.outbox, Klagomal.deliver).

A notice is written in the same transaction as the event that causes it and
delivered afterwards, at most once.  These tests drive the real service layer
and storage on every backend; the notifier is a small plugin registered
through the ordinary ``klagomal_notifiers`` hook that keeps what it is
given, so that the outbox's own behaviour can be checked without a mail
server.  The e-mail path end to end, against a real SMTP server, is in
tests/test_delivery_smtp.py.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EVA, register_case
from klagomal import FixedClock, Klagomal, hookimpl
from klagomal.core.errors import DeliveryError, DeliveryUncertainError, InvalidInputError, InvalidStepError
from klagomal.core.model import Contact
from klagomal.core.organisation import Organisation, default_organisation
from klagomal.core.settings import DeliverySettings
from klagomal.notices.notifiers import Message, Notifier
from klagomal.notices.outbox import RETRY_BASE, retry_delay

RESPOND_BY = dt.date(2026, 3, 27)


class Recorder:
    """A notifier plugin that keeps every message it is given.  ``outcomes``
    (consumed one per call) makes a call fail in one of the ways a real
    notifier can."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.outcomes: list[Exception | None] = []
        self.lock = threading.Lock()

    @hookimpl
    def klagomal_notifiers(self) -> Iterator[Notifier]:
        yield Notifier("inspelning", "Inspelning (test)", deliver=self.deliver)

    def deliver(self, message: Message) -> None:
        with self.lock:
            outcome = self.outcomes.pop(0) if self.outcomes else None
            if isinstance(outcome, DeliveryUncertainError):
                self.messages.append(message)  # it may well have arrived
            if outcome is not None:
                raise outcome
            self.messages.append(message)


def _organisation(**delivery: object) -> Organisation:
    settings = DeliverySettings(
        sender="Exempelkommun <synpunkter@exempelkommun.se>",
        reply_to="synpunkter@exempelkommun.se",
        email_notifier="inspelning",
        letter_notifier="inspelning",
    )
    return attrs.evolve(default_organisation(), delivery=attrs.evolve(settings, **delivery))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make(
    new_database: Callable[[], str], clock: FixedClock, recorder: Recorder
) -> Iterator[Callable[..., Klagomal]]:
    """``make(**delivery)``: an initialised Klagomal on a new database of this
    test's backend, delivering through *recorder*."""
    opened: list[Klagomal] = []

    def build(
        url: str | None = None, organisation: Organisation | None = None, **delivery: object
    ) -> Klagomal:
        k = Klagomal(
            url or new_database(),
            clock=clock,
            organisation=organisation or _organisation(**delivery),
            plugins=[recorder],
            load_entrypoints=False,
        )
        k.init()
        opened.append(k)
        return k

    yield build
    for k in opened:
        k.dispose()


# -- what is owed, and to whom ----------------------------------------------------------


def test_the_besked_is_written_with_its_event_and_delivered_once(
    make: Callable[..., Klagomal], recorder: Recorder
) -> None:
    # R7: the person is told who handles the case and when the answer comes.
    k = make()
    ref = register_case(k).reference
    assert k.outbox(reference=ref) == []  # registering owes nothing yet
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    [owed] = k.outbox(reference=ref)
    assert (owed.seq, owed.kind, owed.recipient, owed.way, owed.status) == (
        2,
        "besked",
        "person",
        "epost",
        "pending",
    )
    assert owed.message_id == f"<{ref}.2.person.besked@exempelkommun.se>"

    run = k.deliver()
    assert [n.id for n in run.sent] == [owed.id]
    [message] = recorder.messages
    assert message.reference == ref
    assert message.kind == "besked"
    assert message.way == "epost"
    assert ref in message.subject  # replies are threaded back by it
    assert message.recipient.email == EVA.email
    assert message.recipient.name == EVA.name
    assert message.message_id == owed.message_id
    assert (message.sender, message.reply_to) == (
        "Exempelkommun <synpunkter@exempelkommun.se>",
        "synpunkter@exempelkommun.se",
    )
    assert message.auto_submitted
    assert "Hanna Lind" in message.text
    assert "Hanna Lind" in message.html

    [sent] = k.outbox(reference=ref)
    assert (sent.status, sent.attempts, sent.address, sent.last_error) == ("sent", 1, EVA.email, None)
    assert sent.sent_at is not None
    # A second run, and a third, send nothing again.
    assert k.deliver().sent == []
    assert k.deliver().sent == []
    assert len(recorder.messages) == 1


def test_an_anonymous_case_never_gives_the_person_a_notice(
    make: Callable[..., Klagomal], recorder: Recorder, clock: FixedClock
) -> None:
    # R5: nobody to tell, whatever happens to the case.
    k = make()
    ref = register_case(k, contact=None, channel="svarskort").reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    with pytest.raises(InvalidStepError, match="anonymt"):
        k.inform(ref, "Vi har pratat med personalen.")
    with pytest.raises(InvalidStepError, match="anonymt"):
        k.guide(ref, "felanmalan", "Ring felanmälan.")
    k.record_action(ref, "Rutinen ändrad")
    k.close(ref, None)
    assert k.outbox(reference=ref) == []
    assert k.notices(ref) == []
    assert k.deliver().sent == []
    assert recorder.messages == []


def test_the_answer_follows_the_earlier_notices_in_the_thread(
    make: Callable[..., Klagomal], recorder: Recorder
) -> None:
    k = make()
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    k.deliver()
    k.answer(ref, "skriftligt", "Vi ber om ursäkt för att hemtjänsten kom sent.")
    k.deliver()
    besked, answer = recorder.messages
    assert answer.kind == "svar"
    assert not answer.auto_submitted
    assert answer.references == (besked.message_id,)
    assert "Vi ber om ursäkt" in answer.text


def test_an_oral_answer_sends_no_letter(make: Callable[..., Klagomal]) -> None:
    # R13: an oral answer was given in person; it is recorded, not sent again.
    k = make()
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    k.answer(ref, "muntligt", "Samtal i telefon")
    assert [n.kind for n in k.outbox(reference=ref)] == ["besked"]


@pytest.mark.parametrize(
    ("contact", "way"),
    [
        (Contact(name="Eva", email="eva@example.se", address="Storgatan 1, 123 45 Exempelstad"), "epost"),
        (Contact(name="Eva", address="Storgatan 1, 123 45 Exempelstad"), "brev"),
        (Contact(name="Eva", phone="070-123 45 67"), "uppgift"),
        (Contact(name="Eva", email="eva@example.se", address="Storgatan 1", preferred="brev"), "brev"),
        (Contact(name="Eva", email="eva@example.se", phone="070-123 45 67", preferred="telefon"), "uppgift"),
    ],
)
def test_the_persons_way_of_contact_is_respected(
    make: Callable[..., Klagomal], recorder: Recorder, contact: Contact, way: str
) -> None:
    k = make()
    ref = register_case(k, contact=contact).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    [notice] = k.outbox(reference=ref)
    assert notice.way == way
    run = k.deliver()
    if way == "uppgift":
        # A phone call is the handler's task, never a message.
        assert (notice.status, run.sent, run.tasks, recorder.messages) == ("task", [], 1, [])
        assert k.open_notices([ref]) == {ref: [notice]}
        done = k.complete_task(notice.id)
        assert done.status == "done"
        assert k.open_notices([ref]) == {}
        with pytest.raises(InvalidInputError, match="ingen uppgift som väntar"):
            k.complete_task(notice.id)
    else:
        [message] = recorder.messages
        assert message.way == way
        if way == "brev":
            assert message.recipient.address == contact.address


def test_a_preferred_way_without_its_detail_is_refused_at_registration(make: Callable[..., Klagomal]) -> None:
    k = make()
    with pytest.raises(InvalidInputError, match="via brev, men den uppgiften saknas"):
        register_case(k, contact=Contact(name="Eva", email="eva@example.se", preferred="brev"))
    with pytest.raises(InvalidInputError, match="okänt kontaktsätt 'sms'"):
        register_case(k, contact=Contact(name="Eva", email="eva@example.se", preferred="sms"))
    assert k.cases() == []


def test_praise_reaches_the_staff_and_their_manager(
    make: Callable[..., Klagomal], recorder: Recorder
) -> None:
    # R22: praise is passed on to the people it concerns, and their chef hears of it.
    k = make()
    ref = register_case(k, kind="berom", text="Lisa och Omar var fantastiska!").reference
    k.pass_on_praise(ref, ["Lisa Holm <lisa.holm@exempelkommun.se>", "Omar Ali"], "Fint jobbat!")
    owed = k.outbox(reference=ref)
    assert [(n.kind, n.recipient) for n in owed] == [
        ("berom_vidare", "personal-1"),
        ("berom_vidare", "personal-2"),
        ("berom_vidare", "chef"),
    ]
    assert len(k.deliver().sent) == 3
    to = {(m.recipient.role, m.recipient.name, m.recipient.email) for m in recorder.messages}
    unit = k.organisation.unit("soc-aldre-hemtjanst-norr")
    assert to == {
        ("personal", "Lisa Holm", "lisa.holm@exempelkommun.se"),
        ("personal", "Omar Ali", unit.email),  # no address of his own: the unit's mailbox
        ("chef", unit.manager, unit.email),
    }
    assert all("Lisa och Omar var fantastiska!" in m.text for m in recorder.messages)


def test_escalation_notifies_the_forvaltningschef_and_then_the_namnd(
    make: Callable[..., Klagomal], recorder: Recorder
) -> None:
    # R20, R21: level 2 reaches the förvaltningschef, level 3 the nämnd's secretary.
    k = make()
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    k.answer(ref, "skriftligt", "Svar")
    k.close(ref, False)
    k.escalate(ref, "Inte nöjd med svaret")
    k.acknowledge(ref, "Socialchef Eva Nyström", dt.date(2026, 4, 20))
    k.answer(ref, "skriftligt", "Svar 2")
    k.close(ref, False)
    k.escalate(ref, "Fortfarande inte nöjd")
    k.deliver()
    staff = [(m.kind, m.recipient.role, m.recipient.name, m.recipient.email) for m in recorder.messages]
    soc = k.organisation.departments["soc"]
    assert ("eskalering_chef", "forvaltningschef", soc.head, "socialforvaltningen@exempelkommun.se") in staff
    assert ("eskalering_namnd", "namnd", soc.board_secretary, soc.board_email) in staff


def test_guidance_to_another_route(
    make: Callable[..., Klagomal], recorder: Recorder, clock: FixedClock
) -> None:
    # R3: the person is told how to appeal, and by when; the case goes on.
    k = make()
    ref = register_case(k).reference
    clock.set(dt.date(2026, 3, 10))
    case = k.guide(
        ref,
        "overklagande",
        "Skriv till Socialnämnden och ange vilket beslut du vill ändra.",
        decision="Beslut om hemtjänst 2026-03-03",
        appeal_to="Socialnämnden",
        notified=dt.date(2026, 3, 5),
    )
    assert case.state.value == "registrerat"  # the complaint is still handled
    guided = k.history(ref)[-1].data
    assert guided.appeal_by == dt.date(2026, 3, 26)  # three weeks after 5 March
    k.deliver()
    [letter] = recorder.messages
    assert letter.kind == "vagledning"
    assert "Socialnämnden" in letter.text
    with pytest.raises(InvalidInputError, match="dagen då personen fick del av beslutet"):
        k.guide(ref, "overklagande", "x", decision="Beslut", appeal_to="Nämnden")
    with pytest.raises(InvalidInputError, match="okänd väg"):
        k.guide(ref, "jo-anmalan", "x")


# -- failures: clear, kept, retried ---------------------------------------------------------


def test_a_passing_failure_is_retried_with_backoff_until_it_succeeds(
    make: Callable[..., Klagomal], recorder: Recorder, clock: FixedClock
) -> None:
    k = make(max_attempts=3)
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    recorder.outcomes = [DeliveryError("servern svarar inte")]
    run = k.deliver()
    [retry] = run.retry
    assert (retry.status, retry.attempts, retry.last_error) == ("pending", 1, "servern svarar inte")
    assert retry.next_attempt == run.now + RETRY_BASE
    # Not due yet: nothing is tried, nothing is sent.
    assert k.deliver().sent == []
    assert recorder.messages == []
    [shown] = k.open_notices([ref])[ref]
    assert shown.last_error == "servern svarar inte"
    clock.advance(1)
    assert len(k.deliver().sent) == 1
    assert len(recorder.messages) == 1
    assert k.outbox(reference=ref)[0].attempts == 2


def test_attempts_run_out_and_the_notice_waits_for_a_person(
    make: Callable[..., Klagomal], recorder: Recorder, clock: FixedClock
) -> None:
    k = make(max_attempts=2)
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    recorder.outcomes = [DeliveryError("nere"), DeliveryError("fortfarande nere")]
    k.deliver()
    clock.advance(1)
    [failed] = k.deliver().failed
    assert (failed.status, failed.attempts, failed.next_attempt) == ("failed", 2, None)
    clock.advance(1)
    assert k.deliver().sent == []  # never again by itself
    [queued] = k.requeue(statuses=("failed",))
    assert (queued.status, queued.attempts) == ("pending", 0)
    assert len(k.deliver().sent) == 1


def test_a_permanent_failure_is_not_retried_and_names_the_notice_and_case(
    make: Callable[..., Klagomal], recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    k = make()
    ref = register_case(k, contact=Contact(name="Eva", email="eva@example.se")).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    recorder.outcomes = [DeliveryError("ogiltig e-postadress", permanent=True)]
    [failed] = k.deliver().failed
    assert failed.status == "failed"
    assert failed.last_error == "ogiltig e-postadress"
    assert f"meddelande {failed.id} (besked till personen) i ärende {ref}" in caplog.text
    # The event stays committed; the notice stays in the outbox.
    assert k.get(ref).acknowledged is not None
    assert [n.status for n in k.outbox(reference=ref)] == ["failed"]


def test_a_missing_setting_fails_clearly_and_keeps_the_notice(make: Callable[..., Klagomal]) -> None:
    base = _organisation()
    department = attrs.evolve(base.departments["soc"], board_email=None)
    organisation = attrs.evolve(base, departments={**base.departments, "soc": department})
    k = make(organisation=organisation)
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    k.answer(ref, "skriftligt", "Svar")
    k.close(ref, False)
    k.escalate(ref, "Inte nöjd")
    k.acknowledge(ref, "Socialchefen", dt.date(2026, 4, 20))
    k.answer(ref, "skriftligt", "Svar 2")
    k.close(ref, False)
    k.escalate(ref, "Fortfarande inte nöjd")
    run = k.deliver()
    [failed] = run.failed
    assert failed.kind == "eskalering_namnd"
    assert "'namnd_epost' för förvaltningen soc" in (failed.last_error or "")
    assert k.get(ref).level == 3  # the step itself stands


def test_a_broken_template_override_fails_the_notice_not_the_step(
    make: Callable[..., Klagomal], tmp_path: Path
) -> None:
    folder = tmp_path / "mallar"
    (folder / "soc").mkdir(parents=True)
    (folder / "soc" / "besked.txt").write_text("Hej {{ name }\n", encoding="utf-8")

    class Wording:
        @hookimpl
        def klagomal_template_dirs(self) -> list[Path]:
            return [folder]

    k = make()
    recorder = next(p for p in k.plugin_manager.get_plugins() if isinstance(p, Recorder))
    with Klagomal(
        k.storage.engine.url.render_as_string(hide_password=False),
        clock=k.clock,
        organisation=k.organisation,
        plugins=[recorder, Wording()],
        load_entrypoints=False,
    ) as wrong:
        ref = register_case(wrong).reference
        wrong.acknowledge(ref, "Hanna Lind", RESPOND_BY)  # the step succeeds
        [failed] = wrong.deliver().failed
        assert "besked.txt" in (failed.last_error or "")
        assert wrong.get(ref).acknowledged is not None
        assert recorder.messages == []


def test_a_possibly_delivered_notice_is_never_sent_again_by_itself(
    make: Callable[..., Klagomal], recorder: Recorder, clock: FixedClock
) -> None:
    k = make()
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    recorder.outcomes = [DeliveryUncertainError("anslutningen bröts under DATA")]
    [uncertain] = k.deliver().uncertain
    assert uncertain.status == "uncertain"
    clock.advance(3)
    assert k.deliver().sent == []
    assert len(recorder.messages) == 1
    # A person checks, then queues it again: the same Message-ID goes out.
    k.requeue([uncertain.id])
    k.deliver()
    first, second = recorder.messages
    assert first.message_id == second.message_id


def test_a_delivery_that_stopped_midway_is_reconciled_not_resent(
    make: Callable[..., Klagomal], recorder: Recorder, clock: FixedClock
) -> None:
    # The attempt is recorded before the notifier is called.  A run that died
    # right after (here: the claim alone, as a crashed run leaves it) leaves
    # the notice 'sending'; the next runs never hand it over again.
    k = make()
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    [notice] = k.outbox(reference=ref)
    with k.storage.transaction() as uow:
        assert uow.claim_notice(notice.id, ("pending",), k._utcnow())
    assert k.deliver().sent == []  # within the lease: perhaps still being sent
    clock.advance(1)
    run = k.deliver()
    assert [n.id for n in run.uncertain] == [notice.id]
    assert k.outbox(reference=ref)[0].status == "uncertain"
    assert recorder.messages == []


def test_two_deliveries_at_once_send_each_notice_once(
    make: Callable[..., Klagomal], recorder: Recorder
) -> None:
    k = make()
    refs = [register_case(k).reference for _ in range(12)]
    for ref in refs:
        k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    other = make(url=k.storage.engine.url.render_as_string(hide_password=False))
    barrier = threading.Barrier(2)
    results: list[int] = []

    def run(instance: Klagomal) -> None:
        barrier.wait()
        results.append(len(instance.deliver().sent))

    threads = [threading.Thread(target=run, args=(i,)) for i in (k, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 12
    assert sorted(m.reference for m in recorder.messages) == sorted(refs)
    assert {n.status for n in k.outbox()} == {"sent"}


def test_immediate_delivery_sends_right_after_the_step(
    make: Callable[..., Klagomal], recorder: Recorder
) -> None:
    k = make(mode="direkt")
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    assert [n.status for n in k.outbox(reference=ref)] == ["sent"]
    assert [m.kind for m in recorder.messages] == ["besked"]
    # A failure does not undo the step: the notice waits in the outbox.
    recorder.outcomes = [DeliveryError("nere")]
    k.inform(ref, "Vi har pratat med personalen.")
    assert [n.status for n in k.outbox(reference=ref)] == ["sent", "pending"]


def test_an_unknown_notifier_is_refused_before_anything_is_claimed(make: Callable[..., Klagomal]) -> None:
    k = make(email_notifier="brevduva")
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    from klagomal.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="'brevduva'"):
        k.deliver()
    assert [n.status for n in k.outbox(reference=ref)] == ["pending"]


def test_the_delivery_state_survives_export_and_import(
    make: Callable[..., Klagomal], recorder: Recorder
) -> None:
    k = make()
    ref = register_case(k).reference
    k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
    k.deliver()
    copy = make()
    copy.import_(k.export())
    assert [(n.status, n.message_id) for n in copy.outbox(reference=ref)] == [
        ("sent", f"<{ref}.2.person.besked@exempelkommun.se>")
    ]
    assert copy.deliver().sent == []  # nothing sent is sent again
    assert len(recorder.messages) == 1


def test_retry_delay_doubles_and_is_capped() -> None:
    assert [retry_delay(n) for n in (1, 2, 3)] == [RETRY_BASE, 2 * RETRY_BASE, 4 * RETRY_BASE]
    assert retry_delay(40) == dt.timedelta(hours=6)


# -- the invariant, for any sequence of outcomes ------------------------------------------------

OUTCOMES = st.sampled_from(["ok", "temporary", "permanent", "uncertain", "crash"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(outcomes=st.lists(OUTCOMES, min_size=1, max_size=12), requeue=st.booleans())
def test_no_notice_is_handed_over_twice_without_a_person_asking(
    tmp_path_factory: pytest.TempPathFactory, outcomes: list[str], requeue: bool
) -> None:
    """Whatever the notifier and the process do, a notice that may have
    arrived (sent, or uncertain) is never handed to a notifier again unless a
    person queues it again, and every notice ends in a known state."""
    clock = FixedClock(dt.date(2026, 3, 2))
    recorder = Recorder()
    url = f"sqlite:///{tmp_path_factory.mktemp('outbox') / 'k.db'}"
    with Klagomal(
        url,
        clock=clock,
        organisation=_organisation(max_attempts=4),
        plugins=[recorder],
        load_entrypoints=False,
    ) as k:
        k.init()
        ref = register_case(k).reference
        k.acknowledge(ref, "Hanna Lind", RESPOND_BY)
        [notice] = k.outbox(reference=ref)
        handed_over_after_possible_arrival = 0
        possibly_arrived = False
        for outcome in outcomes:
            before = len(recorder.messages)
            if outcome == "crash":
                with k.storage.transaction() as uow:
                    uow.claim_notice(notice.id, ("pending",), k._utcnow())
            else:
                recorder.outcomes = [
                    {
                        "ok": None,
                        "temporary": DeliveryError("nere"),
                        "permanent": DeliveryError("fel adress", permanent=True),
                        "uncertain": DeliveryUncertainError("bröts"),
                    }[outcome]
                ]
                k.deliver()
                recorder.outcomes = []
            if len(recorder.messages) > before and possibly_arrived:
                handed_over_after_possible_arrival += 1
            state = k.outbox(reference=ref)[0].status
            possibly_arrived = possibly_arrived or state in ("sent", "uncertain")
            clock.advance(1)
            if requeue and state == "failed":
                k.requeue([notice.id])
        assert handed_over_after_possible_arrival == 0
        assert k.outbox(reference=ref)[0].status in {"pending", "sending", "sent", "failed", "uncertain"}
        # Failures raise before anything is handed over, so at most one copy ever left.
        assert len(recorder.messages) <= 1

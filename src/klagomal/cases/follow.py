"""\"Följ ditt ärende\": a private link with which the person follows their
case and adds information to it, with no login (R7, R9, R13, R27).

A link is ``<KLAGOMAL_PUBLIC_URL>/folj/<token>``: the token is 32 random
bytes (:func:`secrets.token_urlsafe`), it carries no personal data and no
reference, and only its SHA-256 is stored (table ``follow_tokens``,
:mod:`klagomal.storage.sql.follow`).  A case has one live link at a time:
issuing a new one revokes the old one, and staff may revoke it.

What the page shows is a :class:`CaseForCitizen`: the reference, the kind,
the state in the person's words, the dates the routine promises (the besked
by, the answer by), the förvaltning and unit that handle the case, who
handles it once the besked has named them (as the besked letter does, R7),
and the letters meant for the person, as they were written to them
(:class:`CitizenLetter`).  Never the case's text or notes, its history, who
took its steps, other people, its secrecy markings or flags (R28): the
person's own letters are theirs, nothing internal is (see
``docs/offentlighet-sekretess-gdpr.md``).  A person with skyddade
personuppgifter is not named on the page, since a link can be forwarded.

What the person adds on the page is threaded into the case as an e-mail
reply from them is (:func:`klagomal.intake.service.receive_email`): a
``message_received`` event, and a received message stored with source
:data:`SOURCE` (``folj``), so the handler sees it as they see a reply.

The page has no user: every look and every addition is written to the audit
log (R27) under :data:`CITIZEN_ACTOR`, as is a token that is unknown or
revoked (with no case).  The web layer that serves the page rate-limits it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from klagomal.cases import lifecycle
from klagomal.cases.service import CaseService
from klagomal.context import audit_time
from klagomal.core.errors import CaseNotFoundError, InvalidInputError
from klagomal.core.i18n import _
from klagomal.core.model import Case, CaseState
from klagomal.core.text_rules import check_text
from klagomal.core.users import handler_name
from klagomal.intake.records import ReceivedMessage
from klagomal.notices.letters import person_name
from klagomal.notices.notifiers import EMAIL
from klagomal.notices.outbox import RECEIPT_KIND, OwedNotice, kind_label, message_id, owed_notices
from klagomal.records import audit
from klagomal.records.access import Operation
from klagomal.records.redaction import Redaction

if TYPE_CHECKING:  # pragma: no cover
    from klagomal.context import Context
    from klagomal.core.events import Event

__all__ = [
    "CITIZEN_ACTOR",
    "FOLLOW_PATH",
    "PUBLIC_URL_VARIABLE",
    "SOURCE",
    "TEXT_MAX",
    "CaseForCitizen",
    "CitizenLetter",
    "FollowService",
    "InformationAdded",
    "follow_url",
    "public_url",
]

#: Who the audit log names for what is done with a follow link: the
#: person, whom klagomal knows only by the link.
CITIZEN_ACTOR = "medborgare (följ-länk)"

#: The ``role`` of those audit entries: no role of the organisation file.
_CITIZEN_ROLE = "medborgare"

#: The ``source`` of a received message added on the page (an e-mail's is
#: ``smtp``, ``maildir``, ...).
SOURCE = "folj"

#: The most characters the person may add at once.
TEXT_MAX = 10_000

#: The environment variable with the public address of the kommun's pages
#: for the person, such as ``https://synpunkter.exempelkommun.se``.
PUBLIC_URL_VARIABLE = "KLAGOMAL_PUBLIC_URL"

#: The path of the page below :data:`PUBLIC_URL_VARIABLE`, before the token.
FOLLOW_PATH = "/folj/"

#: The kvittens is the registration's notice (event 1), to the person.
_REGISTERED = 1
_PERSON = "person"

#: What :meth:`FollowService.follow` looks up: a token is 43 characters of
#: URL-safe base64; anything else is no token, and is not hashed.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,100}")


def public_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The public address of the person's pages, from
    :data:`PUBLIC_URL_VARIABLE`, without a trailing ``/``; ``None`` when
    it is not set (then no e-mail carries a link)."""
    value = (os.environ if environ is None else environ).get(PUBLIC_URL_VARIABLE, "").strip()
    return value.rstrip("/") or None


def follow_url(base: str, token: str) -> str:
    """The link to the page of *token*: ``<base>/folj/<token>``."""
    return base.rstrip("/") + FOLLOW_PATH + token


@attrs.frozen
class CitizenLetter:
    """One letter meant for the person, as it was written to them.

    :param kind: the kind of notice (``besked``, ``information``, ``svar``, ...).
    :param label: its Swedish label.
    :param date: the day of the step it tells of (the letter's date).
    :param subject: its subject line.
    :param text: its text, as the person got it (plain text).
    """

    kind: str
    label: str
    date: dt.date
    subject: str
    text: str


@attrs.frozen
class CaseForCitizen:
    """What "Följ ditt ärende" shows the person, in Swedish where it is words.

    :param reference: the case's reference.
    :param kind: the kind, as the person chose it ("Klagomål").
    :param state: where the case is, in the person's words (:func:`state_label`).
    :param received: the day the feedback was received.
    :param besked_by: the last day of the besked (R7) while it is still to
        come, else ``None``.
    :param besked_given: the day the besked was given, or ``None``.
    :param answer_by: the day the answer is promised by (R10, R11), while
        it is promised and not yet given, else ``None``.
    :param answered: the day the answer was given (R13), or ``None``.
    :param department: the name of the förvaltning that handles the case.
    :param unit: the name of the unit that handles it.
    :param handler: who handles it, once the besked has told the person (R7:
        the besked names them), else ``None``.
    :param letters: the letters meant for the person, oldest first.
    """

    reference: str
    kind: str
    state: str
    received: dt.date
    besked_by: dt.date | None
    besked_given: dt.date | None
    answer_by: dt.date | None
    answered: dt.date | None
    department: str
    unit: str
    handler: str | None
    letters: tuple[CitizenLetter, ...] = ()


@attrs.frozen
class InformationAdded:
    """What the person added on the page: the case and the day it was received."""

    reference: str
    received: dt.date


def state_label(case: Case) -> str:
    """Where *case* is, as the person would say it."""
    if case.state is CaseState.REGISTRERAT:
        return _("Mottaget, du får besked om vem som handlägger det")
    if case.state is CaseState.HANDLAGGNING:
        if case.paused_since is not None:
            return _("Vi väntar på uppgifter från dig")
        return _("Handläggs")
    if case.state is CaseState.BESVARAT:
        return _("Besvarat")
    return _("Avslutat")


@attrs.frozen
class FollowService:
    """The follow links and the page, for one :class:`Context`."""

    ctx: Context

    # -- staff (or the web form's registration, as the system) -----------------------

    def issue(self, reference: str, *, receipt: bool = False) -> tuple[str, int | None]:
        """A new link's token for case *reference*; the old link stops
        working.  With *receipt*, the kvittens to the person's e-mail address
        is queued in the same transaction, once per case; its notice id is
        returned with the token (``None``: no address, or queued before)."""
        ctx = self.ctx
        token = secrets.token_urlsafe(32)

        def body(uow: Any) -> int | None:
            case = self._case(uow, reference, "follow_link")
            user = ctx.check(Operation.HANDLE, case)
            revoked = uow.add_follow_token(reference, token, at=ctx.utcnow(), by=user.id)
            detail = _("följ-länk utfärdad") + (_(" (den förra återkallad)") if revoked else "")
            ctx.audit(uow, Operation.HANDLE, [reference], detail)
            if not receipt or case.contact is None or not case.contact.email:
                return None
            if any(kind == RECEIPT_KIND for _seq, kind in uow.notices(reference)):
                return None
            kvittens = OwedNotice(
                RECEIPT_KIND,
                _PERSON,
                EMAIL,
                message_id(ctx.organisation, reference, _REGISTERED, _PERSON, RECEIPT_KIND),
            )
            notice_id: int = uow.queue_notice(reference, _REGISTERED, kvittens)
            return notice_id

        ctx.allowed(Operation.HANDLE)
        with ctx.denials(Operation.HANDLE):
            notice = ctx.write(body)
        return token, notice

    def revoke(self, reference: str) -> int:
        """Revoke the live link of case *reference*; how many were live (0 or 1)."""
        ctx = self.ctx

        def body(uow: Any) -> int:
            case = self._case(uow, reference, "revoke_follow_link")
            ctx.check(Operation.HANDLE, case)
            revoked: int = uow.revoke_follow_tokens(reference, at=ctx.utcnow())
            ctx.audit(uow, Operation.HANDLE, [reference], _("följ-länk återkallad ({n})").format(n=revoked))
            return revoked

        ctx.allowed(Operation.HANDLE)
        with ctx.denials(Operation.HANDLE):
            return ctx.write(body)

    @staticmethod
    def _case(uow: Any, reference: str, step: str) -> Case:
        try:
            case: Case = uow.get(reference)
        except CaseNotFoundError:
            raise CaseNotFoundError(reference, step) from None
        return case

    # -- the person, by the link ---------------------------------------------------

    def follow(self, token: str) -> CaseForCitizen | None:
        """The page of *token*, or ``None`` when it is no live link."""
        ctx = self.ctx
        with ctx.transaction() as uow:
            reference = self._reference(uow, token)
            if reference is None:
                _citizen_audit(uow, Operation.READ, None, _("okänd eller återkallad följ-länk"), audit.DENIED)
                return None
            history: list[Event] = uow.history(reference)
            owed: list[tuple[int, str]] = uow.notices(reference)
            _citizen_audit(uow, Operation.READ, reference, _("följ ditt ärende: visat"))
        return self._page(lifecycle.replay(history), history, owed)

    def add_information(self, token: str, text: str) -> InformationAdded | None:
        """Thread *text* into the case of *token* as the person's message, or
        ``None`` (and nothing written but the audit entry) when it is no live link."""
        ctx = self.ctx
        step = "message_received"
        now = ctx.utcnow()
        cases = CaseService(ctx)

        def body(uow: Any) -> tuple[Case, Event] | None:
            reference = self._reference(uow, token)
            if reference is None:
                _citizen_audit(
                    uow, Operation.REGISTER, None, _("okänd eller återkallad följ-länk"), audit.DENIED
                )
                return None
            case = self._case(uow, reference, step)
            checked = _checked_text(text, step, reference)
            key = f"{SOURCE}:{secrets.token_hex(16)}"
            data = lifecycle.receive_message(case, ctx.lifecycle(), checked, _sender(case), key)
            event = cases.event(reference, case.version + 1, data, CITIZEN_ACTOR)
            new_case = lifecycle.evolve(case, event)
            uow.append(new_case, event, owed_notices(new_case, event, ctx.organisation))
            raw = checked.encode("utf-8")
            uow.store_received(
                ReceivedMessage(
                    message_key=key,
                    received_at=now,
                    source=SOURCE,
                    outcome="reply",
                    size=len(raw),
                    raw=raw,
                    sender=(_sender(case) or "")[:320] or None,
                    subject=_("Följ ditt ärende {reference}").format(reference=reference)[:400],
                    reference=reference,
                )
            )
            _citizen_audit(uow, Operation.REGISTER, reference, f"{event.seq} {event.type} ({SOURCE})")
            return new_case, event

        written = ctx.write(body)
        if written is None:
            return None
        new_case, event = written
        ctx.klagomal._after_commit(new_case, event)
        return InformationAdded(new_case.reference, event.day)

    @staticmethod
    def _reference(uow: Any, token: object) -> str | None:
        # What cannot be a token is not looked up (nor hashed: a lone surrogate cannot be).
        if not isinstance(token, str) or _TOKEN.fullmatch(token) is None:
            return None
        found: str | None = uow.follow_reference(token)
        return found

    def _page(self, case: Case, history: list[Event], owed: list[tuple[int, str]]) -> CaseForCitizen:
        organisation = self.ctx.organisation
        department = organisation.departments.get(case.department)
        unit = organisation.units.get(case.unit)
        handler = None
        if case.acknowledged is not None and case.handler is not None:
            # The besked named them (R7); a letter names them without a title.
            handler = person_name(handler_name(organisation.users, case.handler) or "")
        # The letters as the person got them; a protected person is not
        # named, since a link can be forwarded (R27).
        shown = Redaction(contact_visible=not case.protected, protected=case.protected)
        letters = []
        for seq, kind in owed:
            if kind == RECEIPT_KIND:
                continue  # the receipt is this page's way in, not news of the case
            then, event = lifecycle.replay(history[:seq]), history[seq - 1]
            letter = self.ctx.letters.render(then, event, kind, event.day, redaction=shown)
            letters.append(CitizenLetter(kind, kind_label(kind), event.day, letter.subject, letter.text))
        open_answer = case.state is CaseState.HANDLAGGNING and case.answered is None
        return CaseForCitizen(
            reference=case.reference,
            kind=case.kind.label,
            state=state_label(case),
            received=case.received,
            besked_by=case.acknowledge_by if case.acknowledged is None else None,
            besked_given=case.acknowledged,
            answer_by=case.respond_by if open_answer else None,
            answered=case.answered,
            department=department.name if department is not None else case.department,
            unit=unit.name if unit is not None else case.unit,
            handler=handler,
            letters=tuple(letters),
        )


def _checked_text(text: object, step: str, reference: str) -> str:
    """What the person wrote, checked: 1 to :data:`TEXT_MAX` characters, no
    control characters; line breaks as ``\\n``, the ends stripped."""
    if not isinstance(text, str):
        raise InvalidInputError(_("informationen ska vara en text"), step=step, reference=reference)
    checked = check_text(
        text.strip(), step=step, field=_("informationen"), reference=reference, max_length=TEXT_MAX
    ).strip()
    if not checked:
        raise InvalidInputError(_("skriv vad du vill lägga till"), step=step, reference=reference)
    return checked


def _sender(case: Case) -> str | None:
    """Who wrote, as an e-mail reply from the person names them: the
    contact's name and address, as far as the case knows them."""
    contact = case.contact
    if contact is None:
        return None
    if contact.email:
        return f"{contact.name} <{contact.email}>" if contact.name else contact.email
    return contact.name


def _citizen_audit(
    uow: Any, operation: Operation, reference: str | None, detail: str, outcome: str = audit.ALLOWED
) -> None:
    """Write what the person did by a link to the audit log (R27)."""
    audit.append(
        uow.conn,
        [
            audit.AuditEntry(
                user_id=CITIZEN_ACTOR,
                role=_CITIZEN_ROLE,
                action=operation.value,
                outcome=outcome,
                reference=reference,
                detail=detail,
                at=audit_time(),
            )
        ],
    )
